"""What deploy, promote, rollback and releases share: the cluster environment, its target,
the images to ship, and how a failure is reported to CI (--json on stdout too)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devkit.cli.output import err, print_json

if TYPE_CHECKING:
    from pathlib import Path

    import docker

    from devkit.delivery.deploy import DeployResult, Provenance
    from devkit.delivery.waves import Copies, Wave, WaveResult, WaveRun
    from devkit.planning.images import ImageMap
    from devkit.planning.planner import Plan
    from devkit.targets.base import Releases as DeployTarget

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
BreakLockOption = Annotated[
    bool,
    typer.Option(
        "--break-lock", help="Take the environment's deploy lock even if someone holds it."
    ),
]


ContinueOption = Annotated[
    bool,
    typer.Option(
        "--continue",
        help="Resume the environment's paused (or interrupted) canary from its last completed "
        "step.",
    ),
]
AbortOption = Annotated[
    bool,
    typer.Option(
        "--abort", help="Roll the environment's paused (or interrupted) canary back to stable."
    ),
]
ForceConflictsOption = Annotated[
    bool,
    typer.Option(
        "--force-conflicts",
        help="Kubernetes: take over fields another field manager owns (its change is lost).",
    ),
]


TenantOption = Annotated[
    str | None,
    typer.Option(
        "--tenant", metavar="NAME",
        help="One tenant of the environment; without it, every tenant in the declared order.",
    ),
]  # fmt: skip


def cluster_plan(
    ctx: typer.Context,
    env: str,
    namespace: str | None = None,
    also: tuple[type, ...] = (),
    tenant: str | None = None,
) -> tuple[Plan, Path, ImageMap]:
    """The plan of an environment whose target deploys releases (and has the capabilities in
    `also`), for one of its tenants if given, its root and image map."""
    from devkit.cli.loading import env_plan
    from devkit.targets.base import MissingCapabilityError, Namespaced, Releases
    from devkit.targets.registry import capable

    planned, root, current, loaded = env_plan(ctx, env, namespace, tenant)
    needed = [Releases, *also, *([Namespaced] if namespace is not None else [])]
    for capability in needed:
        able = capable(loaded, capability)
        if planned.environment not in able:
            raise MissingCapabilityError.of(planned, capability, able)
    return planned, root, current.image_map


@contextmanager
def open_target(
    plan: Plan, *, context: str | None = None, force_conflicts: bool = False
) -> Iterator[DeployTarget]:
    """The environment's target, opened, as the release engine uses it."""
    from devkit.targets.base import Releases, require
    from devkit.targets.registry import Options
    from devkit.targets.registry import open_target as open_registered

    chosen = Options(context=context, force_conflicts=force_conflicts)
    with open_registered(plan, chosen) as target:
        yield require(target, Releases, plan)


def tenants_of(plan: Plan, tenant: str | None, namespace: str | None) -> list[str | None]:
    """The tenants a release command runs for, in order: the one asked for, else all of the
    environment's; [None] for an environment without tenants."""
    from devkit.errors import UserError

    if tenant is not None:
        return [tenant]
    if plan.tenants and namespace is not None:
        raise UserError(
            f'environment "{plan.environment}" has tenants, each in a namespace of its own: '
            "give --tenant NAME with --namespace"
        )
    return list(plan.tenants) or [None]


def one_tenant(plan: Plan, tenant: str | None) -> None:
    """Refuse a command about one release history without --tenant in an environment with
    tenants (each has its own)."""
    from devkit.errors import UserError

    if tenant is None and plan.tenants:
        raise UserError(
            f'environment "{plan.environment}" has tenants, each with its own releases: '
            "give --tenant NAME",
            details=[f"its tenants: {', '.join(plan.tenants)}"],
        )


def provenance(root: Path, origin: str) -> Provenance:
    from devkit.delivery.deploy import Provenance
    from devkit.project.provenance import deployer, git_commit

    return Provenance(by=deployer(), commit=git_commit(root), origin=origin)


def registry_of(plan: Plan, doing: str) -> str:
    from devkit.errors import UserError

    registry = getattr(plan.target, "registry", None)
    if not registry:
        raise UserError(
            f'environment "{plan.environment}" has no registry to push to, which {doing} needs',
            details=[
                f"its target is {plan.target.kind}; declare one, e.g. "
                'Swarm(registry="registry.example.com/team")',
                "nothing was built or changed",
            ],
        )
    return str(registry)


