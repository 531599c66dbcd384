"""The deploy engine: deploy, promote and roll back an environment on any cluster target.

A deploy holds the environment's lock, records a release in the target, runs the environment's
pre-deploy jobs (a failed one stops it with nothing rolled out), applies, follows the rollout
to a verdict within the environment's deadline, runs its verify step, and marks the release
healthy; otherwise it puts the previous healthy release back (exactly what it applied)
and fails with the reason. Promotion takes the source's last release, which must be healthy,
and deploys its image digests unchanged; it never builds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from devkit.delivery.canary import (
    CanaryRun,
    CanaryTarget,
    lock_seconds,
    resumable,
    roll_back_unfinished,
)
from devkit.delivery.canary import (
    finish as _finish,
)
from devkit.delivery.cost import default_sheet, release_cost
from devkit.delivery.verify import run_verify, service_env
from devkit.errors import DevkitError, EngineError, RefusedError, UserError
from devkit.planning.images import relocate
from devkit.planning.planner import Plan
from devkit.policy.check import PolicyViolationError, Report, check
from devkit.records import release as releases_
from devkit.records.lock import DEFAULT_TTL, Lock, new_lock
from devkit.records.release import CanaryRecord, PolicyResult, Release
from devkit.targets.base import Releases as DeployTarget
from devkit.targets.base import RunsCanaries, supports
from devkit.targets.outcome import Outcome, Progress

Say = Callable[[str], None]


class RolloutFailedError(EngineError):
    """A release did not become healthy (or failed its verify step); it was rolled back."""

    def __init__(
        self, message: str, *, release: Release, restored: Release | None, logs: tuple[str, ...]
    ) -> None:
        self.release, self.restored, self.logs = release, restored, logs
        details = [f"last log lines:\n{_indent(logs)}"] if logs else []
        if restored is not None:
            details.append(f"release #{restored.number} is serving again")
        super().__init__(message, details=details)


class JobFailedError(EngineError):
    """A pre-deploy job failed: the release was recorded as failed and nothing was rolled out."""

    def __init__(self, message: str, *, release: Release, logs: tuple[str, ...]) -> None:
        self.release, self.logs = release, logs
        details = [f"last log lines:\n{_indent(logs)}"] if logs else []
        details.append("nothing was rolled out: what ran before runs unchanged")
        super().__init__(message, details=details)


@dataclass(frozen=True)
class JobRun:
    """A pre-deploy job that succeeded: how long it took and its last log lines."""

    name: str
    seconds: float
    logs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "seconds": self.seconds, "logs": list(self.logs)}


@dataclass(frozen=True)
class Provenance:
    """Who deploys, from which commit, and why (deploy, promote from ..., rollback to ...)."""

    by: str
    commit: str | None
    origin: str


@dataclass(frozen=True)
class DeployResult:
    release: Release
    previous: Release | None
    nothing_to_do: bool = False
    seconds: float = 0.0
    urls: dict[str, str] = field(default_factory=dict)
    jobs: tuple[JobRun, ...] = ()
    seconds_to_full: float | None = None
    """A canary: seconds from its first step until its last weight was applied."""

    @property
    def status(self) -> str:
        return self.release.status

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.release.status,
            "release": self.release.summary(),
            "previous": self.previous.number if self.previous else None,
            "nothing_to_do": self.nothing_to_do,
            "seconds": self.seconds,
            "urls": self.urls,
            "jobs": [job.to_dict() for job in self.jobs],
        }


def _indent(lines: tuple[str, ...]) -> str:
    return "\n".join(f"    | {line}" for line in lines)


def _quiet(*_: str) -> None:
    return None


def deploy(
    plan: Plan,
    images: Mapping[str, str],
    target: DeployTarget,
    *,
    secrets: Mapping[str, str],
    provenance: Provenance,
    root: Path,
    progress: Progress = _quiet,
    say: Say = _quiet,
) -> DeployResult:
    """Deploy `images` (service -> digest reference) with `plan`; a healthy release or an error.

    Nothing changes before the environment's policy passes (a violation of a declared policy
    is refused, `PolicyViolationError`), the lock is held and every image is known to exist,
    and nothing is rolled out before every pre-deploy job has succeeded.
    """
    began = time.monotonic()
    policy = _policy_gate(plan, images, root, provenance.origin, say)
    target.check()
    target.check_images(images)
    ttl = (
        timedelta(seconds=lock_seconds(plan.canary, plan.rollout_timeout)) if plan.canary else None
    )
    lock = new_lock(provenance.by, f"{provenance.origin} {plan.environment}".strip(),
                    **({"ttl": max(ttl, DEFAULT_TTL)} if ttl else {}))  # fmt: skip
    with target.records.locked(lock, on_stale=_taking_over(say)):
        history = target.records.releases()
        _close_interrupted(target, history, say, progress, plan.rollout_timeout)
        previous = releases_.current(history)
        observed = target.observe(plan, images, secrets)
        stack = target.prepare(plan, images, observed)
        target.check_apply(stack)
        release = Release(
            number=releases_.next_number(history),
            project=plan.project,
            environment=plan.environment,
            images=dict(images),
            plan_hash=plan.hash,
            commit=provenance.commit,
            created=releases_.now(),
            by=provenance.by,
            origin=provenance.origin,
            spec=stack,
            policy=policy,
            cost=release_cost(plan, default_sheet()),
        )
        target.records.record(release)
        jobs = _pre_deploy(plan, release, target, secrets=secrets, say=say)
        runs = _canary_of(plan, target, previous, stack, say)
        if runs is not None:
            assert previous is not None
            release = _as_canary(target, release, previous, plan)
            run = CanaryRun(plan, release, previous, runs, images, secrets, root, lock,
                            progress, say)  # fmt: skip
            ended = run.run()
            return DeployResult(ended.release, previous, seconds=_since(began), jobs=jobs,
                                seconds_to_full=ended.seconds_to_full)  # fmt: skip
        say(f"release #{release.number} of {plan.environment}: rolling out")
        outcome = _roll_out(target, release, plan.rollout_timeout, progress)
        if outcome.ok and plan.verify is not None:
            say(f"release #{release.number}: verifying ({' '.join(plan.verify.command)})")
            outcome = _guarded(
                release,
                target,
                lambda: run_verify(
                    plan.verify,  # type: ignore[arg-type]
                    plan,
                    target=target,
                    images=images,
                    secrets=secrets,
                    root=root,
                ),
            )
            if not outcome.ok:
                outcome = Outcome(False, f"verify failed: {outcome.reason}", outcome.logs)
        if outcome.ok:
            done = _finish(target.records, release, "healthy", "")
            urls = _urls(plan, target)
            return DeployResult(done, previous, seconds=_since(began), urls=urls, jobs=jobs)
        raise _restore(
            target,
            release,
            previous,
            outcome,
            timeout=plan.rollout_timeout,
            progress=progress,
            say=say,
        )


def _policy_gate(
    plan: Plan, images: Mapping[str, str], root: Path, origin: str, say: Say
) -> PolicyResult:
    """Check the release against the environment's policy before anything else happens."""
    report = check(plan, images, root=root)
    if not report.passed:
        if report.enforced:
            doing = "promotion" if origin.startswith("promote") else "deploy"
            raise PolicyViolationError(report, doing=doing)
        why = "declares no policy" if plan.policy is None else "does not enforce its policy"
        say(
            f"policy: {len(report.violations)} violation(s), as advice: {plan.environment} "
            f"{why} (devkit check {plan.environment})"
        )
        for violation in report.violations:
            say(f"  {violation.describe()}")
    return policy_result(report)


