"""The foreground dev loop beside a running stack (`devkit watch`, `devkit up`): stable
port-forwards where the target forwards ports, live sync where it syncs files, and the running
watcher announced for `devkit status`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from devkit.devloop import state
from devkit.devloop.sync import LiveSync, Report, start_in_thread
from devkit.planning.images import ImageMap
from devkit.planning.planner import Plan
from devkit.targets.base import ForwardSet, ForwardsPorts, SyncsFiles


@dataclass
class Watching:
    """What runs beside the stack; `close()` stops it all."""

    plan: Plan
    forwards: ForwardSet
    stop: threading.Event = field(default_factory=threading.Event)
    ready: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    live: LiveSync | None = None
    """The live sync loop, when it runs: `live.request(service, what)` asks it for work."""

    def wait(self) -> None:
        """Until live sync ends (it has nothing to watch) and no port is forwarded: Ctrl-C."""
        while self.thread is not None and self.thread.is_alive():
            self.thread.join(0.5)
        while self.forwards.forwards and not self.stop.wait(0.5):
            pass

    def close(self) -> None:
        self.stop.set()
        self.forwards.stop()
        state.withdraw(self.plan.project, self.plan.environment)


def start_watching(
    target: object,
    plan: Plan,
    root: Path,
    *,
    image_map: ImageMap,
    report: Report,
    build_line: Callable[[str, str], None],
    services: set[str] | None,
    sync: bool,
) -> Watching:
    """Forward ports (if the target does) and start live sync (if asked and it can)."""
    forwards = target.forward_ports(plan, report) if isinstance(target, ForwardsPorts) else None
    watching = Watching(plan, forwards or ForwardSet())
    state.announce(plan.project, plan.environment, watching.forwards.forwards)
    if sync and isinstance(target, SyncsFiles):
        ports = {(f.service, f.port_name): f.local_port for f in watching.forwards.forwards}
        session = target.sync_session(plan, root, image_map, ports)
        live = LiveSync(plan, root, session=session, report=report, build_line=build_line,
                        services=services)  # fmt: skip
        watching.thread, watching.stop, watching.ready = start_in_thread(live)
        watching.live = live
    else:
        watching.ready.set()
    return watching
