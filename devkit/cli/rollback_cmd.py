"""`devkit rollback ENV`: put an earlier healthy release back, exactly as it ran."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import ClusterOption, ContextOption, NamespaceOption, app
from devkit.cli.deploying import (
    BreakLockOption,
    ForceConflictsOption,
    JsonOption,
    TenantOption,
    cluster_plan,
    json_errors,
    say,
    show_result,
)

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.delivery.waves import Wave
    from devkit.planning.planner import Plan


@app.command("rollback")
def rollback_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment to roll back.")],
    to: Annotated[
        int | None,
        typer.Option("--to", metavar="RELEASE", help="The release number to restore."),
    ] = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    force_conflicts: ForceConflictsOption = False,
    break_lock: BreakLockOption = False,
    cluster: ClusterOption = None,
    tenant: TenantOption = None,
    json: JsonOption = False,
) -> None:
    """Roll ENV back to the healthy release before its current one (or --to RELEASE).

    The release's recorded spec (images by digest, configuration) is applied as it was, even
    if the blueprint changed since, and recorded as a new release. Exit 3 when there is no such
    release or the environment is locked.

    \b
    An environment on several clusters is rolled back cluster by cluster in its declared
    order (--cluster: only one; --to needs it, as each cluster numbers its own releases); the
    first that fails stops it.
    """
    from devkit.cli.deploying import cluster_waves, one_tenant, open_target, provenance, unlock
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import rollback
    from devkit.project.secrets import local_secret_values

    with json_errors(json, {"environment": env}):
        plan, root, _ = cluster_plan(ctx, env, namespace, tenant=tenant)
        one_tenant(plan, tenant)
        waves = cluster_waves(plan, cluster, context)
        if waves:
            _rollback_waves(
                plan,
                root,
                waves,
                to,
                json=json,
                context=context,
                force_conflicts=force_conflicts,
                break_lock=break_lock,
            )
            return
        secrets = local_secret_values(plan.secret_names, root)
        with open_target(plan, context=context, force_conflicts=force_conflicts) as target:
            if break_lock:
                unlock(target, say)
            printer = ServicePrinter(s.name for s in plan.services)
            result = rollback(
                target, to=to, provenance=provenance(root, "rollback"), secrets=secrets,
                timeout=plan.rollout_timeout, progress=printer.step, say=say,
            )  # fmt: skip
    show_result(result, env, json, {})


def _rollback_waves(
    plan: Plan,
    root: Path,
    waves: tuple[Wave, ...],
    to: int | None,
    *,
    json: bool,
    context: str | None,
    force_conflicts: bool,
    break_lock: bool,
) -> None:
    from functools import partial

    from devkit.cli.deploying import show_waves, wave_run
    from devkit.delivery.waves import rollback_wave, run_waves
    from devkit.errors import UserError

    if to is not None and len(waves) > 1:
        raise UserError(
            f'environment "{plan.environment}" runs on {len(waves)} clusters, each numbering its '
            "own releases: --to needs --cluster NAME",
            details=[f"its clusters: {', '.join(w.cluster for w in waves)}", "nothing was changed"],
        )
    run = wave_run(
        plan, root, "rollback", context=context, force_conflicts=force_conflicts,
        break_lock=break_lock,
    )  # fmt: skip
    act = partial(rollback_wave, run=run, to=to)
    results = run_waves(plan.environment, waves, act, act, after_failure="keep", say=say)
    show_waves(results, plan.environment, json, {})
