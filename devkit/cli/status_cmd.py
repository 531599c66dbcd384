"""`devkit status`: what runs for an environment, as the engine reports it."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import EnvOption, app
from devkit.cli.loading import local_plan
from devkit.cli.output import err, out, print_json


@app.command("status")
def status_command(
    ctx: typer.Context,
    env: EnvOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Each service: state, health, ports published on 127.0.0.1, image."""
    from rich.table import Table

    from devkit.build.engine import connect
    from devkit.devloop.timings import recent
    from devkit.targets.docker.target import DockerTarget

    plan, _, _ = local_plan(ctx, env)
    rows = DockerTarget(connect(), plan.project, plan.environment).status()
    syncs = recent(plan.project, plan.environment)[-5:]
    if json:
        print_json(
            {"project": plan.project, "environment": plan.environment,
             "services": [row.to_dict() for row in rows], "recent_syncs": syncs}
        )  # fmt: skip
        return
    if not rows:
        err().print(f"{plan.project}/{plan.environment} is not up (`devkit up` starts it)")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("service", "state", "health", "ports", "image"):
        table.add_column(column)
    for row in rows:
        ports = ", ".join(f"{host}->{port}" for port, host in row.ports.items()) or "-"
        table.add_row(row.service, row.state, row.health, ports, row.image)
    out().print(table)
    if syncs:
        out().print("\nrecent syncs (save to answering):")
        for sync in syncs:
            took = f"{sync['seconds']:.2f}s" if sync.get("seconds") is not None else "not answering"
            files = f"{sync['files']} file{'' if sync['files'] == 1 else 's'}"
            out().print(f"  {sync['service']}: {files}, {sync['action']}, {took}", markup=False)
