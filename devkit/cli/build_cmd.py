"""`devkit build ENV`: build the environment's images (what `up` would build), nothing else."""

from __future__ import annotations

from pathlib import Path
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
    images_file: Annotated[
        Path | None,
        typer.Option(
            "--images-file",
            metavar="FILE",
            help="With --push: where to write service -> image@digest for `devkit deploy "
            "--images`. [default: images-ENV.json]",
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", metavar="NAME",
                     help="ENV on several clusters: push to this cluster's registry (default: "
                          "its first cluster's, where deploy pushes)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:  # fmt: skip
    """Build ENV's images: tagged by a hash of their inputs, skipped when that tag exists,
    independent images in parallel. Prints service -> image.

    With --push, every service's image (built ones, and the given images such as postgres,
    as the image map resolves them) goes to ENV's registry, and an images file records each
    by digest: CI builds once, then deploys and promotes those exact images."""
    from devkit.build.builder import build_images, build_requests
    from devkit.build.engine import connect
    from devkit.build.push import publish_images
    from devkit.cli.progress import ServicePrinter
    from devkit.delivery.waves import waves
    from devkit.errors import UserError
    from devkit.planning.planner import plan, select_services
    from devkit.project import imagesfile

    current = settings(ctx)
    loaded = blueprint(ctx)
    planned = plan(loaded, env)
    assert loaded.root is not None
    found = waves(planned, cluster)
    if found:  # on several clusters: the registry of the first (or the chosen) one
        planned = found[0].plan
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
            publish_images(
                client,
                planned,
                built,
                current.image_map,
                registry,
                services=selected,
                on_line=printer.build_line,
            )
            if push and registry
            else {}
        )
    finally:
        client.close()
    written = None
    if pushed:
        written = images_file or Path(f"images-{env}.json")
        imagesfile.write(written, planned, {name: image.ref for name, image in pushed.items()})
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
                "pushed": {name: p.ref for name, p in sorted(pushed.items())},
                "images_file": str(written) if written else None,
            }
        )
        return
    for name, image in sorted(built.items()):
        verb = f"built in {image.seconds:.1f}s" if image.built else "up to date"
        err().print(f"  {name}: {image.tag} ({verb})", markup=False)
    for name, pushed_image in sorted(pushed.items()):
        out().print(f"{name} {pushed_image.ref}", markup=False, soft_wrap=True)
    if written:
        err().print(f"wrote {written}: deploy it with `devkit deploy {env} --images {written}`")