def build_and_push(
    client: docker.DockerClient,
    plan: Plan,
    root: Path,
    image_map: ImageMap,
    registry: str,
    *,
    on_line: Callable[[str, str], None],
) -> dict[str, str]:
    """Build the plan's images and push every service's image; service -> digest reference."""
    from devkit.build.publish import build_and_publish

    published = build_and_publish(
        client, plan, root, image_map, selected=None, registry=registry, build_line=on_line
    )
    return published.images


def resume_canary(
    plan: Plan, root: Path, context: str | None, *, abort: bool, break_lock: bool
) -> DeployResult:
    """Continue (or, with `abort`, roll back) the environment's paused or interrupted canary."""
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import abort_canary, continue_canary
    from devkit.project.secrets import local_secret_values

    secrets = local_secret_values(plan.secret_names, root)
    printer = ServicePrinter(s.name for s in plan.services)
    with open_target(plan, context=context) as target:
        target.check()
        if break_lock:
            unlock(target, say)
        if abort:
            return abort_canary(
                plan, target, provenance=provenance(root, "abort"), secrets=secrets,
                progress=printer.step, say=say,
            )  # fmt: skip
        return continue_canary(
            plan, target, secrets=secrets, provenance=provenance(root, "continue"), root=root,
            progress=printer.step, say=say,
        )  # fmt: skip


def resume_waves(
    plan: Plan,
    root: Path,
    waves: tuple[Wave, ...],
    *,
    context: str | None,
    abort: bool,
    break_lock: bool,
    only: bool,
) -> tuple[WaveResult, ...]:
    """`deploy ENV --continue` / `--abort` on several clusters: the canary of the one cluster
    that holds one (of `waves`; `only`: that cluster alone). Continued, the waves after it
    deploy its release's images, copied into their registries; aborted, they do not start."""
    from functools import partial

    from devkit.delivery.canary import unfinished_canary
    from devkit.delivery.waves import (
        WaveResult,
        after_failure_of,
        deploy_wave,
        paused_wave,
        resume_wave,
        rollback_wave,
        rollout_before,
        run_waves,
    )
    from devkit.delivery.waves import registry_of as wave_registry

    histories = []
    for wave in waves:
        with open_target(wave.plan, context=context) as target:
            histories.append((wave, target.records.releases()))
    index = paused_wave(histories, plan.environment)
    paused, history = histories[index]
    release = unfinished_canary(history)
    assert release is not None
    later = () if only else waves[index + 1 :]
    before = () if only else rollout_before(histories[:index], release, wave_registry(paused.plan))
    run = wave_run(
        plan, root, "abort" if abort else "continue", context=context, break_lock=break_lock,
        copy_from=paused.plan,
    )  # fmt: skip
    if abort:
        say(f"cluster {paused.cluster}: aborting the canary of release #{release.number}")
        aborted = resume_wave(paused, run, abort=True)
        return (*(r for _, r in before), aborted,
                *(WaveResult(w.cluster, "not-started") for w in later))  # fmt: skip

    def act(wave: Wave) -> WaveResult:
        if wave is paused:
            return resume_wave(wave, run)
        return deploy_wave(wave, release.images, wave_registry(paused.plan), run)

    return run_waves(
        plan.environment, (paused, *later), act, partial(rollback_wave, run=run),
        after_failure=after_failure_of(plan), say=say, before=before,
    )  # fmt: skip


def unlock(target: DeployTarget, say: Callable[[str], None]) -> None:
    held = target.records.break_lock()
    if held is not None:
        say(f"broke the lock: {held.describe()}")


@contextmanager
def json_errors(enabled: bool, context: dict[str, Any]) -> Iterator[None]:
    """With --json, a failure also prints one JSON document on stdout (CI parses it)."""
    from devkit.errors import DevkitError

    try:
        yield
    except DevkitError as exc:
        if enabled:
            print_json({**context, "ok": False, "error": exc.to_dict()})
        raise


def say(message: str) -> None:
    """A note from the deploy engine, on stderr."""
    err().print(message, markup=False, soft_wrap=True)


def result_line(result: DeployResult, env: str, tenant: str | None = None) -> None:
    """A release that did not fail, on stderr: its URLs and a line (healthy, or paused for
    --continue, or rolled back by --abort)."""
    for name, url in sorted(result.urls.items()):
        err().print(f"  {name}: {url}", markup=False)
    of = f"{env}, tenant {tenant}" if tenant else env
    number, status = result.release.number, result.release.status
    if status == "paused":
        err().print(
            f"[yellow]release #{number} of {of} is paused[/] ({result.release.reason}): "
            "continue with --continue, or roll it back with --abort"
        )
        return
    colour = "green" if status == "healthy" else "yellow"
    err().print(f"[{colour}]release #{number} of {of} is {status}[/] ({result.seconds:.1f}s)")


