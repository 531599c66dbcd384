"""The live sync loop: watch the files that feed services, and bring each change into its container.

For each burst of file events: copy changed files and delete removed ones (one batch per service),
run the rule's commands, restart the process, and time from the save to the service answering
again. Changes to build inputs that no sync rule covers rebuild and replace just that service.
When the watcher attaches, and whenever a watched container (re)starts, the synced paths are
compared by content with the local tree and only the differences repaired ("checked sync").
"""

from __future__ import annotations

import http.client
import os
import queue
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from watchfiles import Change, DefaultFilter, watch

from devkit.devloop import skipped, timings
from devkit.devloop.explain import Explainer
from devkit.devloop.rules import Batch, WatchRule, build_watches, route, watch_rules, watched_paths
from devkit.errors import DevkitError
from devkit.planning.planner import Plan, PlannedService
from devkit.targets.agent import parent_dirs
from devkit.targets.base import SyncSession, Transfer, TransferError
from devkit.targets.fingerprint import fingerprint
from devkit.targets.local_port import accepts

STEP_MS = 50  # a burst ends after this much quiet: fast for one save, whole for a branch switch
DEBOUNCE_MS = 1500  # the most one burst is held back while changes keep coming
ANSWER_TIMEOUT = 30.0
LARGE_BURST = 100  # events; a burst this large waits for QUIET_MS of quiet before it is applied
QUIET_MS = 250

Report = Callable[[str, str, str], None]
"""report(service, event, text): what the terminal shows."""


@dataclass
class SyncResult:
    service: str
    files: int
    action: str
    seconds: float | None  # save to answering; None when it did not answer
    ok: bool


