"""`devkit build ENV`: build the environment's images (what `up` would build), nothing else."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import ServicesArgument, app
from devkit.cli.loading import blueprint, settings
from devkit.cli.output import err, out, print_json


@app.command("build")
def build_command(
    ctx: typer.Context,
    env: Annotated[
        str, typer.Argument(metavar="ENV", help="The environment whose images to build.")
    ],
    services: ServicesArgument = None,
    push: Annotated[
        bool, typer.Option("--push", help="Push them to ENV's registry; print digest references.")
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Build ENV's images: tagged by a hash of their inputs, skipped when that tag exists,
    independent images in parallel. Prints service -> image (with --push: image@digest)."""
    from devkit.build.builder import build_images, build_requests
    from devkit.build.push import push_images
    from devkit.cli.progress import ServicePrinter
    from devkit.engine import connect
    from devkit.errors import UserError
    from devkit.planner import plan, select_services

    current = settings(ctx)
    loaded = blueprint(ctx)
    planned = plan(loaded, env)
    assert loaded.root is not None
    selected = select_services(planned, services or [])
    registry = getattr(planned.target, "registry", None)
    if push and not registry:
        raise UserError(
            f'environment "{env}" has no registry to push to',
            details=[
                f"its target is {planned.target.kind}; declare one, e.g. "
                'Kubernetes(context="staging", registry="registry.example.com/team")',
                "nothing was built",
            ],
        )
    printer = ServicePrinter(s.name for s in planned.services)
    client = connect()
    try:
        requests = build_requests(client, planned, loaded.root, current.image_map, selected)
        built = build_images(client, requests, on_line=printer.build_line, client_factory=connect)
        pushed = (
            push_images(client, built, registry, on_line=printer.build_line)
            if push and registry
            else {}
        )
    finally:
        client.close()
    if json:
        print_json(
            {
                "environment": planned.environment,
                "images": {
                    name: {
                        "image": image.tag,
                        "id": image.id,
                        "built": image.built,
                        **({"pushed": pushed[name].ref} if name in pushed else {}),
                    }
                    for name, image in sorted(built.items())
                },
            }
        )
        return
    for name, image in sorted(built.items()):
        verb = f"built in {image.seconds:.1f}s" if image.built else "up to date"
        err().print(f"  {name}: {image.tag} ({verb})", markup=False)
        if name in pushed:
            out().print(f"{name} {pushed[name].ref}", markup=False, soft_wrap=True)
