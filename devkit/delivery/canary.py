"""The canary engine: a release of one service run beside its stable version, its share of the
traffic shifted step by step, judged by Prometheus at every step, then promoted or aborted.

Engine-neutral: it acts through the `RunsCanaries` and `Releases` capabilities of the target, and
keeps no local state. What it has done is in the cluster (the canary's objects, the route
weights) and in the release record (its steps and every check's values, `CanaryRecord`), so a
later command finds an interrupted canary and resolves it: rolled back, or with `--continue`
resumed from the last completed step.

Decisions are pure (`plan_step`, `verdict`, the checks in `checks.py`); `CanaryRun` carries
them out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from devkit.delivery import checks
from devkit.delivery.verify import run_verify
from devkit.errors import DevkitError, EngineError, RefusedError
from devkit.model.canary import Canary, Hook
from devkit.model.verify import Verify
from devkit.planning.planner import Plan
from devkit.records import release as releases_
from devkit.records.lock import Lock
from devkit.records.release import CanaryRecord, CheckResult, Release, Status, StepResult
from devkit.targets.base import Records, Releases, RunsCanaries, Traffic
from devkit.targets.outcome import Outcome, Progress

Say = Callable[[str], None]
DRAIN = 1.5
"""Seconds between sending all traffic away from the canary and removing it: the gateway applies
a route 0.4-0.7 s after it reports it, and requests in flight finish."""
PAUSED_TTL = 24 * 3600.0
"""Seconds a paused release keeps the environment locked; after that the next command may take
the lock over and roll the canary back."""


class CanaryTarget(Releases, RunsCanaries, Protocol):
    """A target that deploys releases and runs canaries (Kubernetes)."""


class CanaryAbortedError(EngineError):
    """A canary failed a check (or a hook, or its rollout): traffic went back to the stable
    version at once, the canary was removed, and the release was recorded as failed."""

    def __init__(
        self, message: str, *, release: Release, failing: tuple[CheckResult, ...],
        abort_seconds: float | None, decided_at: float | None = None,
        details: Sequence[str] = (),
    ) -> None:  # fmt: skip
        self.release, self.failing, self.abort_seconds = release, failing, abort_seconds
        self.decided_at = decided_at
        super().__init__(message, details=details)

    def to_dict(self) -> dict[str, object]:
        """With the failing checks and their values, and the release's steps, for CI."""
        return {
            **super().to_dict(),
            "failing": [r.model_dump(mode="json") for r in self.failing],
            "abort_seconds": self.abort_seconds,
            "decided_at": self.decided_at,
            "release": self.release.summary(),
        }


@dataclass(frozen=True)
class CanaryOutcome:
    """How a canary run ended without failing: promoted, or paused for `--continue`."""

    release: Release
    paused: bool
    seconds_to_full: float | None = None  # from the first step to the last weight applied


# --- decisions ------------------------------------------------------------------------------


def evaluation_times(pause: float, interval: float) -> list[float]:
    """When, in seconds after a step's weight is applied, its checks are evaluated: every
    `interval` within the pause, and at its end."""
    if pause <= 0:
        return []
    times = [interval * n for n in range(1, math.floor(pause / interval) + 1)]
    if not times or times[-1] < pause - 1e-9:
        times.append(pause)
    return times


def failed(results: Sequence[CheckResult]) -> tuple[CheckResult, ...]:
    return tuple(r for r in results if r.passed is False)


def unjudged(canary: Canary, results: Sequence[CheckResult]) -> list[str]:
    """The checks a step never judged (Prometheus had no data for them)."""
    judged = {r.name for r in results if r.passed is not None}
    return [c.name for c in canary.checks if c.name not in judged]


def over_budget(canary: Canary, record: CanaryRecord) -> bool:
    """More failed evaluations than the canary allows."""
    return record.failed_checks > canary.failures


def lock_seconds(canary: Canary, rollout_timeout: float) -> float:
    """How long a canary run may hold the lock: its timed pauses, some slack for evaluations
    that wait for data, and two rollouts (the canary's, then the promotion's)."""
    timed = sum(float(step.pause) for step in canary.steps if not step.manual)
    slack = max((getattr(c, "window", 0.0) for c in canary.checks), default=0.0)
    return timed + len(canary.steps) * (canary.interval + slack) + 2 * rollout_timeout + 600