class LiveSync:
    """Watches one planned environment and keeps where its services run (containers, pods) in
    step with the tree, through the target's sync session."""

    def __init__(
        self,
        plan: Plan,
        root: Path,
        *,
        session: SyncSession,
        report: Report,
        build_line: Callable[[str, str], None],
        services: set[str] | None = None,
    ) -> None:
        self.plan = plan
        self.root = root
        self.session = session
        self.report = report
        self.build_line = build_line
        self.rules = watch_rules(plan, root, services)
        self.builds = build_watches(plan, root, services)
        self._restarted: queue.Queue[str] = queue.Queue()
        self._pending: set[str] = set()
        self.results: list[SyncResult] = []
        self._explainer: Explainer | None = None
        self._requests: queue.Queue[tuple[str, str]] = queue.Queue()

    def request(self, service: str, what: str) -> None:
        """Ask the loop to "sync" (a checked sync now), "restart" or "rebuild" `service`; done
        in the loop's own thread within QUIET_MS, and reported like everything it does."""
        self._requests.put((service, what))

    # --- entry point ------------------------------------------------------------------------
    def run(self, stop: threading.Event, ready: threading.Event | None = None) -> None:
        """Watch until `stop` is set. `ready` is set once the first checked sync is done."""
        paths = watched_paths(self.rules, self.builds)
        if not paths:
            self.report("", "watch", "no sync rules or builds to watch")
            if ready:
                ready.set()
            return
        threading.Thread(
            target=self.session.follow_starts,
            args=(sorted({r.service for r in self.rules}), self._restarted.put, stop),
            daemon=True,
        ).start()
        burst: set[tuple[Change, str]] = set()
        attached = False
        for changes in watch(
            *paths, watch_filter=DefaultFilter(), stop_event=stop, step=STEP_MS,
            debounce=DEBOUNCE_MS, rust_timeout=QUIET_MS, yield_on_timeout=True,
            raise_interrupt=False,
        ):  # fmt: skip
            if not attached:
                # The watcher runs from its first yield on: only now does a checked sync cover
                # everything saved before, and every later save arrive as an event.
                attached = True
                for service in sorted({r.service for r in self.rules}):
                    self._checked_sync(service, reason="attached")
                if ready:
                    ready.set()
                self.report(
                    "", "watch", f"watching {len(paths)} paths for {len(self.rules)} sync rules"
                )
            burst |= changes
            # A save is a few events: apply at once. A large burst (a branch switch, a generator,
            # a new directory being filled) may pause between writes: hold it until QUIET_MS
            # pass without events.
            if burst and (not changes or not _large(burst)):
                self._apply_changes(burst, time.time())
                burst = set()
            self._catch_up()

    # --- file events ------------------------------------------------------------------------
    def _apply_changes(self, changes: set[tuple[Change, str]], arrived: float) -> None:
        items = _with_directory_contents(
            [(kind != Change.deleted and Path(p).exists(), Path(p)) for kind, p in changes]
        )
        saved = min(
            (Path(p).stat().st_mtime for exists, p in items if exists and p.is_file()),
            default=arrived,
        )
        saved = min(saved, arrived)
        for service, batch in sorted(route(items, self.rules, self.builds).items()):
            if batch.rebuild:
                self._rebuild(service, saved)
            elif batch.files:
                self._sync(batch, saved)
        self._note_skipped(items)

    def _note_skipped(self, items: list[tuple[bool, Path]]) -> None:
        """Keep the changed files that reached no service, with why, for `devkit status`."""
        if self._explainer is None:
            watched = {r.service for r in self.rules} | {b.service for b in self.builds}
            self._explainer = Explainer(self.plan, self.root, watched)
        found = skipped.entries(self._explainer, items)
        skipped.record(self.plan.project, self.plan.environment, found)

    def _sync(self, batch: Batch, saved: float) -> None:
        service = batch.service
        try:
            transfer = self.session.transfer(service)
            if batch.copies:
                dests = sorted(batch.copies)
                transfer.put(
                    {d: str(p) for d, p in batch.copies.items()},
                    parent_dirs(dests, self._dest_root(service, dests[0])),
                )
            if batch.deletes:
                transfer.remove(sorted(batch.deletes))
        except (TransferError, OSError) as exc:
            self._pending.add(service)
            self.report(service, "waiting", f"{batch.files} files not synced ({_short(exc)}); "
                        "they follow when the container runs again")  # fmt: skip
            return
        self._after_sync(service, batch, saved, transfer)

    def _after_sync(self, service: str, batch: Batch, saved: float, transfer: Transfer) -> None:
        action = "synced"
        for run in batch.runs:
            code, output = self.session.run(service, list(run.command))
            action = f"ran `{' '.join(run.command)}`"
            if code != 0:
                tail = output.decode(errors="replace").strip().splitlines()[-5:]
                self.report(service, "error", f"`{' '.join(run.command)}` exited {code}: "
                            + " | ".join(tail))  # fmt: skip
        restarted_at = time.time()
        if batch.restart:
            action = "restarted"
            try:
                transfer.restart()
            except TransferError as exc:
                self.report(service, "error", f"restart failed: {_short(exc)}")
                self._finish(service, batch.files, action, saved, answered=None)
                return
        answered = self._wait_answering(service) if batch.restart else time.time()
        if answered is None:
            self._show_failure(service, restarted_at)
        self._finish(service, batch.files, action, saved, answered)

    def _finish(
        self, service: str, files: int, action: str, saved: float, answered: float | None
    ) -> None:
        seconds = None if answered is None else max(0.0, answered - saved)
        result = SyncResult(service, files, action, seconds, answered is not None)
        self.results.append(result)
        timing = f"answering {seconds:.2f}s after save" if seconds is not None else "NOT answering"
        self.report(service, "sync", f"{files} file{'s' if files != 1 else ''}, {action}, {timing}")
        timings.record(
            self.plan.project, self.plan.environment,
            {"service": service, "files": files, "action": action, "seconds": seconds,
             "at": round(time.time(), 3)},
        )  # fmt: skip

    # --- rebuilds ---------------------------------------------------------------------------
    def _rebuild(self, service: str, saved: float, why: str = "a build input changed") -> None:
        self.report(service, "rebuild", f"{why}: rebuilding this service")
        try:
            self.session.bring_up(service, self.report, self.build_line)
        except DevkitError as exc:
            self.report(service, "error", exc.render())
            return
        self._finish(service, 0, "rebuilt and replaced", saved, time.time())

    # --- checked sync -----------------------------------------------------------------------
    def _catch_up(self) -> None:
        self._answer_requests()
        seen: set[str] = set()
        while True:
            try:
                seen.add(self._restarted.get_nowait())
            except queue.Empty:
                break
        for service in sorted(seen | self._pending):
            if any(r.service == service for r in self.rules):
                self.session.forget(service)
                self._checked_sync(service, reason="container started")

    def _answer_requests(self) -> None:
        while True:
            try:
                service, what = self._requests.get_nowait()
            except queue.Empty:
                return
            if what == "rebuild":
                self._rebuild(service, time.time(), why="rebuild requested")
            elif what == "restart":
                self._restart(service)
            elif any(r.service == service for r in self.rules):
                self._checked_sync(service, reason="sync requested")
            else:
                self.report(service, "checked", "sync requested: no sync rules for this service")

    def _restart(self, service: str) -> None:
        """Restart the service's supervised process (its container keeps running)."""
        began = time.time()
        self.report(service, "restarting", "restart requested")
        try:
            self.session.transfer(service).restart()
        except TransferError as exc:
            self.report(service, "error", f"restart failed: {_short(exc)}")
            return
        answered = self._wait_answering(service)
        if answered is None:
            self._show_failure(service, began)
            return
        took = answered - began
        self.report(service, "restarted", f"restarted, answering {took:.2f}s after the request")

    def _checked_sync(self, service: str, *, reason: str) -> None:
        """Compare every synced path of `service` with the container and repair the differences."""
        rules = [r for r in self.rules if r.service == service]
        began = time.time()
        try:
            transfer = self.session.transfer(service)
            copies: dict[str, str] = {}
            deletes: list[str] = []
            for rule in rules:
                local = _local_tree(rule)
                remote = transfer.hashes(rule.dest)
                for rel, mark in local.items():
                    if remote.get(rel) != mark:
                        copies[_join(rule.dest, rel)] = str(rule.src / rel if rel else rule.src)
                for rel in remote:
                    if rel not in local and rel and not rule.ignores(rule.src / rel):
                        deletes.append(_join(rule.dest, rel))
            if copies:
                dests = sorted(copies)
                transfer.put(copies, parent_dirs(dests, rules[0].dest))
            if deletes:
                transfer.remove(sorted(deletes))
        except (TransferError, OSError) as exc:
            self._pending.add(service)
            self.report(service, "waiting", f"not running ({_short(exc)}); syncing when it starts")
            return
        self._pending.discard(service)
        differ = len(copies) + len(deletes)
        if differ and any(a.kind == "restart" for r in rules for a in r.actions):
            try:
                transfer.restart()
            except TransferError as exc:
                self.report(service, "error", f"restart failed: {_short(exc)}")
                return
            self._wait_answering(service)
        self.report(service, "checked", f"{reason}: {differ} file{'s' if differ != 1 else ''} "
                    f"differed, repaired in {time.time() - began:.2f}s")  # fmt: skip

    def _dest_root(self, service: str, dest: str) -> str:
        for rule in self.rules:
            if rule.service == service and (dest == rule.dest or dest.startswith(rule.dest + "/")):
                return rule.dest
        return "/"

    def _planned(self, service: str) -> PlannedService:
        return self.plan.service(service)

    def _wait_answering(self, service: str) -> float | None:
        """When the service answers its health check again (from the host, on 127.0.0.1)."""
        check = self._planned(service).health
        began = time.time()
        deadline = time.monotonic() + ANSWER_TIMEOUT
        next_look = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            if time.monotonic() > next_look:
                next_look = time.monotonic() + 0.3
                if self.session.process_exited(service, began):
                    return None
            if check is None or check.kind == "command":
                return time.time()
            port = self.session.answer_port(service, check.port)
            if port is None:
                time.sleep(0.05)
                continue
            if _answers(check.kind, port, getattr(check, "path", "/")):
                return time.time()
            time.sleep(0.01)
        return None

    def _show_failure(self, service: str, since: float) -> None:
        lines = self.session.output_since(service, since)[-15:]
        self.report(service, "error", "not answering after the restart; its output:\n"
                    + "\n".join(f"    {line}" for line in lines))  # fmt: skip