def policy_result(report: Report) -> PolicyResult:
    """What a release records of its policy check."""
    return PolicyResult(
        passed=report.passed,
        enforced=report.enforced,
        rules=report.rules,
        violations=tuple(f"{v.rule}: {v.object}: {v.message}" for v in report.violations),
    )


def _pre_deploy(
    plan: Plan,
    release: Release,
    target: DeployTarget,
    *,
    secrets: Mapping[str, str],
    say: Say,
) -> tuple[JobRun, ...]:
    """Run the plan's jobs in order; the first that fails marks the release failed and stops."""
    done = []
    for job in plan.jobs:
        say(
            f"release #{release.number}: pre-deploy job {job.name} "
            f"({' '.join(job.command)}) in {job.service}'s new image"
        )
        env = service_env(plan, job.service, secrets)
        run = partial(target.run_job, job, release.spec, release.images[job.service], env)
        outcome = _guarded(release, target, run)
        if not outcome.ok:
            reason = f'pre-deploy job "{job.name}" {outcome.reason}'
            failed = _finish(target.records, release, "failed", f"{reason}; nothing rolled out")
            raise JobFailedError(
                f"release #{release.number} of {release.environment} stopped: {reason}",
                release=failed,
                logs=outcome.logs,
            )
        say(f"release #{release.number}: job {job.name} passed ({outcome.seconds:.1f}s)")
        if outcome.logs:
            say(_indent(outcome.logs))
        done.append(JobRun(job.name, outcome.seconds, outcome.logs))
    return tuple(done)


