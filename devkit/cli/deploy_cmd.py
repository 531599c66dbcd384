"""`devkit deploy ENV`: ship a release to a cluster environment, verify it, roll back on failure."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from devkit.cli.app import ClusterOption, ContextOption, NamespaceOption, app
from devkit.cli.deploying import (
    AbortOption,
    BreakLockOption,
    ContinueOption,
    ForceConflictsOption,
    JsonOption,
    TenantOption,
    cluster_plan,
    json_errors,
    say,
    show_result,
)

if TYPE_CHECKING:
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import DeployResult
    from devkit.delivery.waves import Wave
    from devkit.planning.images import ImageMap
    from devkit.planning.planner import Plan


@app.command("deploy")
def deploy_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment to deploy.")],
    images: Annotated[
        Path | None,
        typer.Option(
            "--images",
            metavar="FILE",
            help="Deploy these images (written by `devkit build ENV --push`) instead of "
            "building and pushing now.",
        ),
    ] = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    force_conflicts: ForceConflictsOption = False,
    break_lock: BreakLockOption = False,
    resume: ContinueOption = False,
    abort: AbortOption = False,
    cluster: ClusterOption = None,
    tenant: TenantOption = None,
    json: JsonOption = False,
) -> None:
    """Deploy ENV: build and push its images (or take --images), run its pre-deploy jobs, apply
    the images, wait for the rollout, run its verify step, and record the release in the target.

    \b
    A pre-deploy job that fails stops the deploy with nothing changed (exit 1, its log lines).
    A release that does not become healthy in time, or fails verify, is rolled back to the
    previous healthy release, and the command exits 1 with the reason and the failing task's
    last log lines. Exit 3: the environment is locked by another deploy, or (Kubernetes) a
    field devkit applies is owned by another manager. `devkit releases ENV` shows the history.

    \b
    An environment on several clusters is deployed wave by wave in its declared order
    (--cluster: only one): the images are pushed to the first cluster's registry and copied by
    digest into each other one's; a wave that fails is rolled back and stops the deploy, and
    the clusters done before it keep the new release or are rolled back too (after_failure).
    An environment with tenants deploys each in turn (or the one --tenant names), the same
    images to each, and stops at the first that fails.

    \b
    With a canary declared, the new version of its service first runs beside the stable one
    and takes each step's share of the traffic, judged by its checks; a failed check aborts it
    (exit 1). A manual pause ends the command with status paused (exit 0): --continue resumes
    it, --abort rolls it back. On several clusters a paused canary holds the waves after it:
    --continue finds the cluster that holds it (or takes --cluster), resumes it, then deploys
    its release to the waves after it; --abort rolls that cluster back and starts no other.
    """
    from devkit.cli.deploying import cluster_waves, result_line, tenants_of
    from devkit.cli.output import print_json
    from devkit.cli.progress import ServicePrinter
    from devkit.project import imagesfile

    if resume or abort:
        _resume(ctx, env, context, namespace, tenant=tenant, break_lock=break_lock, abort=abort,
                json=json, cluster=cluster)  # fmt: skip
        return
    options = _Options(context, force_conflicts, break_lock)
    with json_errors(json, {"environment": env}):
        plan, root, image_map = cluster_plan(ctx, env, namespace, tenant=tenant)
        wanted = imagesfile.read(images, plan) if images is not None else None
        waves = cluster_waves(plan, cluster, context)
        if waves:
            _deploy_waves(
                plan,
                root,
                image_map,
                waves,
                wanted,
                ServicePrinter(s.name for s in plan.services),
                json=json,
                context=context,
                force_conflicts=force_conflicts,
                break_lock=break_lock,
            )
            return
        chosen = tenants_of(plan, tenant, namespace)
    done: list[dict[str, Any]] = []
    about: dict[str, Any] = {"environment": env}
    for name in chosen:
        if name is not None:
            about = {"environment": env, "tenant": name, "done": [d["tenant"] for d in done]}
        with json_errors(json, about):
            into = plan if name == tenant else cluster_plan(ctx, env, tenant=name)[0]
            result, wanted = _deploy_one(into, root, image_map, wanted, options)
        if name is None or tenant is not None:  # one release: the document it always was
            show_result(result, env, json, {"tenant": name} if name else {})
            return
        done.append({"tenant": name, **result.to_dict()})
        if not json:
            result_line(result, env, name)
    if json:
        print_json({"environment": env, "ok": True, "tenants": done})


def _resume(
    ctx: typer.Context, env: str, context: str | None, namespace: str | None, *,
    tenant: str | None, break_lock: bool, abort: bool, json: bool, cluster: str | None,
) -> None:  # fmt: skip
    """`deploy ENV --continue` or `--abort`: the paused (or interrupted) canary of ENV; on
    several clusters, the one cluster's that holds it (or --cluster's), then the waves after
    it with that release's images."""
    from devkit.cli.deploying import cluster_waves, resume_canary, resume_waves, show_waves

    with json_errors(json, {"environment": env}):
        plan, root, _ = cluster_plan(ctx, env, namespace, tenant=tenant)
        waves = cluster_waves(plan, cluster, context)
        if waves:
            results = resume_waves(
                plan, root, waves, context=context, abort=abort, break_lock=break_lock,
                only=cluster is not None,
            )  # fmt: skip
        else:
            result = resume_canary(plan, root, context, abort=abort, break_lock=break_lock)
    if waves:
        show_waves(results, env, json, {})
        return
    show_result(result, env, json, {"tenant": tenant} if tenant else {})


