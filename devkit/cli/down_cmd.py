"""`devkit down`: remove what `up` or `deploy` created for an environment."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ContextOption, EnvOption, JsonOption, NamespaceOption, app
from devkit.cli.loading import target_for
from devkit.cli.output import err, print_json


@app.command("down")
def down_command(
    ctx: typer.Context,
    env: EnvOption = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also remove named volumes (their data is lost).")
    ] = False,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    json: JsonOption = False,
) -> None:
    """Remove the environment's containers and network; named volumes only with --volumes.

    Images stay cached. Running it on a stack that is not up does nothing and succeeds. On a
    Swarm environment: its services, network, secrets and release records; on Kubernetes:
    every object it applied, its records, and its namespace if devkit created it.
    """
    from devkit.targets.base import Destroys

    with target_for(ctx, env, Destroys, context=context, namespace=namespace) as found:
        target, plan, _, _ = found
        removed = target.destroy(volumes=volumes)
    if json:
        print_json({"project": plan.project, "environment": plan.environment, "removed": removed})
        return
    if not any(removed.values()):
        err().print(f"{plan.project}/{plan.environment} is not up: nothing to remove")
        return
    if "containers" in removed:  # a local stack: what it was made of, and what was kept
        kept = "" if volumes else " (named volumes kept; --volumes removes them)"
        err().print(
            f"removed {len(removed['containers'])} containers, {len(removed['networks'])} network"
            f"{', ' + str(len(removed['volumes'])) + ' volumes' if volumes else ''}{kept}",
            markup=False,
        )
        return
    counts = ", ".join(f"{len(v)} {k}" for k, v in removed.items())
    err().print(f"removed from {plan.target.kind}: {counts}", markup=False)
