"""`devkit validate`: load the blueprint and plan every environment, changing nothing."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import app
from devkit.cli.loading import blueprint
from devkit.cli.output import out, print_json, print_warnings


@app.command("validate")
def validate_command(
    ctx: typer.Context,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check the blueprint: every declaration valid, every environment plans.

    Exits 2 with the file, line and field of the first problem.
    """
    from devkit.planning.planner import plan
    from devkit.source import display_path

    loaded = blueprint(ctx)
    plans = {name: plan(loaded, name) for name in loaded.environments}
    for planned in plans.values():
        print_warnings(planned.environment, planned.warnings)
    if json:
        print_json(
            {
                "valid": True,
                "project": loaded.name,
                "services": sorted(loaded.services),
                "environments": {name: p.hash for name, p in plans.items()},
            }
        )
        return
    where = display_path(str(loaded.file)) if loaded.file else "blueprint"
    services, envs = len(loaded.services), len(plans)
    out().print(
        f"[green]ok[/] {where}: {loaded.name}, {services} service{'' if services == 1 else 's'} "
        f"({', '.join(loaded.services)}), {envs} environment{'' if envs == 1 else 's'} "
        f"({', '.join(plans) or 'none'})",
        soft_wrap=True,
    )