@dataclass(frozen=True)
class _Options:
    context: str | None
    force_conflicts: bool
    break_lock: bool


def _deploy_one(
    plan: Plan,
    root: Path,
    image_map: ImageMap,
    wanted: dict[str, str] | None,
    options: _Options,
) -> tuple[DeployResult, dict[str, str]]:
    """Deploy one release of `plan` (building and pushing its images first unless `wanted`
    names them); the result and the images, which the next tenant's release reuses."""
    from devkit.build.engine import connect
    from devkit.cli.deploying import build_and_push, open_target, provenance, registry_of, unlock
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import deploy
    from devkit.project.secrets import local_secret_values

    printer = ServicePrinter(s.name for s in plan.services)
    registry = registry_of(plan, "a deploy without --images") if wanted is None else ""
    secrets = local_secret_values(plan.secret_names, root)
    context, force = options.context, options.force_conflicts
    with open_target(plan, context=context, force_conflicts=force) as target:
        target.check()
        if options.break_lock:
            unlock(target, say)
        if wanted is None:
            client = connect()
            try:
                wanted = build_and_push(
                    client, plan, root, image_map, registry, on_line=printer.build_line
                )
            finally:
                client.close()
        result = deploy(
            plan, wanted, target, secrets=secrets, provenance=provenance(root, "deploy"),
            root=root, progress=printer.step, say=say,
        )  # fmt: skip
    return result, wanted


def _deploy_waves(
    plan: Plan,
    root: Path,
    image_map: ImageMap,
    waves: tuple[Wave, ...],
    wanted: dict[str, str] | None,
    printer: ServicePrinter,
    *,
    json: bool,
    context: str | None,
    force_conflicts: bool,
    break_lock: bool,
) -> None:
    """Deploy to each cluster in turn: built and pushed once (to the first cluster's registry,
    or taken from --images), copied by digest into each other cluster's registry."""
    from functools import partial

    from devkit.build.engine import connect
    from devkit.cli.deploying import build_and_push, registry_of, show_waves, wave_run
    from devkit.delivery.waves import (
        after_failure_of,
        deploy_wave,
        images_home,
        rollback_wave,
        run_waves,
    )
    from devkit.delivery.waves import registry_of as wave_registry
    from devkit.delivery.waves import waves as every_wave

    # the images come from the first cluster's registry (pushed there now), or, given by
    # digest, from the cluster's whose registry holds them (--cluster us of images in eu's)
    home = images_home(every_wave(plan), wanted) if wanted is not None else None
    first = (home or waves[0]).plan
    if wanted is None:
        client = connect()
        try:
            wanted = build_and_push(
                client, first, root, image_map, registry_of(first, "a deploy without --images"),
                on_line=printer.build_line,
            )  # fmt: skip
        finally:
            client.close()
    run = wave_run(
        plan, root, "deploy", context=context, force_conflicts=force_conflicts,
        break_lock=break_lock, copy_from=first,
    )  # fmt: skip
    act = partial(deploy_wave, images=wanted, source_registry=wave_registry(first), run=run)
    results = run_waves(
        plan.environment, waves, act, partial(rollback_wave, run=run),
        after_failure=after_failure_of(plan), say=say,
    )  # fmt: skip
    show_waves(results, plan.environment, json, {})
