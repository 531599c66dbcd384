"""`devkit backup ENV [SERVICE...]`, `devkit restore ENV --from BACKUP [SERVICE...]` and
`devkit backups ENV`: services' data into a directory or an S3-compatible store, and back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import ClusterOption, ContextOption, JsonOption, NamespaceOption, app
from devkit.cli.loading import target_for
from devkit.cli.output import err, out, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.backups.store import Store
    from devkit.planning.planner import Plan
    from devkit.project.settings import Settings
    from devkit.records.backup import Manifest
    from devkit.targets.outcome import Progress

EnvArgument = Annotated[str, typer.Argument(metavar="ENV", help="The environment.")]
ServicesArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[SERVICE]...", help="Only these services [default: every service "
                   "with data].", show_default=False),
]  # fmt: skip
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store", metavar="LOCATION",
        help="Where backups are kept: a directory (relative to the project) or s3://BUCKET/PREFIX "
        "(endpoint DEVKIT_S3_ENDPOINT, credentials AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) "
        "[default: DEVKIT_BACKUP_STORE, backup_store in [tool.devkit], or backups].",
    ),
]  # fmt: skip


def _store(
    location: str | None, settings: Settings, root: Path, plan: Plan, environment: str = ""
) -> Store:
    from devkit.backups.store import open_store

    return open_store(location or settings.backup_store, root, plan.project,
                      environment or plan.environment)  # fmt: skip


def _progress(plan: Plan) -> Progress:
    """Steps on stderr, a service per line; warnings as warnings."""
    from devkit.cli.progress import ServicePrinter

    printer = ServicePrinter([s.name for s in plan.services])

    def step(service: str, event: str, detail: str) -> None:
        if event == "warning":
            err().print("[bold yellow]warning:[/] ", end="")
            err().print(detail, markup=False, soft_wrap=True)
            return
        printer.step(service, event, detail)

    return step


@app.command("backup")
def backup_command(
    ctx: typer.Context,
    env: EnvArgument,
    services: ServicesArgument = None,
    store: StoreOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    cluster: ClusterOption = None,
    json: JsonOption = False,
) -> None:
    """Back up ENV's services (every one with data, or those named) into the store.

    Each service as it declares (postgres: pg_dump; redis: its RDB snapshot; MinIO: its
    objects), any other volume as a file copy taken with its service stopped. A manifest with
    the plan hash, the release and the sha256 of every part is written last: a backup without
    one is partial and never restored.
    """
    from devkit.backups.run import backup
    from devkit.targets.base import BacksUp

    with target_for(ctx, env, BacksUp, context=context, namespace=namespace,
                    cluster=cluster, narrows=True) as found:  # fmt: skip
        target, plan, root, settings = found
        kept = _store(store, settings, root, plan)
        try:
            manifest = backup(target, plan, root, kept, services=services or [],
                              progress=_progress(plan), cluster=cluster)  # fmt: skip
        except KeyboardInterrupt:
            err().print(
                "interrupted: no backup was kept (what was written is removed; a "
                "backup without a manifest is never listed or restored)",
                markup=False,
            )
            raise typer.Exit(130) from None
    if json:
        print_json({"store": kept.where, **manifest.to_dict()})
        return
    out().print(
        f"backup {manifest.id} of {plan.project}/{plan.environment}{_on(cluster)}: "
        f"{len(manifest.parts)} parts, {manifest.size} bytes in {manifest.seconds:.1f}s, "
        f"in {kept.where}",
        markup=False,
    )


@app.command("restore")
def restore_command(
    ctx: typer.Context,
    env: EnvArgument,
    source: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="BACKUP",
            help="The backup: its id, `latest`, or OTHER_ENV/ID for a backup of another "
            "environment of the project.",
        ),
    ],
    services: ServicesArgument = None,
    store: StoreOption = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Restore also into services that hold data now (rows, "
            "keys, objects, files): what they hold is replaced.",
        ),
    ] = False,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    cluster: ClusterOption = None,
    json: JsonOption = False,
) -> None:
    """Put the data of a backup back into ENV's running services (all it holds, or those
    named), after checking every part against its manifest (exit 3 and nothing changed when
    one does not match).

    A service that holds data now (rows in a table, keys, objects, files in a volume) is
    restored over only with --force; without it the restore is refused (exit 3) naming what
    each holds, and nothing is changed. Empty services (after a disaster) need no flag.

    Databases are restored into the running server (pg_restore in one transaction; redis by
    replication); volume copies stop their service, replace the volume's files and start it.
    """
    from devkit.backups.run import find, restore
    from devkit.records.backup import RestoreWouldReplaceError
    from devkit.targets.base import BacksUp

    origin, _, name = source.rpartition("/")
    with target_for(ctx, env, BacksUp, context=context, namespace=namespace,
                    cluster=cluster, narrows=True) as found:  # fmt: skip
        target, plan, root, settings = found
        if origin and origin not in _environments(ctx):
            from devkit.errors import UnknownEnvironmentError

            raise UnknownEnvironmentError(origin, _environments(ctx))
        kept = _store(store, settings, root, plan, origin)
        manifest = find(kept, plan, name)
        try:
            done = restore(target, plan, root, kept, manifest, services=services or [],
                           progress=_progress(plan), other_environment=bool(origin),
                           force=force)  # fmt: skip
        except RestoreWouldReplaceError as exc:
            if json:
                print_json({
                    "ok": False, "store": kept.where, "backup": manifest.id,
                    "environment": plan.environment, "forced": False,
                    "holding": [h.__dict__ for h in exc.held], "error": exc.to_dict(),
                })  # fmt: skip
            raise
        except KeyboardInterrupt:
            err().print("interrupted: pg_restore runs in one transaction (a database is as it "
                        "was, or fully restored); a redis or volume restore may be partial: "
                        "restore again",
                        markup=False)  # fmt: skip
            raise typer.Exit(130) from None
    if json:
        print_json({
            "ok": True, "store": kept.where, "backup": manifest.id,
            "environment": plan.environment, "cluster": cluster,
            "from_environment": manifest.environment, "from_cluster": manifest.cluster,
            "services": sorted({p.service for p in done.parts}),
            "parts": [p.__dict__ for p in done.parts], "seconds": done.seconds,
            "forced": force, "replaced": [h.__dict__ for h in done.replaced],
        })  # fmt: skip
        return
    out().print(
        f"restored {', '.join(sorted({p.service for p in done.parts}))} of "
        f"{plan.project}/{plan.environment}{_on(cluster)} from backup {manifest.id}"
        f"{_taken(manifest, cluster)} in {done.seconds:.1f}s",
        markup=False,
    )


def _on(cluster: str | None) -> str:
    return f" on cluster {cluster}" if cluster else ""


def _taken(manifest: Manifest, cluster: str | None) -> str:
    """Where a backup was taken, when that is another cluster than the one restored into."""
    if manifest.cluster is None or manifest.cluster == cluster:
        return ""
    return f" (taken on cluster {manifest.cluster})"


def _environments(ctx: typer.Context) -> list[str]:
    from devkit.cli.loading import blueprint

    return list(blueprint(ctx).environments)


@app.command("backups")
def backups_command(
    ctx: typer.Context,
    env: EnvArgument,
    store: StoreOption = None,
    json: JsonOption = False,
) -> None:
    """List ENV's complete backups in the store, oldest first (partial ones are not shown)."""
    from rich.table import Table

    from devkit.backups.run import find
    from devkit.cli.loading import env_plan

    plan, root, settings, _ = env_plan(ctx, env)
    kept = _store(store, settings, root, plan)
    manifests = [find(kept, plan, name) for name in kept.backups()]
    if json:
        print_json({"store": kept.where, "environment": env,
                    "backups": [m.to_dict() for m in manifests]})  # fmt: skip
        return
    if not manifests:
        err().print(f"no backups of {plan.project}/{env} in {kept.where}", markup=False)
        return
    table = Table(box=None, pad_edge=False)
    for column in ("BACKUP", "CREATED", "SERVICES", "SIZE", "RELEASE", "PLAN"):
        table.add_column(column)
    for m in manifests:
        release = f"#{m.release}{_on(m.cluster)}" if m.release else "-"
        table.add_row(m.id, m.created, ",".join(m.services), str(m.size), release,
                      m.plan_hash[:12])  # fmt: skip
    out().print(table)
