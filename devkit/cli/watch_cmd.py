"""`devkit watch`: live-sync file changes into a stack that is already up."""

from __future__ import annotations

import typer

from devkit.cli.app import EnvOption, ServicesArgument, app
from devkit.cli.loading import local_plan


@app.command("watch")
def watch_command(
    ctx: typer.Context,
    services: ServicesArgument = None,
    env: EnvOption = None,
) -> None:
    """Attach to a running stack and keep its containers in step with your files.

    Sync rules copy changed files (deletes too) into the running containers, run their commands
    and restart the process (without restarting the container); a change to a build input no rule
    covers rebuilds and replaces just that service. On attach, and whenever a container restarts,
    the synced paths are compared by content and only the differences repaired. Each sync prints
    its files, action and the time from save to the service answering again. Ctrl-C stops
    watching; the stack keeps running.
    """
    import threading

    from devkit.cli.output import err
    from devkit.cli.progress import ServicePrinter
    from devkit.devloop.sync import LiveSync
    from devkit.planning.planner import select_services

    plan, root, settings = local_plan(ctx, env)
    chosen = select_services(plan, services or [])
    printer = ServicePrinter(s.name for s in plan.services)
    sync = LiveSync(
        plan, root, image_map=settings.image_map, report=printer.step,
        build_line=printer.build_line, services=chosen,
    )  # fmt: skip
    stop = threading.Event()
    try:
        sync.run(stop)
    except KeyboardInterrupt:
        stop.set()
        err().print("\nstopped watching; the stack keeps running")
        raise typer.Exit(130) from None
