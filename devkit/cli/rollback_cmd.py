"""`devkit rollback ENV`: put an earlier healthy release back, exactly as it ran."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ContextOption, NamespaceOption, app
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
    tenant: TenantOption = None,
    json: JsonOption = False,
) -> None:
    """Roll ENV back to the healthy release before its current one (or --to RELEASE).

    The release's recorded spec (images by digest, configuration) is applied as it was, even
    if the blueprint changed since, and recorded as a new release. Exit 3 when there is no such
    release or the environment is locked.
    """
    from devkit.cli.deploying import one_tenant, open_target, provenance, unlock
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.deploy import rollback
    from devkit.project.secrets import local_secret_values

    with json_errors(json, {"environment": env}):
        plan, root, _ = cluster_plan(ctx, env, namespace, tenant=tenant)
        one_tenant(plan, tenant)
        secrets = local_secret_values({n for s in plan.services for n in s.secrets}, root)
        with open_target(plan, context=context, force_conflicts=force_conflicts) as target:
            if break_lock:
                unlock(target, say)
            printer = ServicePrinter(s.name for s in plan.services)
            result = rollback(
                target, to=to, provenance=provenance(root, "rollback"), secrets=secrets,
                timeout=plan.rollout_timeout, progress=printer.step, say=say,
            )  # fmt: skip
    show_result(result, env, json, {})