def unfinished_canary(history: Sequence[Release]) -> Release | None:
    """The newest release still deploying or paused that runs as a canary."""
    found = [r for r in history if r.status in releases_.UNFINISHED and r.canary is not None]
    return max(found, key=lambda r: r.number, default=None)


# --- effects --------------------------------------------------------------------------------


def _now() -> str:
    return releases_.now()


def finish(records: Records, release: Release, status: Status, reason: str) -> Release:
    """Record how a release ended; the release as it is now."""
    finished = releases_.now()
    records.set_status(release.number, status, reason, finished)
    return release.model_copy(update={"status": status, "reason": reason, "finished": finished})


@dataclass
class CanaryRun:
    """One run of a release's canary, from step `start` on."""

    plan: Plan
    release: Release
    stable: Release
    target: CanaryTarget
    images: Mapping[str, str]
    secrets: Mapping[str, str]
    root: Path
    lock: Lock
    progress: Progress
    say: Say
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    record: CanaryRecord = field(init=False)

    def __post_init__(self) -> None:
        assert self.plan.canary is not None
        self.canary: Canary = self.plan.canary
        self.record = self.release.canary or CanaryRecord(
            service=self.canary.service, stable=self.stable.number
        )
        namespace = str(getattr(self.target, "namespace", ""))
        canary_name = f"{self.canary.service}-canary"
        self.subject = checks.Subject(
            namespace, self.canary.service, canary_name, self.target.gateway_backend(canary_name)
        )

    # the whole run

    def run(self, start: int = 0) -> CanaryOutcome:
        """Steps from `start` to the last, then promotion; CanaryAbortedError on a failure."""
        try:
            return self._run(start)
        except KeyboardInterrupt:
            self.say(f"interrupted: sending all traffic back to #{self.stable.number}")
            self._back_to_stable()
            self._save()
            why = f"interrupted by the user; rolled back to #{self.stable.number}"
            finish(self.target.records, self.release, "interrupted", why)
            raise

    def _run(self, start: int) -> CanaryOutcome:
        service, steps = self.canary.service, self.canary.steps
        self.say(
            f"release #{self.release.number}: canary of {service} beside #{self.stable.number}, "
            f"{len(steps)} step(s): {', '.join(f'{s.weight}%' for s in steps)}"
        )
        held = self.record.weight if start > 0 else 0
        began = self.clock()
        self._apply_canary(held)
        reached: float | None = None
        for index in range(start, len(steps)):
            step = steps[index]
            traffic = Traffic(service, step.weight, self.canary.match)
            stack = self.target.canary_stack(
                self.stable.spec, self.release.spec, traffic, self.release.number
            )
            self.target.shift(stack, service, self.progress)
            if index == len(steps) - 1:
                reached = round(self.clock() - began, 2)
            self._begin_step(index)
            also = f", {self.canary.match.describe()} always" if self.canary.match else ""
            self.say(
                f"release #{self.release.number}: step {index + 1}/{len(steps)}: "
                f"{step.weight}% to the canary{also}"
            )
            self._hooks("step", step.weight, index)
            if step.manual:  # judged once (after an interval, when it has checks), then paused
                self._judge_step(index, self.canary.interval if self.canary.checks else 0.0)
            else:
                self._judge_step(index, float(step.pause))
            if step.manual:
                return self._pause(index)
            self._end_step(index, "passed")
        self._hooks("promote", steps[-1].weight, len(steps) - 1)
        promoted = self._promote()
        return CanaryOutcome(promoted, paused=False, seconds_to_full=reached)

    def _apply_canary(self, weight: int) -> None:
        """The canary's objects beside the stable ones, at `weight`, ready before traffic."""
        traffic = Traffic(self.canary.service, weight, self.canary.match if weight else None)
        stack = self.target.canary_stack(
            self.stable.spec, self.release.spec, traffic, self.release.number
        )
        self.say(f"release #{self.release.number}: starting the canary of {self.canary.service}")
        outcome = self._guarded(lambda: self._apply_and_wait(stack))
        if not outcome.ok:
            self._abort(f"the canary did not become ready: {outcome.reason}", (), outcome.logs)

    def _apply_and_wait(self, stack: Mapping[str, Any]) -> Outcome:
        self.target.apply(stack, self.progress)
        return self.target.wait(stack, self.plan.rollout_timeout, self.progress)

    def _guarded(self, act: Callable[[], Outcome]) -> Outcome:
        try:
            return act()
        except DevkitError as exc:
            return Outcome(False, exc.message)

    # steps

    def _begin_step(self, index: int) -> None:
        step = self.canary.steps[index]
        steps = list(self.record.steps[:index])
        steps.append(StepResult(weight=step.weight, started=_now()))
        self.record = self.record.model_copy(update={"steps": tuple(steps)})
        self._save()

    def _end_step(self, index: int, status: Any) -> None:
        steps = list(self.record.steps)
        steps[index] = steps[index].model_copy(update={"status": status, "finished": _now()})
        self.record = self.record.model_copy(update={"steps": tuple(steps)})
        self._save()

    def _save(self) -> None:
        self.target.record_canary(self.release.number, self.record)

    def _judge_step(self, index: int, pause: float) -> None:
        """Wait out the step, evaluating the checks on schedule; abort when they fail beyond
        the budget, or when a check never had data (bounded extra wait for it)."""
        began = self.clock()
        times = evaluation_times(pause, self.canary.interval) if self.canary.checks else []
        if not times:
            self.sleep(max(0.0, pause))
            return
        seen: list[CheckResult] = []
        for at in times:
            self._sleep_until(began + at)
            seen += self._evaluate(index)
        extra = began + pause + max(getattr(c, "window", 30.0) for c in self.canary.checks)
        while unjudged(self.canary, seen) and self.clock() < extra:
            self._sleep_until(min(extra, self.clock() + self.canary.interval))
            seen += self._evaluate(index)
        missing = unjudged(self.canary, seen)
        if missing:
            self._abort(
                f"step {index + 1}: Prometheus had no data for {', '.join(missing)} "
                f"(no requests reached the canary, or the gateway is not scraped)",
                (),
                (),
            )

    def _sleep_until(self, moment: float) -> None:
        left = moment - self.clock()
        if left > 0:
            self.sleep(left)

    def _evaluate(self, index: int) -> list[CheckResult]:
        results = []
        for check in self.canary.checks:
            query = checks.promql(check, self.subject)
            assert self.canary.prometheus is not None
            try:
                answer = self.target.query(self.canary.prometheus, query)
                value = checks.value_of(answer, query)
            except DevkitError as exc:
                self._abort(f"check {check.name} could not be evaluated: {exc.message}",
                            (), exc.details)  # fmt: skip
            results.append(checks.judge(check, value, _now()))
        steps = list(self.record.steps)
        steps[index] = steps[index].model_copy(
            update={"checks": steps[index].checks + tuple(results)}
        )
        bad = failed(results)
        self.record = self.record.model_copy(
            update={"steps": tuple(steps), "failed_checks": self.record.failed_checks + len(bad)}
        )
        self._save()
        weight = self.canary.steps[index].weight
        self.say(f"  {weight}%: " + "; ".join(checks.describe(r) for r in results))
        if bad and over_budget(self.canary, self.record):
            self._end_step(index, "failed")
            what = ", ".join(checks.describe(r) for r in bad)
            self._abort(f"step {index + 1} ({weight}%): {what}", bad, ())
        return results

    def _hooks(self, at: str, weight: int, index: int) -> None:
        for hook in self.canary.hooks:
            if hook.at != at:
                continue
            self.say(f"release #{self.release.number}: hook {' '.join(hook.command)}")
            outcome = run_verify(
                _as_verify(hook), self.plan, target=self.target, images=self.images,
                secrets=self.secrets, root=self.root,
                extra_env={"DEVKIT_CANARY_WEIGHT": str(weight)},
            )  # fmt: skip
            if not outcome.ok:
                reason = outcome.reason.replace("verify", "hook", 1)
                self._end_step(index, "failed")
                self._abort(f"hook {' '.join(hook.command)}: {reason}", (), outcome.logs)

    # endings

    def _pause(self, index: int) -> CanaryOutcome:
        self._end_step(index, "paused")
        weight = self.canary.steps[index].weight
        paused = finish(self.target.records, self.release, "paused",
                        f"paused at step {index + 1} ({weight}%)")  # fmt: skip
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + PAUSED_TTL))
        held = Lock(
            owner=self.lock.owner, host=self.lock.host, pid=0, operation=self.lock.operation,
            acquired=_now(), expires=expires, paused=self.release.number,
        )  # fmt: skip
        self.target.records.hand_over(held)
        return CanaryOutcome(paused.model_copy(update={"canary": self.record}), paused=True)

    def _promote(self) -> Release:
        """The stable version takes the new images while the canary still serves its share;
        then all traffic goes to it and the canary is removed."""
        service, last = self.canary.service, self.canary.steps[-1].weight
        self.say(f"release #{self.release.number}: promoting: {service} takes the new images")
        held = self.target.canary_stack(
            self.release.spec, self.release.spec, Traffic(service, last), self.release.number
        )
        outcome = self._guarded(lambda: self._apply_and_wait(held))
        if outcome.ok:
            self.target.shift(self.release.spec, service, self.progress)
            self.sleep(DRAIN)
            outcome = self._guarded(lambda: self._apply_and_wait(self.release.spec))
        if not outcome.ok:
            self._abort(f"promotion failed: {outcome.reason}", (), outcome.logs)
        done = finish(self.target.records, self.release, "healthy", "")
        return done.model_copy(update={"canary": self.record})

    def _back_to_stable(self) -> float:
        """All traffic to the stable version at once (routes only), then the canary removed.
        The seconds until the gateway reported the routes (it applies them 0.4-0.7 s later)."""
        began = self.clock()
        self.target.shift(self.stable.spec, self.canary.service, self.progress)
        shifted = round(self.clock() - began, 2)
        self.sleep(DRAIN)
        outcome = self._guarded(lambda: self._apply_and_wait(self.stable.spec))
        if not outcome.ok:
            self.say(f"restoring #{self.stable.number} did not finish cleanly: {outcome.reason}")
        return shifted

    def _abort(self, why: str, failing: tuple[CheckResult, ...], logs: Sequence[str]) -> None:
        decided = time.time()
        self.say(f"release #{self.release.number}: aborting the canary: {why}")
        seconds = self._back_to_stable()
        reason = f"canary aborted: {why}; rolled back to #{self.stable.number}"
        aborted = finish(self.target.records, self.release, "failed", reason)
        details = [f"release #{self.stable.number} is serving again; the canary was removed"]
        if logs:
            details.insert(0, "last log lines:\n" + "\n".join(f"    | {line}" for line in logs))
        raise CanaryAbortedError(
            f"release #{self.release.number} of {self.release.environment} failed: {reason}",
            release=aborted.model_copy(update={"canary": self.record}),
            failing=failing,
            abort_seconds=seconds,
            decided_at=decided,
            details=details,
        )