def _roll_out(
    target: DeployTarget, release: Release, timeout: float, progress: Progress
) -> Outcome:
    def act() -> Outcome:
        target.apply(release.spec, progress)
        return target.wait(release.spec, timeout, progress)

    return _guarded(release, target, act)


def _guarded(release: Release, target: DeployTarget, act: Callable[[], Outcome]) -> Outcome:
    """Run a step of a release; an interrupt marks the release interrupted and goes on up."""
    try:
        return act()
    except KeyboardInterrupt:
        _finish(target.records, release, "interrupted", "interrupted by the user")
        raise
    except DevkitError as exc:
        return Outcome(False, exc.message)
    except Exception as exc:
        # Not a failure devkit knows: record it (never leave a release `deploying`), then let
        # it surface as it is.
        _finish(target.records, release, "failed", f"stopped by {type(exc).__name__}: {exc}"[:500])
        raise


def _restore(
    target: DeployTarget,
    release: Release,
    previous: Release | None,
    outcome: Outcome,
    *,
    timeout: float,
    progress: Progress,
    say: Say,
) -> RolloutFailedError:
    """Put the previous healthy release back; the error that says what failed and what serves."""
    if previous is None:
        return _failed(target, release, outcome.reason, outcome.logs)
    say(f"release #{release.number} failed: {outcome.reason}; restoring #{previous.number}")
    try:
        target.apply(previous.spec, progress)
        back = target.wait(previous.spec, timeout, progress)
    except DevkitError as exc:
        back = Outcome(False, exc.message)
    if back.ok:
        reason = f"{outcome.reason}; rolled back to #{previous.number}"
        _finish(target.records, release, "rolled-back", reason)
        return RolloutFailedError(
            f"release #{release.number} of {release.environment} failed and was rolled back to "
            f"#{previous.number}: {outcome.reason}",
            release=release,
            restored=previous,
            logs=outcome.logs,
        )
    reason = f"{outcome.reason}; rolling back to #{previous.number} failed too: {back.reason}"
    return _failed(target, release, reason, outcome.logs or back.logs)


def _failed(
    target: DeployTarget, release: Release, reason: str, logs: tuple[str, ...], what: str = ""
) -> RolloutFailedError:
    """Mark a release failed; the error that says so (`what` failed, or the release)."""
    _finish(target.records, release, "failed", reason)
    what = what or f"release #{release.number} of {release.environment}"
    return RolloutFailedError(f"{what} failed: {reason}", release=release, restored=None, logs=logs)


def _close_interrupted(
    target: DeployTarget, history: list[Release], say: Say, progress: Progress, timeout: float
) -> None:
    """Releases left `deploying` by a deploy that died, or `paused` by a canary whose lock
    expired or was broken: we hold the lock, so none is running. A canary among them is rolled
    back to its stable release first (traffic, then its objects)."""
    for index, old in enumerate(history):
        if old.status not in releases_.UNFINISHED:
            continue
        if old.canary is not None and supports(target, RunsCanaries):
            how = "paused" if old.status == "paused" else "interrupted"
            reason = f"its canary was {how} at {old.canary.weight}%"
            history[index] = roll_back_unfinished(
                target,  # type: ignore[arg-type]
                old, history, status="interrupted",
                reason=f"{reason}; rolled back to #{old.canary.stable}",
                progress=progress, say=say, timeout=timeout,
            )  # fmt: skip
            continue
        say(f"release #{old.number} was left unfinished; marking it interrupted")
        history[index] = _finish(target.records, old, "interrupted", "its deploy did not finish")


