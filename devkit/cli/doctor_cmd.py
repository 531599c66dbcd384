"""`devkit doctor`: check what the dev loop needs on this machine, and say what to do."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import EnvOption, app
from devkit.cli.loading import blueprint, settings
from devkit.cli.output import out, print_json

_MARKS = {"ok": "[green]ok  [/]", "warn": "[yellow]warn[/]", "fail": "[bold red]FAIL[/]"}


@app.command("doctor")
def doctor_command(
    ctx: typer.Context,
    env: EnvOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check the engine, file watching, clusters, registries, ports and clocks the blueprint needs.

    \b
    engine       reachable, version, storage driver, clock against this machine's
    watching     a file written under the project, timed to its event; inotify watches
                 against the directories the sync rules and builds watch
    contexts     each kubeconfig context the blueprint names: present, its API answering
    registries   each registry the blueprint pushes to: answering, credentials present
    ports        host ports ENV pins on 127.0.0.1: free (or held by ENV's own stack)

    Each check is ok, warn or FAIL with what to do. Exits 1 when something blocks the dev
    loop of ENV, 0 otherwise.
    """
    from devkit.devloop.machine import gather
    from devkit.planning.planner import plan
    from devkit.project.doctor import diagnose, needs

    loaded = blueprint(ctx)
    name = env or settings(ctx).default_env
    selected = plan(loaded, name)
    assert loaded.root is not None
    wanted = needs(loaded, selected)
    diagnosis = diagnose(wanted, gather(selected, loaded.root, wanted))
    if json:
        print_json({"project": loaded.name, **diagnosis.to_dict()})
    else:
        width = max(len(c.name) for c in diagnosis.checks)
        for check in diagnosis.checks:
            out().print(f"{_MARKS[check.status]} ", end="")
            out().print(f"{check.name.ljust(width)}  {check.summary}", markup=False, soft_wrap=True)
            if check.fix:
                out().print(f"      {' ' * width}  -> {check.fix}", markup=False, soft_wrap=True)
        failed = sum(c.status == "fail" for c in diagnosis.checks)
        warned = sum(c.status == "warn" for c in diagnosis.checks)
        verdict = (
            f"{failed} problem{'s' if failed != 1 else ''} block{'' if failed != 1 else 's'} "
            f'the dev loop of "{name}"'
            if failed
            else f'nothing blocks the dev loop of "{name}"'
        )
        extra = f" ({warned} warning{'s' if warned != 1 else ''})" if warned else ""
        out().print(f"\n{verdict}{extra}", markup=False)
    if diagnosis.blocked:
        raise typer.Exit(1)