def _as_verify(hook: Hook) -> Verify:
    return Verify(list(hook.command), service=hook.service, timeout=hook.timeout)


def roll_back_unfinished(
    target: CanaryTarget, release: Release, history: Sequence[Release], *, status: Status,
    reason: str, progress: Progress, say: Say, timeout: float,
) -> Release:  # fmt: skip
    """An unfinished canary (interrupted, paused, or its lock expired) rolled back: traffic to
    its stable release, the canary removed, the release marked `status` with `reason`."""
    assert release.canary is not None
    stable = releases_.find(history, release.canary.stable, release.environment)
    say(f"release #{release.number}: its canary is unfinished; rolling back to #{stable.number}")
    target.shift(stable.spec, release.canary.service, progress)
    time.sleep(DRAIN)
    target.apply(stable.spec, progress)
    outcome = target.wait(stable.spec, timeout, progress)
    if not outcome.ok:
        reason = f"{reason}; restoring #{stable.number} failed: {outcome.reason}"
    return finish(target.records, release, status, reason)


def resumable(history: Sequence[Release], environment: str) -> tuple[Release, Release]:
    """The paused or interrupted canary `--continue` resumes, and its stable release."""
    release = unfinished_canary(history)
    if release is None:
        raise RefusedError(
            f'environment "{environment}" has no paused or interrupted canary to continue',
            details=[f"its releases: devkit releases {environment}", "nothing was changed"],
        )
    assert release.canary is not None
    return release, releases_.find(history, release.canary.stable, environment)
