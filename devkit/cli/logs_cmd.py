"""`devkit logs`: the stack's logs, prefixed by service."""

from __future__ import annotations

from typing import Annotated

import typer

from devkit.cli.app import (
    ClusterOption,
    ContextOption,
    EnvOption,
    NamespaceOption,
    ServicesArgument,
    app,
)
from devkit.cli.loading import target_for


def _since(text: str | None) -> float | None:
    """Seconds ago ("90s", "5m", "2h") as a Unix time."""
    import time

    from devkit.errors import UserError

    if text is None:
        return None
    units = {"s": 1, "m": 60, "h": 3600}
    number, unit = text[:-1], text[-1:]
    if unit not in units or not number.replace(".", "", 1).isdigit():
        raise UserError(f'--since "{text}": give a duration such as 30s, 5m or 2h')
    return time.time() - float(number) * units[unit]


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    services: ServicesArgument = None,
    env: EnvOption = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep following new output.")
    ] = False,
    since: Annotated[
        str | None, typer.Option("--since", help="Only output newer than this (30s, 5m, 2h).")
    ] = None,
    tail: Annotated[
        int | None, typer.Option("--tail", help="Only the last N lines of each.")
    ] = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    cluster: ClusterOption = None,
) -> None:
    """Show the logs of the stack's services (or the named ones), each line prefixed. On a
    cluster: every pod of each service; with -f, pods that replace them are followed too."""
    from devkit.cli.progress import ServicePrinter
    from devkit.planning.planner import select_services
    from devkit.targets.base import StreamsLogs

    with target_for(ctx, env, StreamsLogs, context=context, namespace=namespace,
                    cluster=cluster, narrows=True) as found:  # fmt: skip
        target, plan, _, _ = found
        chosen = set(services) if services else None
        if services:
            select_services(plan, services)  # unknown names are an error
        printer = ServicePrinter(s.name for s in plan.services)
        try:
            for service, line in target.logs(chosen, follow=follow, since=_since(since), tail=tail):
                printer.log_line(service, line)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
