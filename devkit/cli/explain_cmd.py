"""`devkit explain PATH...`: what a save of each path would do in the dev loop, and why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devkit.cli.app import EnvOption, app
from devkit.cli.loading import blueprint, settings
from devkit.cli.output import err, out, print_json


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH", help="Files or folders, as you save them.", show_default=False
        ),
    ],
    env: EnvOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Say what saving each PATH would do in ENV's dev loop, and why.

    For each path and service: the sync rule that matches it and where the file goes in the
    container, then what follows (restart, a command, nothing); or a rebuild, because it is an
    input of the service's image; or nothing, with the pattern that excluded it and where that
    pattern is written (.gitignore, .dockerignore, the rule's ignore=, devkit's or the file
    watcher's defaults). Nothing is synced or changed.
    """
    from devkit.devloop.explain import Explainer
    from devkit.planning.planner import plan
    from devkit.targets.base import SyncsFiles
    from devkit.targets.registry import capable

    loaded = blueprint(ctx)
    name = env or settings(ctx).default_env
    planned = plan(loaded, name)
    assert loaded.root is not None
    explainer = Explainer(planned, loaded.root)
    if name not in capable(loaded, SyncsFiles):
        err().print(
            f'note: environment "{name}" runs on {planned.target.kind}, which does not live-sync '
            "files: only rebuilds apply there",
            markup=False,
            soft_wrap=True,
        )
    explanations = [explainer.explain(Path.cwd().joinpath(p).resolve()) for p in paths]
    if json:
        print_json(
            {
                "project": planned.project,
                "environment": planned.environment,
                "paths": [e.to_dict() for e in explanations],
            }
        )
        return
    for explanation in explanations:
        out().print(f"[bold]{explanation.path}[/]", soft_wrap=True)
        width = max(len(e.service or "-") for e in explanation.effects)
        for effect in explanation.effects:
            label = {"sync": "sync", "rebuild": "rebuild", "nothing": "nothing"}[effect.action]
            out().print(
                f"  {(effect.service or '-').ljust(width)}  {label}: {effect.text}",
                markup=False,
                soft_wrap=True,
            )
