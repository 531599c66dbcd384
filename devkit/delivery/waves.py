"""Environments that span several clusters: deploy, promote and roll back one wave per cluster.

Each cluster of `Kubernetes(clusters=[...])` is a wave, run in the declared order: apply, wait
and verify in one cluster (the one-cluster engine of `deploy.py`, with that cluster's own
records, lock and registry) before the next starts. A wave that fails has been rolled back by
that engine; the waves after it do not start, and the ones done before it keep the new release
or are rolled back too, as the environment's `after_failure` says.

Decide, then do: which waves and in what order (`waves`), what images each wave runs and which
copies that needs (`wave_images`), what to undo after a failure (`to_undo`), which cluster's
canary `--continue` resumes and which earlier waves belong to its rollout (`paused_wave`,
`rollout_before`) and the run itself (`run_waves`) take plain values and callables, and are
unit-tested; what each wave does to its cluster goes through the `Releases` capability
(`promote_wave`, `deploy_wave`, `rollback_wave`, `resume_wave`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from devkit.delivery.canary import unfinished_canary
from devkit.delivery.deploy import (
    DeployResult,
    Provenance,
    abort_canary,
    continue_canary,
    deploy,
    promotion,
    rollback,
)
from devkit.errors import DevkitError, RefusedError, UserError
from devkit.planning.images import relocate
from devkit.planning.planner import Plan, content_hash
from devkit.records import release as releases_
from devkit.records.release import Release
from devkit.targets.base import Releases as DeployTarget
from devkit.targets.outcome import Progress

Say = Callable[[str], None]
Copies = dict[str, tuple[str, str]]
"""service -> (image, its copy in a wave's registry), both as the nodes name them."""
WaveStatus = Literal[
    "healthy",
    "nothing-to-do",
    "failed",
    "rolled-back",
    "not-started",
    "rollback-failed",
    "paused",
    "aborted",
]
AfterFailure = Literal["keep", "rollback"]


@dataclass(frozen=True)
class Wave:
    """One cluster of an environment, as the single-cluster plan its wave deploys."""

    cluster: str
    plan: Plan


@dataclass(frozen=True)
class WaveResult:
    """What one wave did: its cluster, its outcome and the release it recorded there."""

    cluster: str
    status: WaveStatus
    release: int | None = None
    seconds: float = 0.0
    reason: str = ""
    copies: Copies = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster,
            "status": self.status,
            "release": self.release,
            "seconds": self.seconds,
            "reason": self.reason,
            "copies": {k: {"from": a, "to": b} for k, (a, b) in sorted(self.copies.items())},
        }

    def describe(self) -> str:
        release = f" release #{self.release}" if self.release is not None else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.cluster}: {self.status}{release}{reason}"


class WaveFailedError(DevkitError):
    """A wave failed: that cluster was rolled back, the waves after it did not start, and the
    ones before it kept the new release or were rolled back (`after_failure`). Its exit code is
    the failed wave's (1 when its release failed, 3 when it was refused, ...)."""

    def __init__(
        self, environment: str, index: int, cause: DevkitError, results: Sequence[WaveResult]
    ) -> None:
        self.cause, self.results = cause, tuple(results)
        self.exit_code = cause.exit_code
        failed = self.results[index - 1]
        super().__init__(
            f"wave {index} of {len(self.results)} ({failed.cluster}) of {environment} failed: "
            f"{cause.message}",
            details=[*cause.details, *(f"wave {r.describe()}" for r in self.results)],
        )

    def to_dict(self) -> dict[str, object]:
        return {**super().to_dict(), "waves": [r.to_dict() for r in self.results]}


