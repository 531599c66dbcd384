"""What the page learns by asking the target: status polled, logs followed, both published on the
dev loop's bus. Each feed opens its own connection to the target (registry.open_target) and asks
only for a capability (ReportsStatus, StreamsLogs), so it works for every target that has it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from devkit.devloop.events import EventBus
from devkit.devloop.state import running_forwards
from devkit.planning.planner import Plan
from devkit.targets.base import ReportsStatus, StreamsLogs, supports
from devkit.targets.registry import Options, open_target

POLL = 1.0  # seconds between status polls
RETRY = 5.0  # seconds before a failed feed tries again


def _options(plan: Plan, context: str | None) -> Options:
    return Options(
        context=context, forwards=lambda: running_forwards(plan.project, plan.environment)
    )


def poll_status(
    plan: Plan, bus: EventBus, stop: threading.Event, *, context: str | None = None
) -> None:
    """Publish the engine's status of every service ("status" events) whenever it changes."""
    last = ""
    while not stop.is_set():
        try:
            with open_target(plan, _options(plan, context)) as target:
                if not supports(target, ReportsStatus):
                    why = f"{plan.target.kind} reports no status"
                    bus.publish("status", "", "unsupported", why)
                    return
                assert isinstance(target, ReportsStatus)
                while not stop.is_set():
                    rows = [row.to_dict() for row in target.status()]
                    for row in rows:
                        row["restarts"] = row.get("restarts", 0)
                    text = json.dumps(rows, sort_keys=True)
                    if text != last:
                        last = text
                        bus.publish("status", "", "services", data={"services": rows})
                    stop.wait(POLL)
        except Exception as exc:  # noqa: BLE001 - the page says why
            bus.publish("status", "", "unreachable", _short(exc))
            last = ""
            stop.wait(RETRY)


def follow_logs(
    plan: Plan, bus: EventBus, stop: threading.Event, *, context: str | None = None
) -> None:
    """Publish every service's output ("log" events), from the last lines on, until `stop`."""
    since: float | None = None
    while not stop.is_set():
        try:
            with open_target(plan, _options(plan, context)) as target:
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
            bus.publish("step", "", "waiting", f"logs: {_short(exc)}; trying again")
        stop.wait(RETRY)


def start(feed: Callable[..., None], *args: object, **kwargs: object) -> threading.Thread:
    thread = threading.Thread(target=feed, args=args, kwargs=kwargs, daemon=True)
    thread.start()
    return thread


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__