def show_result(result: DeployResult, env: str, json: bool, extra: dict[str, Any]) -> None:
    """A healthy release: one JSON document with --json, else its URLs and a line on stderr."""
    if json:
        print_json({**extra, "environment": env, "ok": True, **result.to_dict()})
        return
    result_line(result, env, extra.get("tenant"))


def cluster_waves(plan: Plan, cluster: str | None, context: str | None) -> tuple[Wave, ...]:
    """The waves of an environment on several clusters (only `cluster`'s with --cluster), or
    none for one on one cluster; --context then needs a single wave to apply to."""
    from devkit.delivery.waves import waves
    from devkit.errors import UserError

    found = waves(plan, cluster)
    if context is not None and len(found) > 1:
        raise UserError(
            f'environment "{plan.environment}" runs on {len(found)} clusters, each with its own '
            "context: --context needs --cluster NAME",
            details=[f"its clusters: {', '.join(w.cluster for w in found)}", "nothing was changed"],
        )
    return found


def wave_run(
    plan: Plan,
    root: Path,
    origin: str,
    *,
    context: str | None = None,
    force_conflicts: bool = False,
    break_lock: bool = False,
    copy_from: Plan | None = None,
) -> WaveRun:
    """What the waves of one command share: each wave's target opened as the release engine
    uses it, copies into its registry (from where `copy_from`'s registry is reached), the
    secrets, provenance and progress on stderr."""
    from functools import partial

    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.waves import WaveRun
    from devkit.project.secrets import local_secret_values

    printer = ServicePrinter(s.name for s in plan.services)

    def copy(copies: Copies, destination: Plan) -> None:
        copy_images(copies, copy_from or plan, destination, printer.build_line)

    return WaveRun(
        open=partial(open_target, context=context, force_conflicts=force_conflicts),
        copy=copy,
        secrets=local_secret_values(plan.secret_names, root),
        provenance=provenance(root, origin),
        root=root,
        break_lock=partial(unlock, say=say) if break_lock else None,
        progress=printer.step,
        say=say,
    )


def copy_images(
    copies: Copies, source: Plan, destination: Plan, on_line: Callable[[str, str], None]
) -> None:
    """Copy each image into `destination`'s registry by digest, both registries as this
    machine reaches them (`registry_from_host`); nothing is deployed if one fails."""
    from devkit.build.engine import connect
    from devkit.build.push import copy_image
    from devkit.planning.images import from_host

    def mapped(ref: str, plan: Plan) -> str:
        target = plan.target
        return from_host(ref, getattr(target, "registry", None),
                         getattr(target, "registry_from_host", None))  # fmt: skip

    client = connect()
    try:
        for service, (image, copy) in sorted(copies.items()):
            copy_image(
                client, service, mapped(image, source), mapped(copy, destination), on_line=on_line
            )
    finally:
        client.close()


def show_waves(
    results: tuple[WaveResult, ...], env: str, json: bool, extra: dict[str, Any]
) -> None:
    """Every wave done: one JSON document with --json, else a line per cluster on stderr."""
    nothing = all(r.status == "nothing-to-do" for r in results)
    if json:
        print_json(
            {**extra, "environment": env, "ok": True, "nothing_to_do": nothing,
             "waves": [r.to_dict() for r in results]}
        )  # fmt: skip
        return
    for result in results:
        err().print(f"  {result.describe()}", markup=False)
    waiting = ", ".join(r.cluster for r in results if r.status == "not-started")
    paused = next((r.cluster for r in results if r.status == "paused"), None)
    aborted = next((r.cluster for r in results if r.status == "aborted"), None)
    if nothing:
        err().print(f"{env}: every cluster already runs these images: nothing to do")
    elif paused is not None:
        err().print(
            f"[yellow]{env}: the canary in {paused} is paused[/]"
            + (f"; {waiting} wait for it" if waiting else "")
            + f": devkit deploy {env} --continue (or --abort)"
        )
    elif aborted is not None:
        err().print(
            f"[yellow]{env}: the canary in {aborted} was rolled back[/]"
            + (f"; {waiting} did not start" if waiting else "")
        )
    else:
        clusters = ", ".join(r.cluster for r in results)
        err().print(f"[green]{env} is healthy on {clusters}[/]")