def waves(plan: Plan, only: str | None = None) -> tuple[Wave, ...]:
    """The waves of `plan`'s environment in declared order (only the cluster `only`, if
    given); none for an environment on one cluster. UserError for a cluster it does not have."""
    split: Callable[[], tuple[tuple[str, Any], ...]] | None = getattr(
        plan.target, "wave_targets", None
    )
    targets = split() if split is not None else ()
    if not targets:
        if only is not None:
            raise UserError(
                f'environment "{plan.environment}" runs on one cluster: --cluster {only} '
                "names none of its own",
                details=[
                    "--cluster narrows an environment declared with "
                    "Kubernetes(clusters=[Cluster(...), ...])",
                    "nothing was changed",
                ],
            )
        return ()
    found = tuple(Wave(name, cluster_plan(plan, target)) for name, target in targets)
    if only is None:
        return found
    chosen = tuple(w for w in found if w.cluster == only)
    if not chosen:
        raise UserError(
            f'environment "{plan.environment}" has no cluster "{only}"',
            details=[f"its clusters: {', '.join(w.cluster for w in found)}", "nothing was changed"],
        )
    return chosen


def cluster_plan(plan: Plan, target: Any) -> Plan:
    """`plan` on one of its clusters: the same services on that cluster's target; its hash
    is the environment's and the cluster's (a change to either is a change to the release)."""
    where = target.model_dump(mode="json") if hasattr(target, "model_dump") else str(target)
    return plan.model_copy(
        update={"target": target, "hash": content_hash({"plan": plan.hash, "cluster": where})}
    )


def registry_of(plan: Plan) -> str | None:
    found = getattr(plan.target, "registry", None)
    return str(found) if found else None


def wave_images(
    images: Mapping[str, str], source_registry: str | None, wave: Wave
) -> tuple[dict[str, str], Copies]:
    """The images `wave` runs, and the copies that needs: `images` below `source_registry`
    run from the wave's own registry, by the same digests, when it has another one (an image
    already below the wave's registry runs as it is)."""
    target = registry_of(wave.plan)
    if not source_registry or not target or source_registry.rstrip("/") == target.rstrip("/"):
        return dict(images), {}
    own = target.rstrip("/") + "/"
    copies = {
        name: (ref, relocate(ref, source_registry, target))
        for name, ref in images.items()
        if not ref.startswith(own)
    }
    runs = {name: copies[name][1] if name in copies else ref for name, ref in images.items()}
    return runs, copies


def images_home(every: Sequence[Wave], images: Mapping[str, str]) -> Wave | None:
    """The wave (of all the environment's) whose registry holds every one of `images`: where
    images given by digest (`deploy --images`) are copied from into another wave's registry.
    None when no one cluster's registry holds them all."""
    for wave in every:
        registry = registry_of(wave.plan)
        own = (registry or "").rstrip("/") + "/"
        if registry and images and all(ref.startswith(own) for ref in images.values()):
            return wave
    return None


def to_undo(done: Sequence[WaveResult], after_failure: AfterFailure) -> tuple[str, ...]:
    """The clusters to roll back after a later wave failed, in the order to do it: none when
    they keep the new release; else, newest first, each that this run changed (a wave with
    nothing to do ran that release before and keeps it)."""
    if after_failure == "keep":
        return ()
    return tuple(r.cluster for r in reversed(done) if r.status == "healthy")


def after_failure_of(plan: Plan) -> AfterFailure:
    found = getattr(plan.target, "after_failure", "keep")
    return "rollback" if found == "rollback" else "keep"


