"""`devkit cluster up|down ENV`: the kind cluster a Kind environment names."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import app
from devkit.cli.output import err, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.model.targets import Kind

cluster_app = typer.Typer(
    name="cluster",
    help="Create or delete the kind cluster a Kind environment names.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(cluster_app)

EnvArgument = Annotated[str, typer.Argument(metavar="ENV", help="A Kind environment.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def _kind_env(ctx: typer.Context, env: str) -> tuple[Kind, Path]:
    from devkit.cli.loading import blueprint
    from devkit.errors import UserError

    loaded = blueprint(ctx)
    environment = loaded.environments.get(env)
    if environment is None:
        from devkit.errors import UnknownEnvironmentError

        raise UnknownEnvironmentError(env, list(loaded.environments))
    if environment.target.kind != "kind":
        kinds = [n for n, e in loaded.environments.items() if e.target.kind == "kind"]
        raise UserError(
            f'environment "{env}" runs on {environment.target.kind}, not on a kind cluster',
            details=[f"Kind environments: {', '.join(kinds) or '(none)'}"],
        )
    assert loaded.root is not None
    return environment.target, loaded.root


@cluster_app.command("up")
def cluster_up(ctx: typer.Context, env: EnvArgument, json: JsonOption = False) -> None:
    """Create ENV's kind cluster (its node image and kind config from the blueprint), or reuse
    it when it exists and its API server answers. Its context is `kind-<cluster>`."""
    from devkit.errors import UserError
    from devkit.targets.kubernetes import kind
    from devkit.targets.kubernetes.api import KubeApi, connect_context

    target, root = _kind_env(ctx, env)
    began = time.monotonic()
    config = root / target.config if target.config else None
    if config is not None and not config.is_file():
        raise UserError(f"kind config {config} does not exist (Kind(config=...) in blueprint.py)")
    created = target.cluster not in kind.clusters()
    if created:
        err().print(f"creating kind cluster {target.cluster}…")
        kind.create(target.cluster, node_image=target.node_image, config=config)
    KubeApi(connect_context(f"kind-{target.cluster}")).close()  # it answers
    seconds = round(time.monotonic() - began, 1)
    if json:
        print_json(
            {"cluster": target.cluster, "context": f"kind-{target.cluster}", "created": created,
             "seconds": seconds}
        )  # fmt: skip
        return
    verb = "created" if created else "reused"
    err().print(
        f"[green]{verb}[/] kind cluster {target.cluster} (context kind-{target.cluster}) in "
        f"{seconds:.1f}s; `devkit up -e {env}` runs the stack on it"
    )


@cluster_app.command("down")
def cluster_down(
    ctx: typer.Context,
    env: EnvArgument,
    json: JsonOption = False,
) -> None:
    """Delete ENV's kind cluster (everything on it goes with it). Nothing to do when it does not
    exist."""
    from devkit.targets.kubernetes import kind

    target, _ = _kind_env(ctx, env)
    existed = target.cluster in kind.clusters()
    if existed:
        kind.delete(target.cluster)
    if json:
        print_json({"cluster": target.cluster, "deleted": existed})
        return
    err().print(
        f"deleted kind cluster {target.cluster}" if existed
        else f"kind cluster {target.cluster} does not exist: nothing to delete"
    )  # fmt: skip
