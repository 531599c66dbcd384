"""The environments view's canary panel: a canary in progress (running or paused) or the last one
decided, shaped for the page from the release record, the same record `devkit deploy ENV
--continue` resumes from (`unfinished_canary`) and the canary engine writes at every step and
every check evaluation (`CanaryRecord`). Nothing here decides a canary: it reads what the engine
recorded.

`canary_state` is pure (the declaration and the release history in, a JSON-able dict out);
`poll_canary` publishes it on the bus ("canary" events) whenever it changes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any

from devkit.delivery.canary import unfinished_canary
from devkit.devloop.events import EventBus
from devkit.model.canary import Canary
from devkit.planning.planner import Plan
from devkit.records.release import CheckResult, Release, StepResult
from devkit.targets.base import Releases
from devkit.ui import feeds

POLL = 2.0  # seconds between readings of the release record
HISTORY = 40  # evaluations of each check the page plots (the newest)
DECISIONS = {
    "healthy": "promoted",
    "failed": "aborted",
    "rolled-back": "aborted",
    "interrupted": "interrupted",
    "paused": "paused",
}
"""A canary release's status, as the page names the decision."""


def canary_state(
    environment: str, canary: Canary, history: Sequence[Release]
) -> dict[str, Any] | None:
    """The canary in progress in `environment` (running or paused), else the newest one decided;
    None when no release of it ran as a canary."""
    release = unfinished_canary(history) or max(
        (r for r in history if r.canary is not None), key=lambda r: r.number, default=None
    )
    if release is None or release.canary is None:
        return None
    record = release.canary
    running = release.status == "deploying"
    phase = "running" if running else DECISIONS.get(release.status, release.status)
    steps = _steps(canary, record.steps, live=running or release.status == "paused")
    current = next((s["index"] for s in steps if s["state"] in ("current", "paused")), None)
    in_progress = release.status in ("deploying", "paused")
    state: dict[str, Any] = {
        "environment": environment,
        "release": release.number,
        "stable": record.stable,
        "service": record.service,
        "origin": release.origin,
        "phase": phase,  # running, paused, promoted, aborted, interrupted
        "in_progress": in_progress,
        # the canary's share of the traffic now: none once it is decided (promoted: the new
        # version is the stable one; aborted: the canary is gone)
        "weight": record.weight if in_progress else 0,
        # the release all traffic goes to once it is decided: the new one when promoted
        "serving": None
        if in_progress
        else release.number
        if phase == "promoted"
        else record.stable,
        "current": current,
        "steps": steps,
        "checks": _checks(canary, record.steps),
        "failed_checks": record.failed_checks,
        "failures_allowed": canary.failures,
        "started": release.created,
        "decision": None
        if running
        else {"what": phase, "at": release.finished or "", "reason": release.reason},
        "commands": {
            "continue": ["deploy", environment, "--continue"],
            "abort": ["deploy", environment, "--abort"],
        }
        if release.status == "paused"
        else None,
    }
    return state


def _steps(canary: Canary, done: Sequence[StepResult], *, live: bool) -> list[dict[str, Any]]:
    """Every declared step with how it went: done (passed), current (the step running now),
    paused, failed, or pending. A step recorded beyond the declaration (the blueprint changed
    since) is shown as recorded."""
    shown = []
    for index in range(max(len(canary.steps), len(done))):
        declared = canary.steps[index] if index < len(canary.steps) else None
        ran = done[index] if index < len(done) else None
        weight = ran.weight if ran is not None else declared.weight if declared else 0
        if ran is None:
            state = "pending"
        elif ran.status == "running":
            state = "current" if live else "stopped"
        elif ran.status == "passed" or (ran.status == "paused" and index < len(done) - 1):
            state = "done"  # a paused step that was continued passed its checks
        else:
            state = ran.status  # paused, failed
        shown.append(
            {
                "index": index,
                "weight": weight,
                "pause": (
                    None if declared is None else "manual" if declared.manual else declared.pause
                ),
                "state": state,
                "started": ran.started if ran else None,
                "finished": ran.finished if ran else None,
                "evaluations": len(ran.checks) if ran else 0,
                "continued": ran is not None and ran.status == "paused" and state == "done",
            }
        )
    return shown


def _checks(canary: Canary, done: Sequence[StepResult]) -> list[dict[str, Any]]:
    """Each declared check with its latest evaluation (the value against its bound, pass or
    fail, when, at which step) and how many of its evaluations failed so far; then any check
    the record has that is no longer declared (the blueprint changed since), as recorded."""
    latest: dict[str, tuple[int, CheckResult]] = {}
    failed: dict[str, int] = {}
    history: dict[str, list[dict[str, Any]]] = {}
    for index, step in enumerate(done):
        for evaluated in step.checks:
            latest[evaluated.name] = (index, evaluated)
            history.setdefault(evaluated.name, []).append(
                {"step": index, "value": evaluated.value, "passed": evaluated.passed}
            )
            failed[evaluated.name] = failed.get(evaluated.name, 0) + (evaluated.passed is False)
    declared = {c.name: c for c in canary.checks}
    shown = []
    for name in [*declared, *(n for n in latest if n not in declared)]:
        check = declared.get(name)
        found = latest.get(name)
        result = found[1] if found else None
        low, high = (
            (getattr(check, "min", None), getattr(check, "max", None))
            if check is not None
            else _limits(result.bound if result else "")
        )
        shown.append(
            {
                "name": name,
                "describe": check.describe() if check is not None else name,
                "bound": result.bound if result and result.bound else "",
                "value": result.value if result else None,
                "passed": result.passed if result else None,
                "at": result.at if result else None,
                "step": found[0] if found else None,
                "failed": failed.get(name, 0),
                "min": low,
                "max": high,
                "history": history.get(name, [])[-HISTORY:],
                # judged: a value was compared; waiting: no evaluation yet or no data yet
                "verdict": "waiting" if result is None or result.passed is None
                else "pass" if result.passed else "fail",
            }
        )  # fmt: skip
    return shown


def _limits(bound: str) -> tuple[float | None, float | None]:
    """(min, max) from a recorded bound: ">= 0.99", "<= 0.3s", ">= 1 and <= 5"."""
    found = {op: float(number) for op, number in re.findall(r"([<>]=) ?([-+0-9.eE]+)", bound)}
    return found.get(">="), found.get("<=")


def poll_canary(
    plan: Plan,
    canary: Canary,
    bus: EventBus,
    stop: threading.Event,
    *,
    context: str | None = None,
) -> None:
    """Publish the canary state of `plan`'s environment ("canary" events) whenever it changes,
    read from its release record every POLL seconds; "unreachable" with why while it cannot."""
    environment = plan.environment

    def read(target: object) -> list[dict[str, Any]]:
        assert isinstance(target, Releases)
        state = canary_state(environment, canary, target.records.releases())
        return [state] if state is not None else []

    feed = feeds.Polled(
        "canary", Releases, "keeps no releases", read, POLL, "unreachable", only_changes=True,
        key="canaries", tags={"environment": environment},
    )  # fmt: skip
    feeds.poll(plan, bus, stop, context, feed)