def run_waves(
    environment: str,
    planned: Sequence[Wave],
    act: Callable[[Wave], WaveResult],
    undo: Callable[[Wave], WaveResult],
    *,
    after_failure: AfterFailure,
    say: Say,
    before: Sequence[tuple[Wave, WaveResult]] = (),
) -> tuple[WaveResult, ...]:
    """Run `act` on each wave in order; the results, or WaveFailedError after the first that
    fails, once the waves done before it are undone as `after_failure` says. `before`: waves
    of the same rollout done by an earlier command (`deploy --continue`), undone likewise."""
    done: list[WaveResult] = [result for _, result in before]
    total = len(before) + len(planned)
    every = [*(wave for wave, _ in before), *planned]
    for offset, wave in enumerate(planned):
        index = len(before) + offset + 1
        say(f"wave {index}/{total}: cluster {wave.cluster}")
        try:
            result = act(wave)
        except DevkitError as exc:
            restored = getattr(exc, "restored", None)
            status: WaveStatus = "rolled-back" if restored is not None else "failed"
            failed = WaveResult(wave.cluster, status, _release_of(exc), reason=exc.message)
            say(f"wave {index}/{total}: cluster {wave.cluster} {status}: {exc.message}")
            undone = dict(_undo(done, every, undo, after_failure, say))
            later = [WaveResult(w.cluster, "not-started") for w in planned[offset + 1 :]]
            results = [undone.get(r.cluster, r) for r in done] + [failed, *later]
            raise WaveFailedError(environment, index, exc, results) from exc
        say(f"wave {index}/{total}: cluster {wave.cluster} {_said(result)}")
        done.append(result)
        if result.status == "paused":  # a canary waiting for --continue: the next waves wait too
            say(f"the clusters after {wave.cluster} wait until its canary is continued or aborted")
            return (*done, *(WaveResult(w.cluster, "not-started") for w in planned[offset + 1 :]))
    return tuple(done)


def paused_wave(histories: Sequence[tuple[Wave, Sequence[Release]]], environment: str) -> int:
    """Which wave `deploy --continue` or `--abort` resumes (its index in `histories`, each
    wave with its cluster's releases): the one whose cluster holds a paused or interrupted
    canary. Refused when none does; a UserError when several do (--cluster chooses)."""
    found = [i for i, (_, history) in enumerate(histories) if unfinished_canary(history)]
    clusters = [histories[i][0].cluster for i in found]
    if not found:
        raise RefusedError(
            f'environment "{environment}" has no paused or interrupted canary to continue in '
            f"any of its clusters ({', '.join(w.cluster for w, _ in histories)})",
            details=[f"its releases: devkit releases {environment}", "nothing was changed"],
        )
    if len(found) > 1:
        raise UserError(
            f'environment "{environment}" has an unfinished canary in {len(found)} clusters '
            f"({', '.join(clusters)}): choose one with --cluster NAME",
            details=["nothing was changed"],
        )
    return found[0]


def rollout_before(
    histories: Sequence[tuple[Wave, Sequence[Release]]],
    release: Release,
    source_registry: str | None,
) -> tuple[tuple[Wave, WaveResult], ...]:
    """The waves before a paused one that run its release's images (below `source_registry`),
    as each would from its own registry (`wave_images`): done by the same rollout, so a later
    wave's failure undoes them as `after_failure` says. A cluster that runs something else
    since is not part of it and is left alone."""
    found: list[tuple[Wave, WaveResult]] = []
    for wave, history in histories:
        running = releases_.current(history)
        runs, _ = wave_images(release.images, source_registry, wave)
        if running is not None and running.images == runs:
            found.append((wave, WaveResult(wave.cluster, "healthy", running.number)))
    return tuple(found)


def _undo(
    done: Sequence[WaveResult],
    planned: Sequence[Wave],
    undo: Callable[[Wave], WaveResult],
    after_failure: AfterFailure,
    say: Say,
) -> Iterator[tuple[str, WaveResult]]:
    by_name = {w.cluster: w for w in planned}
    for name in to_undo(done, after_failure):
        say(f"cluster {name}: rolling back too (after_failure={after_failure!r})")
        try:
            yield name, undo(by_name[name])
        except DevkitError as exc:
            say(f"cluster {name}: rolling back failed: {exc.message}")
            yield name, WaveResult(name, "rollback-failed", reason=exc.message)


def _release_of(exc: DevkitError) -> int | None:
    release = getattr(exc, "release", None)
    return release.number if isinstance(release, Release) else None


def _said(result: WaveResult) -> str:
    if result.status == "nothing-to-do":
        return f"already runs release #{result.release}'s images: nothing to do"
    return f"{result.status}: release #{result.release} ({result.seconds:.1f}s)"


Opener = Callable[[Plan], AbstractContextManager[DeployTarget]]
Copier = Callable[[Copies, Plan], None]


