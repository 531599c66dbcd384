"""`devkit init`: scaffold a working blueprint.py for a repo with Dockerfiles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from devkit.cli.app import app
from devkit.cli.output import err, out, print_json


@app.command("init")
def init_command(
    directory: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="The repo to scaffold (default: the current directory)."
        ),
    ] = Path(),
    name: Annotated[
        str | None, typer.Option("--name", help="Project name [default: the directory's name].")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing blueprint.py.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Write blueprint.py with one service per Dockerfile found, then check that it loads.

    Ports come from the Dockerfiles' EXPOSE lines; environments local (Docker), staging and prod
    (Kubernetes) are declared for you to adjust.
    """
    from devkit.errors import UserError
    from devkit.project.load import load_blueprint
    from devkit.project.scaffold import infer_services, render_blueprint

    root = directory.resolve()
    if not root.is_dir():
        raise UserError(f"{directory} is not a directory")
    target = root / "blueprint.py"
    if target.exists() and not force:
        raise UserError(
            f"{target} already exists; nothing was written",
            details=["pass --force to overwrite it"],
        )
    services = infer_services(root)
    text = render_blueprint(name or root.name, services)
    previous = target.read_bytes() if target.exists() else None
    target.write_text(text)
    try:
        load_blueprint(target)
    except Exception:
        if previous is None:
            target.unlink()
        else:
            target.write_bytes(previous)
        raise
    if json:
        print_json({"file": str(target), "services": [s.name for s in services]})
        return
    err().print(f"wrote {target}", markup=False)
    for service in services:
        ports = ", ".join(f"{n} {p}" for n, p in service.ports) or "no ports"
        out().print(f"  {service.name}: build {service.context or '.'} ({ports})", markup=False)
    out().print("next: `devkit validate`, then `devkit plan local`")
