"""`devkit down`: remove what `up` created for an environment."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import EnvOption, app
from devkit.cli.loading import local_plan
from devkit.cli.output import err, print_json


@app.command("down")
def down_command(
    ctx: typer.Context,
    env: EnvOption = None,
    volumes: Annotated[
        bool, typer.Option("--volumes", help="Also remove named volumes (their data is lost).")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Remove the environment's containers and network; named volumes only with --volumes.

    Images stay cached. Running it on a stack that is not up does nothing and succeeds. On a
    Swarm environment: its services, network, secrets and release records.
    """
    from devkit.engine import connect
    from devkit.targets.docker import DockerTarget

    if env is not None and _swarm_down(ctx, env, volumes=volumes, json=json):
        return
    plan, _, _ = local_plan(ctx, env)
    target = DockerTarget(connect(), plan.project, plan.environment)
    removed = target.destroy(volumes=volumes)
    if json:
        print_json({"project": plan.project, "environment": plan.environment, "removed": removed})
        return
    if not any(removed.values()):
        err().print(f"{plan.project}/{plan.environment} is not up: nothing to remove")
        return
    kept = "" if volumes else " (named volumes kept; --volumes removes them)"
    err().print(
        f"removed {len(removed['containers'])} containers, {len(removed['networks'])} network"
        f"{', ' + str(len(removed['volumes'])) + ' volumes' if volumes else ''}{kept}",
        markup=False,
    )


def _swarm_down(ctx: typer.Context, env: str, *, volumes: bool, json: bool) -> bool:
    """Take a Swarm environment down; False when `env` is not one."""
    from devkit.cli.loading import blueprint
    from devkit.engine import connect
    from devkit.planner import plan
    from devkit.targets.swarm import SwarmTarget

    planned = plan(blueprint(ctx), env)
    if planned.target.kind != "swarm":
        return False
    client = connect()
    try:
        target = SwarmTarget(client, planned.project, planned.environment)
        target.check()
        removed = target.destroy(volumes=volumes)
    finally:
        client.close()
    if json:
        print_json({"project": planned.project, "environment": env, "removed": removed})
    else:
        counts = ", ".join(f"{len(v)} {k}" for k, v in removed.items())
        err().print(f"removed from the swarm: {counts}", markup=False)
    return True
