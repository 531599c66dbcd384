"""`devkit diff ENV1 ENV2`: what differs between two environments' Kubernetes objects."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import app
from devkit.cli.images import IMAGE_HELP, parse_images
from devkit.cli.loading import blueprint
from devkit.cli.output import out, print_json, print_warnings
from devkit.render.version import DEFAULT


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="ENV1", help="The environment to compare from.")],
    second: Annotated[str, typer.Argument(metavar="ENV2", help="The environment to compare to.")],
    kube_version: Annotated[
        str | None,
        typer.Option("--kube-version", metavar="X.Y", help=f"[default: {DEFAULT}]"),
    ] = None,
    image: Annotated[list[str] | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Show, object by object, how ENV2's rendered objects differ from ENV1's.

    The namespace and the environment's instance label are left out of the comparison (they
    always differ). Exits 0 whether or not anything differs.
    """
    from devkit import schemas
    from devkit.planner import plan
    from devkit.render.comparison import diff
    from devkit.render.manifest import render

    images = parse_images(image)
    version = str(schemas.resolve(kube_version or DEFAULT))
    loaded = blueprint(ctx)
    manifests = []
    for env in (first, second):
        planned = plan(loaded, env)
        print_warnings(planned.environment, planned.warnings)
        manifests.append(render(planned, images, kube_version=version))
    changes = diff(manifests[0], manifests[1])
    if json:
        print_json({"from": first, "to": second, "changes": [c.to_dict() for c in changes]})
        return
    for change in changes:
        for line in change.diff.splitlines():
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
            out().print(line, style=style, markup=False, highlight=False, soft_wrap=True)
    counts = {
        kind: sum(c.change == kind for c in changes) for kind in ("added", "removed", "changed")
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    out().print(
        f"{len(changes)} objects differ from {first} to {second}: {summary}"
        if changes
        else f"no differences between {first} and {second}",
        markup=False,
    )
