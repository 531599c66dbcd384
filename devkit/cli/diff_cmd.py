"""`devkit diff ENV1 ENV2`: what differs between two environments' Kubernetes objects;
`devkit diff ENV --live`: what a deploy of ENV would change in its cluster, object by object."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import ContextOption, NamespaceOption, app
from devkit.cli.deploying import JsonOption
from devkit.cli.images import IMAGE_HELP, parse_images
from devkit.cli.loading import blueprint
from devkit.cli.output import err, out, print_json, print_warnings
from devkit.render.version import DEFAULT

if TYPE_CHECKING:
    from devkit.planning.planner import Plan
    from devkit.targets.base import Releases
    from devkit.targets.kubernetes.diff import LiveChange


@app.command("diff")
def diff_command(
    ctx: typer.Context,
    first: Annotated[str, typer.Argument(metavar="ENV1", help="The environment to compare from.")],
    second: Annotated[
        str | None,
        typer.Argument(metavar="[ENV2]", help="The environment to compare to (not with --live)."),
    ] = None,
    live: Annotated[
        bool,
        typer.Option(
            "--live", help="Compare ENV1 with what runs in its cluster (Kubernetes), by dry-run."
        ),
    ] = False,
    images: Annotated[
        Path | None,
        typer.Option(
            "--images",
            metavar="FILE",
            help="With --live: these images (written by `devkit build ENV --push`) instead of "
            "the running release's.",
        ),
    ] = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    kube_version: Annotated[
        str | None,
        typer.Option("--kube-version", metavar="X.Y", help=f"[default: {DEFAULT}]"),
    ] = None,
    image: Annotated[list[str] | None, typer.Option("--image", help=IMAGE_HELP)] = None,
    json: JsonOption = False,
) -> None:
    """Show, object by object, how ENV2's rendered objects differ from ENV1's; or, with
    --live, what deploying ENV1 would change in its cluster.

    \b
    ENV1 ENV2: the namespace and the environment's instance label are left out of the
    comparison (they always differ).
    ENV --live: each object as the API server's dry-run of the apply would leave it, against
    the live one (status and server-managed metadata left out; secret values never shown):
    created, changed (with a unified diff), unchanged, or pruned (applied before, no longer
    rendered). The images are the running release's unless --images is given. Nothing is
    changed. Exits 0 whether or not anything differs.
    """
    from devkit.errors import UserError

    if live:
        if second is not None or kube_version is not None or image:
            raise UserError(
                "--live compares one environment with its cluster; it takes no ENV2, "
                "--kube-version or --image (the cluster's version and --images FILE apply)"
            )
        _live(ctx, first, images, context=context, namespace=namespace, json=json)
        return
    if second is None:
        raise UserError(
            "diff needs two environments, or one with --live",
            details=["e.g. devkit diff staging prod, or devkit diff prod --live"],
        )
    if images is not None or context is not None or namespace is not None:
        raise UserError("--images, --context and --namespace go with --live")
    _renders(ctx, first, second, kube_version, image, json)


def _renders(
    ctx: typer.Context,
    first: str,
    second: str,
    kube_version: str | None,
    image: list[str] | None,
    json: bool,
) -> None:
    from devkit import schemas
    from devkit.planning.planner import plan
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
        _print_diff(change.diff)
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


def _print_diff(text: str) -> None:
    for line in text.splitlines():
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else None
        out().print(line, style=style, markup=False, highlight=False, soft_wrap=True)


def _live(
    ctx: typer.Context,
    env: str,
    images_file: Path | None,
    *,
    context: str | None,
    namespace: str | None,
    json: bool,
) -> None:
    from devkit.cli.deploying import cluster_plan, json_errors, open_target
    from devkit.errors import UserError
    from devkit.project import imagesfile
    from devkit.project.secrets import local_secret_values
    from devkit.targets.base import DiffsLive, require

    with json_errors(json, {"environment": env, "live": True}):
        plan, root, _ = cluster_plan(ctx, env, namespace, also=(DiffsLive,))
        wanted = imagesfile.read(images_file, plan) if images_file is not None else None
        names = plan.secret_names
        try:
            secrets = local_secret_values(names, root)
        except UserError as exc:
            err().print(f"note: the Secret is not compared: {exc.message}", markup=False)
            secrets = {}
        with open_target(plan, context=context) as releases:
            target = require(releases, DiffsLive, plan)
            source = f"images file {images_file}"
            if wanted is None:
                wanted, source = _running_images(releases, plan)
            observed = releases.observe(plan, wanted, secrets)
            stack = releases.prepare(plan, wanted, observed)
            changes = target.live_diff(stack, secret_known=bool(secrets) or not names)
    if json:
        print_json(
            {
                "environment": env,
                "live": True,
                "namespace": target.namespace,
                "images": source,
                "changes": [c.to_dict() for c in changes],
            }
        )
        return
    _print_live(env, target.namespace, source, changes)


def _running_images(target: Releases, plan: Plan) -> tuple[dict[str, str], str]:
    """The images of the release the environment runs; UserError when it has none to offer."""
    from devkit.errors import UserError
    from devkit.records.release import current

    running = current(target.records.releases())
    if running is None:
        raise UserError(
            f'environment "{plan.environment}" runs no release to take the images from',
            details=["pass --images FILE (from `devkit build ENV --push`)"],
        )
    missing = [s.name for s in plan.services if s.name not in running.images]
    if missing:
        raise UserError(
            f"release #{running.number} of {plan.environment} has no image for "
            f"{', '.join(missing)}, which the blueprint now runs",
            details=["pass --images FILE (from `devkit build ENV --push`)"],
        )
    images = {s.name: running.images[s.name] for s in plan.services}
    return images, f"release #{running.number}"


def _print_live(env: str, namespace: str, source: str, changes: list[LiveChange]) -> None:
    for change in changes:
        if change.change == "unchanged":
            continue
        out().print(f"{change.change}: {change.kind}/{change.name}", markup=False, style="bold")
        _print_diff(change.diff)
    counts = {
        kind: sum(c.change == kind for c in changes)
        for kind in ("created", "changed", "pruned", "conflict", "unchanged")
    }
    summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n)
    out().print(
        f"deploying {env} (namespace {namespace}, images from {source}) would change: {summary}",
        markup=False,
    )
