"""`devkit deploy ENV`: ship a release to a cluster environment, verify it, roll back on failure."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from devkit.cli.app import ContextOption, NamespaceOption, app
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
    An environment with tenants deploys each in turn (or the one --tenant names), the same
    images to each, and stops at the first that fails.

    \b
    With a canary declared, the new version of its service first runs beside the stable one
    and takes each step's share of the traffic, judged by its checks; a failed check aborts it
    (exit 1). A manual pause ends the command with status paused (exit 0): --continue resumes
    it, --abort rolls it back.
    """
    from devkit.build.engine import connect
    from devkit.cli.deploying import (
        build_and_push,
        open_target,
        provenance,
        registry_of,
        result_line,
        tenants_of,
        unlock,
    )  # fmt: skip
    from devkit.cli.output import print_json
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import deploy
    from devkit.project import imagesfile
    from devkit.project.secrets import local_secret_values

    if resume or abort:
        _resume(ctx, env, context, namespace, tenant=tenant, break_lock=break_lock, abort=abort,
                json=json)  # fmt: skip
        return
    about: dict[str, Any] = {"environment": env}
    with json_errors(json, about):
        base, root, image_map = cluster_plan(ctx, env, namespace, tenant=tenant)
        chosen = tenants_of(base, tenant, namespace)
        wanted = imagesfile.read(images, base) if images is not None else None
    done: list[dict[str, Any]] = []
    for name in chosen:
        if name is not None:
            about = {"environment": env, "tenant": name, "done": [d["tenant"] for d in done]}
        with json_errors(json, about):
            plan = base if name == tenant else cluster_plan(ctx, env, namespace, tenant=name)[0]
            printer = ServicePrinter(s.name for s in plan.services)
            registry = registry_of(plan, "a deploy without --images") if wanted is None else ""
            secrets = local_secret_values({n for s in plan.services for n in s.secrets}, root)
            with open_target(plan, context=context, force_conflicts=force_conflicts) as target:
                target.check()
                if break_lock:
                    unlock(target, say)
                if wanted is None:  # built and pushed once: every tenant runs the same images
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
    tenant: str | None, break_lock: bool, abort: bool, json: bool,
) -> None:  # fmt: skip
    """`deploy ENV --continue` or `--abort`: the paused (or interrupted) canary of ENV."""
    from devkit.cli.deploying import resume_canary

    with json_errors(json, {"environment": env}):
        plan, root, _ = cluster_plan(ctx, env, namespace, tenant=tenant)
        result = resume_canary(plan, root, context, abort=abort, break_lock=break_lock)
    show_result(result, env, json, {"tenant": tenant} if tenant else {})