def _large(burst: set[tuple[Change, str]]) -> bool:
    return len(burst) >= LARGE_BURST or any(
        kind == Change.added and Path(path).is_dir() for kind, path in burst
    )


def _answers(kind: str, port: int, path: str) -> bool:
    try:
        if kind == "tcp":
            return accepts(port, timeout=0.5)
        url = f"http://127.0.0.1:{port}{path}"
        with urllib.request.urlopen(url, timeout=1) as response:
            status: int = response.status
            return 200 <= status < 400
    except (OSError, ValueError, http.client.HTTPException):
        return False


def _local_tree(rule: WatchRule) -> dict[str, str]:
    if not rule.src.exists():
        return {}
    if not rule.src.is_dir():
        return {"": fingerprint(str(rule.src))}
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(rule.src):
        base = Path(folder)
        dirs[:] = [d for d in dirs if not rule.ignores(base / d) or (base / d).is_symlink()]
        for name in [*files, *(d for d in dirs if (base / d).is_symlink())]:
            path = base / name
            if not rule.ignores(path):
                found[path.relative_to(rule.src).as_posix()] = fingerprint(str(path))
    return found


def _with_directory_contents(items: list[tuple[bool, Path]]) -> list[tuple[bool, Path]]:
    """Changes plus every file inside a new directory: events for files written before the
    watcher saw their directory are lost, the files are not."""
    seen = {path for _, path in items}
    extra: list[tuple[bool, Path]] = []
    for exists, path in items:
        if exists and path.is_dir() and not path.is_symlink():
            for folder, dirs, files in os.walk(path):
                base = Path(folder)
                for name in [*files, *(d for d in dirs if (base / d).is_symlink())]:
                    if base / name not in seen:
                        seen.add(base / name)
                        extra.append((True, base / name))
    return items + extra


def _join(dest: str, rel: str) -> str:
    return dest if not rel else f"{dest.rstrip('/')}/{rel}"


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__


def start_in_thread(sync: LiveSync) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """Run `sync` in a background thread; returns it, its stop event and its ready event."""
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(target=sync.run, args=(stop, ready), daemon=True)
    thread.start()
    return thread, stop, ready
