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
    Swarm environment: its services, network, secrets and release records; on Kubernetes:
    every object it applied, its records, and its namespace if devkit created it.
    """
    from devkit.build.engine import connect
    from devkit.targets.docker.target import DockerTarget

    if env is not None and _cluster_down(ctx, env, volumes=volumes, json=json):
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


def _cluster_down(ctx: typer.Context, env: str, *, volumes: bool, json: bool) -> bool:
    """Take a Swarm or Kubernetes environment down; False when `env` is a Docker one."""
    from devkit.cli.deploying import open_target
    from devkit.cli.loading import blueprint
    from devkit.planning.planner import plan

    planned = plan(blueprint(ctx), env)
    if planned.target.kind == "docker":
        return False
    with open_target(planned) as target:
        target.check()
        removed = target.destroy(volumes=volumes)
    if json:
        print_json({"project": planned.project, "environment": env, "removed": removed})
    else:
        counts = ", ".join(f"{len(v)} {k}" for k, v in removed.items())
        err().print(f"removed from {planned.target.kind}: {counts}", markup=False)
    return True
