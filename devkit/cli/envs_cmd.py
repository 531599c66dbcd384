"""`devkit envs`: the environments a blueprint declares."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli import describe
from devkit.cli.app import app
from devkit.cli.loading import blueprint
from devkit.cli.output import out, print_json


@app.command("envs")
def envs_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """List the blueprint's environments: target, profile, replicas and overridden services."""
    from rich.table import Table

    loaded = blueprint(ctx)
    rows = [
        {
            "name": env.name,
            "target": env.target.model_dump(mode="json"),
            "profile": env.profile.model_dump(mode="json") if env.profile else None,
            "replicas": env.replicas,
            "overrides": sorted(env.overrides),
        }
        for env in loaded.environments.values()
    ]
    if json:
        print_json({"project": loaded.name, "environments": rows})
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("environment", "target", "profile", "replicas", "overrides"):
        table.add_column(column)
    for env in loaded.environments.values():
        table.add_row(
            env.name,
            describe.target(env.target),
            describe.profile(env),
            "-" if env.replicas is None else str(env.replicas),
            ", ".join(sorted(env.overrides)) or "-",
        )
    out().print(table)
