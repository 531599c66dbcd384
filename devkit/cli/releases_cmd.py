"""`devkit releases ENV`: the release history an environment's target records."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ContextOption, NamespaceOption, app
from devkit.cli.deploying import JsonOption, cluster_plan
from devkit.cli.output import out, print_json


@app.command("releases")
def releases_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment.")],
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    json: JsonOption = False,
) -> None:
    """List ENV's releases, newest first: outcome, origin, commit, who, when, and the lock."""
    from rich.table import Table

    from devkit.cli.deploying import open_target
    from devkit.records.release import current

    plan, _, _ = cluster_plan(ctx, env, namespace)
    with open_target(plan, context=context) as target:
        target.check()
        history = target.records.releases()
        lock = target.records.holder()
    running = current(history)
    if json:
        print_json(
            {
                "environment": env,
                "current": running.number if running else None,
                "releases": [r.summary() for r in reversed(history)],
                "lock": lock.__dict__ if lock else None,
            }
        )
        return
    if not history:
        out().print(f"{env} has no releases yet; `devkit deploy {env}` makes the first")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("#", "status", "origin", "commit", "by", "created", "reason"):
        table.add_column(column, overflow="fold")
    for r in reversed(history):
        mark = " *" if running and r.number == running.number else ""
        table.add_row(
            f"{r.number}{mark}", r.status, r.origin, (r.commit or "-")[:12], r.by, r.created,
            r.reason or "",
        )  # fmt: skip
    out().print(table)
    out().print("* the release that runs", style="dim")
    if lock:
        out().print(f"locked: {lock.describe()}", markup=False)