def _canary_of(
    plan: Plan, target: DeployTarget, previous: Release | None, stack: Mapping[str, Any], say: Say
) -> CanaryTarget | None:
    """The target as a canary runner when this release goes out as a canary: the environment
    declares one, a healthy release runs to stand beside, and the canaried service changes."""
    canary = plan.canary
    if canary is None:
        return None
    if not supports(target, RunsCanaries):
        say(f"{plan.environment}'s target cannot run canaries; deploying at once")
        return None
    runs: CanaryTarget = target  # type: ignore[assignment]
    if previous is None:
        say(f"no healthy release runs {canary.service} yet: the first release goes out at once")
        return None
    if not runs.canary_differs(previous.spec, stack, canary.service):
        say(f"{canary.service} does not change: no canary, the release goes out at once")
        return None
    return runs


def _as_canary(target: DeployTarget, release: Release, stable: Release, plan: Plan) -> Release:
    assert plan.canary is not None
    record = CanaryRecord(service=plan.canary.service, stable=stable.number)
    runs: CanaryTarget = target  # type: ignore[assignment]
    runs.record_canary(release.number, record)
    return release.model_copy(update={"canary": record})


def continue_canary(
    plan: Plan,
    target: DeployTarget,
    *,
    secrets: Mapping[str, str],
    provenance: Provenance,
    root: Path,
    progress: Progress = _quiet,
    say: Say = _quiet,
) -> DeployResult:
    """Resume a paused or interrupted canary from its last completed step (`--continue`)."""
    began = time.monotonic()
    runs = _canary_target(plan, target)
    assert plan.canary is not None
    lock = new_lock(provenance.by, f"continue {plan.environment}", ttl=_lock_ttl(plan))
    with target.records.locked(lock, on_stale=_taking_over(say), resume=True):
        history = target.records.releases()
        release, stable = resumable(history, plan.environment)
        assert release.canary is not None
        target.provide_secrets(secrets)
        start = release.canary.completed
        say(f"release #{release.number}: continuing its canary at step {start + 1}")
        target.records.set_status(release.number, "deploying", "", "")
        release = release.model_copy(update={"status": "deploying", "reason": ""})
        run = CanaryRun(plan, release, stable, runs, release.images, secrets, root, lock,
                        progress, say)  # fmt: skip
        ended = run.run(start)
        return DeployResult(ended.release, stable, seconds=_since(began),
                            seconds_to_full=ended.seconds_to_full)  # fmt: skip


def abort_canary(
    plan: Plan,
    target: DeployTarget,
    *,
    provenance: Provenance,
    secrets: Mapping[str, str],
    progress: Progress = _quiet,
    say: Say = _quiet,
) -> DeployResult:
    """Roll a paused or interrupted canary back to its stable release (`--abort`)."""
    began = time.monotonic()
    runs = _canary_target(plan, target)
    lock = new_lock(provenance.by, f"abort {plan.environment}")
    with target.records.locked(lock, on_stale=_taking_over(say), resume=True):
        history = target.records.releases()
        release, stable = resumable(history, plan.environment)
        target.provide_secrets(secrets)
        assert release.canary is not None
        reason = f"aborted with --abort at {release.canary.weight}%"
        done = roll_back_unfinished(
            runs, release, history, status="rolled-back",
            reason=f"{reason}; rolled back to #{stable.number}",
            progress=progress, say=say, timeout=plan.rollout_timeout,
        )  # fmt: skip
        return DeployResult(done, stable, seconds=_since(began))


def _lock_ttl(plan: Plan) -> timedelta:
    """The lock's time to live: the default, or longer for a canary that runs longer."""
    if plan.canary is None:
        return DEFAULT_TTL
    return max(DEFAULT_TTL, timedelta(seconds=lock_seconds(plan.canary, plan.rollout_timeout)))


def _canary_target(plan: Plan, target: DeployTarget) -> CanaryTarget:
    if plan.canary is None or not supports(target, RunsCanaries):
        raise UserError(
            f'environment "{plan.environment}" declares no canary; --continue and --abort '
            "resume or roll back a paused canary",
            details=["nothing was changed"],
        )
    runs: CanaryTarget = target  # type: ignore[assignment]
    return runs


def _taking_over(say: Say) -> Callable[[Lock, str], None]:
    def report(held: Lock, why: str) -> None:
        say(f"taking over a stale lock ({why}): {held.describe()}")

    return report


