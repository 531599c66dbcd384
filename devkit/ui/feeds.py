"""What the page learns by asking the target: status and usage polled, logs followed, all
published on the dev loop's bus. Each feed opens its own connection to the target
(registry.open_target) and asks only for a capability (ReportsStatus, ReportsUsage, StreamsLogs),
so it works for every target that has it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from devkit.devloop.events import EventBus, Kind
from devkit.devloop.state import running_forwards
from devkit.planning.planner import Plan
from devkit.targets.base import NoMetricsError, ReportsStatus, ReportsUsage, StreamsLogs, supports
from devkit.targets.registry import Options, open_target

POLL = 1.0  # seconds between status polls
USAGE_POLL = 2.0  # seconds between usage readings
NO_METRICS_RETRY = 30.0  # seconds before asking a target without metrics again
RETRY = 5.0  # seconds before a failed feed tries again


def target_options(plan: Plan, context: str | None) -> Options:
    """How the feeds open the target: the kube context, and the forwards `up` keeps."""
    return Options(
        context=context, forwards=lambda: running_forwards(plan.project, plan.environment)
    )


def poll_status(
    plan: Plan, bus: EventBus, stop: threading.Event, *, context: str | None = None
) -> None:
    """Publish the engine's status of every service ("status" events) whenever it changes;
    "unreachable" with why while the target cannot be asked."""

    def read(target: object) -> list[dict[str, Any]]:
        assert isinstance(target, ReportsStatus)
        rows = [row.to_dict() for row in target.status()]
        for row in rows:
            row["restarts"] = row.get("restarts", 0)
        return rows

    feed = Polled("status", ReportsStatus, "reports no status", read, POLL, "unreachable",
                  only_changes=True)  # fmt: skip
    poll(plan, bus, stop, context, feed)


def poll_usage(
    plan: Plan, bus: EventBus, stop: threading.Event, *, context: str | None = None
) -> None:
    """Publish what each service uses ("usage" events) every USAGE_POLL seconds; "unsupported"
    (the target cannot say) or "unavailable" (it cannot now, e.g. no metrics API) with why."""

    def read(target: object) -> list[dict[str, Any]]:
        assert isinstance(target, ReportsUsage)
        return [row.to_dict() for row in target.usage()]

    feed = Polled("usage", ReportsUsage, "reports no CPU or memory use", read, USAGE_POLL,
                  "unavailable")  # fmt: skip
    poll(plan, bus, stop, context, feed)


@dataclass(frozen=True)
class Polled:
    """What one polling feed asks of the target and publishes."""

    kind: Kind
    capability: type
    lacking: str  # said after the target kind when it lacks the capability
    read: Callable[[object], list[dict[str, Any]]]
    every: float
    failed: str  # the event published with why, while it cannot be asked
    only_changes: bool = False
    key: str = "services"  # what `data` calls the rows
    tags: Mapping[str, str] = field(default_factory=dict)  # more of `data`, on every event


def poll(
    plan: Plan, bus: EventBus, stop: threading.Event, context: str | None, feed: Polled
) -> None:
    """Read `feed` from `plan`'s target every `feed.every` seconds and publish it, until `stop`."""
    last = ""
    while not stop.is_set():
        try:
            with open_target(plan, target_options(plan, context)) as target:
                if not supports(target, feed.capability):
                    bus.publish(feed.kind, "", "unsupported", f"{plan.target.kind} {feed.lacking}",
                                dict(feed.tags) or None)  # fmt: skip
                    return
                while not stop.is_set():
                    rows = feed.read(target)
                    text = json.dumps(rows, sort_keys=True) if feed.only_changes else ""
                    if not feed.only_changes or text != last:
                        last = text
                        bus.publish(feed.kind, "", feed.key, data={feed.key: rows, **feed.tags})
                    stop.wait(feed.every)
        except Exception as exc:  # noqa: BLE001 - the page says why
            bus.publish(feed.kind, "", feed.failed, short(exc), dict(feed.tags) or None)
            last = ""
            stop.wait(NO_METRICS_RETRY if isinstance(exc, NoMetricsError) else RETRY)


def follow_logs(
    plan: Plan, bus: EventBus, stop: threading.Event, *, context: str | None = None
) -> None:
    """Publish every service's output ("log" events), from the last lines on, until `stop`."""
    since: float | None = None
    while not stop.is_set():
        try:
            with open_target(plan, target_options(plan, context)) as target:
                if not supports(target, StreamsLogs):
                    return
                assert isinstance(target, StreamsLogs)
                lines = target.logs(None, follow=True, since=since, tail=None if since else 200)
                for service, line in lines:
                    bus.log_line(service, line)
                    since = time.time()
                    if stop.is_set():
                        return
        except Exception as exc:  # noqa: BLE001 - retried, said once
            bus.publish("step", "", "waiting", f"logs: {short(exc)}; trying again")
        stop.wait(RETRY)


def start(feed: Callable[..., None], *args: object, **kwargs: object) -> threading.Thread:
    thread = threading.Thread(target=feed, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def short(exc: BaseException) -> str:
    """The first line of an error, for the page."""
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
