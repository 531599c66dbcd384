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
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", metavar="NAME", help="One tenant of ENV, in its namespace."),
    ] = None,
    access: Annotated[
        bool,
        typer.Option(
            "--access",
            help="Instead: the least-privilege deploy account (ServiceAccount devkit-deployer, "
            "its Role and RoleBinding; namespaced objects only).",
        ),
    ] = False,
    access_admin: Annotated[
        bool,
        typer.Option(
            "--access-admin",
            help="Instead: what an admin creates before that account can deploy (the "
            "namespace and its pod security labels; cluster-scoped).",
        ),
    ] = False,
    promotes_from: Annotated[
        list[str] | None,
        typer.Option(
            "--promotes-from",
            metavar="SRC",
            help="With --access: the account may read SRC's release records (devkit promote "
            "SRC ENV). Repeat per source.",
        ),
    ] = None,
) -> None:
    """Render ENV as Kubernetes objects, validated against the official schemas before writing.

    Without -o, one YAML stream on stdout. Secret values are never rendered: they are read from
    the Secret <project>-secrets in the namespace (see docs/render.md). --access-admin and
    --access render the objects that let deploys run with least privilege (docs/policy.md).
    """
    from devkit.errors import UserError
    from devkit.planning.planner import plan

    images = parse_images(image)
    if output_format is Format.compose and kube_version is not None:
        raise UserError("--kube-version applies to Kubernetes objects, not --format compose")
    if output_format is Format.compose and dashboards is not None:
        raise UserError("--dashboards goes with Kubernetes objects, not --format compose")
    if access or access_admin or promotes_from:
        _render_access(ctx, env, tenant, output, kube_version, access, access_admin,
                       promotes_from or [],
                       compose=output_format is Format.compose, images=bool(images))  # fmt: skip
        return
    loaded = blueprint(ctx)
    planned = plan(loaded, env, tenant)
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


def _render_access(
    ctx: typer.Context, env: str, tenant: str | None, output: Path | None,
    kube_version: str | None, access: bool, admin: bool, sources: list[str], *, compose: bool,
    images: bool,
) -> None:  # fmt: skip
    """`render ENV --access` / `--access-admin`: the deploy account's objects or the admin's."""
    from contextlib import ExitStack

    from devkit import schemas
    from devkit.cli.loading import plan_for, target_for
    from devkit.errors import UserError
    from devkit.render.emit import dump_all
    from devkit.targets.base import GrantsAccess, Namespaced

    if access == admin:
        raise UserError("choose one of --access (the deploy account) and --access-admin "
                        "(what an admin creates first)")  # fmt: skip
    if sources and not access:
        raise UserError("--promotes-from goes with --access")
    if compose or images:
        raise UserError("--access and --access-admin render no workloads: "
                        "--format compose and --image do not apply")  # fmt: skip
    if env in sources:
        raise UserError(f"{env} cannot promote from itself (--promotes-from {env})")
    version = schemas.resolve(kube_version or DEFAULT)
    with ExitStack() as stack:
        target, planned, _, _ = stack.enter_context(
            target_for(ctx, env, GrantsAccess, tenant=tenant)
        )
        namespaces = {}
        for source in dict.fromkeys(sources):
            # A tenant promotes from the same tenant of the source where it has one.
            of = tenant if tenant in plan_for(ctx, source).tenants else None
            found = stack.enter_context(target_for(ctx, source, Namespaced, tenant=of))
            namespaces[source] = found[0].namespace
        made = target.access(namespaces, str(version))
    objects = made.deployer if access else made.admin
    schemas.validate(objects, version)
    what = (
        f"the deploy account {made.account} (namespaced objects)"
        if access
        else f"what an admin creates before {made.account} can deploy (cluster-scoped)"
    )
    header = (
        f"Rendered by devkit from {planned.project} environment {planned.environment}: {what}.\n"
        "Apply as an admin; do not edit: change blueprint.py and render again."
    )
    files = {
        f"{i:02d}-{o['kind'].lower()}-{o['metadata'].get('namespace') or 'cluster'}-"
        f"{o['metadata']['name']}.yaml": dump_all([o], header)
        for i, o in enumerate(objects)
    }
    _emit(files, output, dump_all(objects, header))
    if output is not None:
        err().print(f"wrote {len(objects)} objects to {output}/", markup=False, soft_wrap=True)


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