def _urls(plan: Plan, target: DeployTarget) -> dict[str, str]:
    published = target.published()
    return {
        f"{s.name}.{name}": f"http://127.0.0.1:{published[s.name][port.container]}"
        for s in plan.services
        for name, port in sorted(s.ports.items())
        if port.container in published.get(s.name, {})
    }


def _since(began: float) -> float:
    return round(time.monotonic() - began, 2)


@dataclass(frozen=True)
class Promotion:
    """What a promotion takes from its source, and what it would change at its destination."""

    source: Release
    images: dict[str, str]
    changes: dict[str, tuple[str | None, str]]  # service -> (image now, image after)
    plan_changed: bool
    nothing_to_do: bool
    copies: dict[str, tuple[str, str]] = field(default_factory=dict)
    """service -> (source image, its copy in DST's registry), when the registries differ."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": {"environment": self.source.environment, "release": self.source.number},
            "images": self.images,
            "changes": {k: {"from": a, "to": b} for k, (a, b) in self.changes.items()},
            "copies": {k: {"from": a, "to": b} for k, (a, b) in self.copies.items()},
            "plan_changed": self.plan_changed,
            "nothing_to_do": self.nothing_to_do,
        }


def promotion(
    source: list[Release],
    destination: list[Release],
    src: str,
    dst_plan: Plan,
    *,
    src_registry: str | None = None,
) -> Promotion:
    """Decide a promotion from both environments' records. Pure; RefusedError when it may not.

    When DST's registry differs from SRC's (`src_registry`), DST runs copies of the images in
    its own registry, by the same digests.
    """
    taken = releases_.promotable(source, src)
    images = {s.name: taken.images[s.name] for s in dst_plan.services if s.name in taken.images}
    dst_registry = getattr(dst_plan.target, "registry", None)
    copies = {}
    if src_registry and dst_registry and src_registry.rstrip("/") != dst_registry.rstrip("/"):
        copies = {n: (ref, relocate(ref, src_registry, dst_registry)) for n, ref in images.items()}
        images = {name: copy for name, (_, copy) in copies.items()}
    missing = [s.name for s in dst_plan.services if s.name not in taken.images]
    if missing:
        raise RefusedError(
            f'release #{taken.number} of "{src}" has no image for '
            f"{', '.join(missing)}, which {dst_plan.environment} runs",
            details=["deploy the source with those services first; nothing was changed"],
        )
    running = releases_.current(destination)
    now_images = dict(running.images) if running else {}
    changes = {
        name: (now_images.get(name), ref)
        for name, ref in images.items()
        if now_images.get(name) != ref
    }
    plan_changed = running is None or running.plan_hash != dst_plan.hash
    same = releases_.runs_already(destination, images, dst_plan.hash) is not None
    return Promotion(taken, images, changes, plan_changed, same, copies)


def rollback(
    target: DeployTarget,
    *,
    to: int | None,
    provenance: Provenance,
    secrets: Mapping[str, str],
    timeout: float,
    progress: Progress = _quiet,
    say: Say = _quiet,
) -> DeployResult:
    """Re-apply an earlier healthy release exactly as it ran, recorded as a new release."""
    began = time.monotonic()
    target.check()
    target.provide_secrets(secrets)
    lock = new_lock(provenance.by, f"rollback {target.env}")
    with target.records.locked(lock, on_stale=_taking_over(say)):
        history = target.records.releases()
        _close_interrupted(target, history, say, progress, timeout)
        chosen = releases_.rollback_target(history, target.env, to)
        previous = releases_.current(history)
        release = chosen.model_copy(
            update={
                "number": releases_.next_number(history),
                "commit": chosen.commit,
                "created": releases_.now(),
                "by": provenance.by,
                "origin": f"rollback to #{chosen.number}",
                "status": "deploying",
                "reason": "",
                "finished": None,
            }
        )
        target.records.record(release)
        say(f"release #{release.number} of {target.env}: restoring #{chosen.number}")
        outcome = _roll_out(target, release, timeout, progress)
        if outcome.ok:
            done = _finish(target.records, release, "healthy", "")
            return DeployResult(done, previous, seconds=_since(began))
        what = f"rolling {target.env} back to #{chosen.number}"
        raise _failed(target, release, outcome.reason, outcome.logs, what)