@dataclass(frozen=True)
class WaveRun:
    """What every wave of one command shares: how to open a wave's target, copy images into
    its registry, and what a deploy records and needs."""

    open: Opener
    copy: Copier
    secrets: Mapping[str, str]
    provenance: Provenance
    root: Path
    break_lock: Callable[[DeployTarget], None] | None = None
    progress: Progress = lambda *_: None
    say: Say = lambda _: None


def _deployed(wave: Wave, result: DeployResult, copies: Copies) -> WaveResult:
    status: WaveStatus = "paused" if result.release.status == "paused" else "healthy"
    return WaveResult(wave.cluster, status, result.release.number, result.seconds, copies=copies)


def deploy_wave(
    wave: Wave, images: Mapping[str, str], source_registry: str | None, run: WaveRun
) -> WaveResult:
    """Deploy `images` (pushed below `source_registry`) to one wave's cluster, copied into its
    own registry first when it has another."""
    wanted, copies = wave_images(images, source_registry, wave)
    with run.open(wave.plan) as target:
        target.check()
        if run.break_lock is not None:
            run.break_lock(target)
        if copies:
            run.copy(copies, wave.plan)
        result = deploy(
            wave.plan, wanted, target, secrets=run.secrets, provenance=run.provenance,
            root=run.root, progress=run.progress, say=run.say,
        )  # fmt: skip
    return _deployed(wave, result, copies)


def promote_wave(
    wave: Wave,
    source: list[Release],
    source_env: str,
    source_registry: str | None,
    run: WaveRun,
) -> WaveResult:
    """Promote the source's last healthy release to one wave's cluster: nothing to do when it
    runs those digests with its plan already; else copies into its registry, then a deploy."""
    with run.open(wave.plan) as target:
        target.check()
        history = target.records.releases()
        decided = promotion(source, history, source_env, wave.plan, src_registry=source_registry)
        if decided.nothing_to_do:
            running = releases_.current(history)
            number = running.number if running is not None else None
            return WaveResult(wave.cluster, "nothing-to-do", number)
        if run.break_lock is not None:
            run.break_lock(target)
        if decided.copies:
            run.copy(decided.copies, wave.plan)
        origin = f"promote from {source_env} #{decided.source.number}"
        provenance = Provenance(run.provenance.by, run.provenance.commit, origin)
        result = deploy(
            wave.plan, decided.images, target, secrets=run.secrets, provenance=provenance,
            root=run.root, progress=run.progress, say=run.say,
        )  # fmt: skip
    return _deployed(wave, result, decided.copies)


def rollback_wave(wave: Wave, run: WaveRun, to: int | None = None) -> WaveResult:
    """Roll one wave's cluster back to its healthy release before the current one (or `to`)."""
    with run.open(wave.plan) as target:
        if run.break_lock is not None:
            run.break_lock(target)
        result = rollback(
            target, to=to, provenance=run.provenance, secrets=run.secrets,
            timeout=wave.plan.rollout_timeout, progress=run.progress, say=run.say,
        )  # fmt: skip
    return WaveResult(wave.cluster, "rolled-back", result.release.number, result.seconds)


def resume_wave(wave: Wave, run: WaveRun, *, abort: bool = False) -> WaveResult:
    """Continue (or, with `abort`, roll back) the paused or interrupted canary in one wave's
    cluster, as `deploy --continue` / `--abort` does on one cluster."""
    with run.open(wave.plan) as target:
        target.check()
        if run.break_lock is not None:
            run.break_lock(target)
        if abort:
            aborted = abort_canary(
                wave.plan, target, provenance=run.provenance, secrets=run.secrets,
                progress=run.progress, say=run.say,
            )  # fmt: skip
            return WaveResult(
                wave.cluster, "aborted", aborted.release.number, aborted.seconds,
                reason=aborted.release.reason,
            )  # fmt: skip
        result = continue_canary(
            wave.plan, target, secrets=run.secrets, provenance=run.provenance, root=run.root,
            progress=run.progress, say=run.say,
        )  # fmt: skip
    return _deployed(wave, result, {})
