"""`devkit render ENV`: the environment's Kubernetes objects (or a compose file), validated."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import app
from devkit.cli.images import IMAGE_HELP, parse_images
from devkit.cli.loading import blueprint
from devkit.cli.output import err, print_warnings
from devkit.render.version import DEFAULT

if TYPE_CHECKING:
    from devkit.planning.planner import Plan

MARKER = "# Rendered by devkit"
"""The first line of every file devkit renders: such files in -o DIR are devkit's to replace."""


class Format(StrEnum):
    yaml = "yaml"
    compose = "compose"


@app.command("render")
def render_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment to render.")],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="DIR", help="Write one file per object into DIR."),
    ] = None,
    kube_version: Annotated[
        str | None,
        typer.Option(
            "--kube-version",
            metavar="X.Y",
            help=f"Kubernetes version to render for and validate against. [default: {DEFAULT}]",
        ),
    ] = None,
    output_format: Annotated[
        Format, typer.Option("--format", help="yaml: Kubernetes objects; compose: a compose file.")
    ] = Format.yaml,
    image: Annotated[list[str] | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    dashboards: Annotated[
        Path | None,
        typer.Option(
            "--dashboards",
            metavar="DIR",
            help="Also write a Grafana dashboard (JSON) per service with metrics into DIR.",
        ),
    ] = None,
) -> None:
    """Render ENV as Kubernetes objects, validated against the official schemas before writing.

    Without -o, one YAML stream on stdout. Secret values are never rendered: they are read from
    the Secret <project>-secrets in the namespace (see docs/render.md).
    """
    from devkit.errors import UserError
    from devkit.planning.planner import plan

    images = parse_images(image)
    if output_format is Format.compose and kube_version is not None:
        raise UserError("--kube-version applies to Kubernetes objects, not --format compose")
    if output_format is Format.compose and dashboards is not None:
        raise UserError("--dashboards goes with Kubernetes objects, not --format compose")
    loaded = blueprint(ctx)
    planned = plan(loaded, env)
    print_warnings(planned.environment, planned.warnings)
    if output_format is Format.compose:
        from devkit.render.composefile import compose_yaml

        where = output or Path.cwd()
        root = loaded.root or Path.cwd()
        context_root = Path(os.path.relpath(root.resolve(), where.resolve())).as_posix()
        text = compose_yaml(planned, images, context_root=context_root)
        _emit({"compose.yaml": text}, output, text)
        return

    from devkit import schemas
    from devkit.render.manifest import render

    version = schemas.resolve(kube_version or DEFAULT)
    manifest = render(planned, images, kube_version=str(version))
    schemas.validate(manifest.objects, version)
    _emit(manifest.files(), output, manifest.to_yaml())
    if dashboards is not None:
        _write_dashboards(planned, manifest.namespace, dashboards)
    if output is not None:
        crds = schemas.crd_kinds(manifest.objects)
        against = f"the Kubernetes {version} schemas" + (
            f" and their CRDs' ({', '.join(crds)})" if crds else ""
        )
        err().print(
            f"wrote {len(manifest.objects)} objects to {output}/ (valid against {against})",
            markup=False,
            soft_wrap=True,
        )


def _emit(files: dict[str, str], output: Path | None, stream: str) -> None:
    """The stream on stdout, or the files into `output`, replacing devkit's stale ones there."""
    import sys

    if output is None:
        sys.stdout.write(stream)
        return
    from devkit.errors import UserError

    if output.exists() and not output.is_dir():
        raise UserError(f"{output} exists and is not a directory")
    output.mkdir(parents=True, exist_ok=True)
    for stale in sorted(output.glob("*.yaml")):
        if stale.name not in files and _rendered_by_devkit(stale):
            stale.unlink()
    for name, text in files.items():
        (output / name).write_text(text)


def _write_dashboards(planned: Plan, namespace: str, folder: Path) -> None:
    from devkit.errors import UserError
    from devkit.render import dashboards

    boards = dashboards.dashboards(planned, namespace)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"{folder} exists and is not a directory")
    folder.mkdir(parents=True, exist_ok=True)
    for name, board in boards.items():
        (folder / dashboards.file_name(planned, name)).write_text(dashboards.to_json(board))
    said = (
        f"wrote {len(boards)} Grafana dashboards to {folder}/ ({', '.join(boards)})"
        if boards
        else "no dashboards: no service of this environment declares metrics"
    )
    err().print(said, markup=False, soft_wrap=True)


def _rendered_by_devkit(path: Path) -> bool:
    with path.open() as handle:
        return handle.readline().startswith(MARKER)
