"""Start the UI beside a dev loop (`devkit up --ui`) or alone (`devkit ui`): the server, the
page's snapshot, the status feed (and the log feed when no `up` follows logs itself)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.delivery.cost import default_sheet
from devkit.devloop import timings
from devkit.devloop.events import EventBus
from devkit.devloop.sync import LiveSync
from devkit.model.blueprint import Blueprint
from devkit.planning.planner import Plan
from devkit.planning.planner import plan as plan_of
from devkit.targets.base import RunsJobs
from devkit.targets.registry import capable
from devkit.ui import feeds
from devkit.ui.canaries import poll_canary
from devkit.ui.environments import Commands, describe, releases_of
from devkit.ui.jobs import JobRunner
from devkit.ui.server import Backend, UiServer
from devkit.ui.snapshot import services_of


@dataclass
class RunningUi:
    """The server and its feeds; `attach(live)` once the dev loop's live sync runs."""

    server: UiServer
    snapshot: dict[str, Any]
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url

    def attach(self, live: LiveSync | None) -> None:
        if live is not None:
            self.server.backend.act = live.request
            self.snapshot["live"] = True
            # a page opened while `up` was still building learns it here
            self.server.backend.bus.publish("status", "", "live", "the dev loop runs")

    def close(self) -> None:
        self.stop.set()
        self.server.close()


def start_ui(
    blueprint: Blueprint,
    plan: Plan,
    root: Path,
    bus: EventBus,
    *,
    port: int = 0,
    context: str | None = None,
    follow_logs: bool = False,
    mode: str = "ui",
) -> RunningUi:
    """Serve the page for `plan`'s environment on 127.0.0.1 (port 0: a free one)."""
    environments = describe(blueprint, default_sheet())
    snapshot: dict[str, Any] = {
        # whether the target runs declared jobs here (asked of its class: nothing connects)
        "loop": {**services_of(plan), "jobs": plan.environment in capable(blueprint, RunsJobs)},
        "environments": environments,
        "live": False,
        "mode": mode,  # "up": the dev loop starts in this process (actions once it runs)
        # recent syncs of this environment (the cache), for the plots of a page opened late
        "syncs": timings.recent(plan.project, plan.environment),
    }
    allowed: list[list[str]] = []
    for env in environments:
        commands = env.get("commands")
        if commands:
            allowed.append(commands["rollback"])
            allowed.extend(commands["promote"].values())
            allowed.extend(commands[k] for k in ("continue", "abort") if k in commands)
    commands_runner = Commands(root, bus, allowed)
    stop = threading.Event()
    watched: set[str] = set()
    watching = threading.Lock()

    def environment(name: str) -> dict[str, Any]:
        if name not in blueprint.environments:
            raise KeyError(name)
        found = releases_of(blueprint, name)
        with watching:
            first = found["releases"] is not None and name not in watched
            if first:
                watched.add(name)
        if first:
            # the first time the page reads an environment that runs canaries, follow its
            # canary from then on (an environment no one looks at is not polled)
            _watch_canary(blueprint, name, plan, bus, stop, context=context)
        return found

    backend = Backend(
        bus,
        snapshot=lambda: snapshot,
        environment=environment,
        command=commands_runner.run,
        job=JobRunner(plan, bus, context=context).run,
    )
    running = RunningUi(UiServer(backend, port), snapshot, stop)
    feeds.start(feeds.poll_status, plan, bus, running.stop, context=context)
    feeds.start(feeds.poll_usage, plan, bus, running.stop, context=context)
    if follow_logs:
        feeds.start(feeds.follow_logs, plan, bus, running.stop, context=context)
    return running


def _watch_canary(
    blueprint: Blueprint, name: str, current: Plan, bus: EventBus, stop: threading.Event, *,
    context: str | None,
) -> None:  # fmt: skip
    """Start the canary feed of environment `name`, when it declares a canary."""
    planned = current if name == current.environment else plan_of(blueprint, name)
    if planned.canary is not None:
        feeds.start(poll_canary, planned, planned.canary, bus, stop,
                    context=context if name == current.environment else None)  # fmt: skip
