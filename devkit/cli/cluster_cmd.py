"""`devkit cluster up|down ENV`: the kind cluster a Kind environment names."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from devkit.cli.app import app
from devkit.cli.output import err, print_json

cluster_app = typer.Typer(
    name="cluster",
    help="Create or delete the kind cluster a Kind environment names.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(cluster_app)

EnvArgument = Annotated[str, typer.Argument(metavar="ENV", help="A Kind environment.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@cluster_app.command("up")
def cluster_up(ctx: typer.Context, env: EnvArgument, json: JsonOption = False) -> None:
    """Create ENV's kind cluster (its node image and kind config from the blueprint), or reuse
    it when it exists and its API server answers. Its context is `kind-<cluster>`."""
    from devkit.cli.loading import target_for
    from devkit.targets.base import ManagesCluster

    began = time.monotonic()
    with target_for(ctx, env, ManagesCluster) as (target, plan, root, _):
        created = target.cluster_up(root, lambda line: err().print(line, markup=False))
    cluster = getattr(plan.target, "cluster", env)
    seconds = round(time.monotonic() - began, 1)
    if json:
        print_json(
            {"cluster": cluster, "context": f"kind-{cluster}", "created": created,
             "seconds": seconds}
        )  # fmt: skip
        return
    verb = "created" if created else "reused"
    err().print(
        f"[green]{verb}[/] kind cluster {cluster} (context kind-{cluster}) in "
        f"{seconds:.1f}s; `devkit up -e {env}` runs the stack on it"
    )


@cluster_app.command("down")
def cluster_down(ctx: typer.Context, env: EnvArgument, json: JsonOption = False) -> None:
    """Delete ENV's kind cluster (everything on it goes with it). Nothing to do when it does not
    exist."""
    from devkit.cli.loading import target_for
    from devkit.targets.base import ManagesCluster

    with target_for(ctx, env, ManagesCluster) as (target, plan, _, _):
        existed = target.cluster_down(lambda line: err().print(line, markup=False))
    cluster = getattr(plan.target, "cluster", env)
    if json:
        print_json({"cluster": cluster, "deleted": existed})
        return
    err().print(
        f"deleted kind cluster {cluster}" if existed
        else f"kind cluster {cluster} does not exist: nothing to delete"
    )  # fmt: skip
