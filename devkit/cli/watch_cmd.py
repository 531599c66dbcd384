"""`devkit watch`: live-sync file changes into a stack that is already up."""

from __future__ import annotations

import typer

from devkit.cli.app import ContextOption, EnvOption, NamespaceOption, ServicesArgument, app
from devkit.cli.loading import target_for


@app.command("watch")
def watch_command(
    ctx: typer.Context,
    services: ServicesArgument = None,
    env: EnvOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
) -> None:
    """Attach to a running stack and keep its containers (or pods) in step with your files.

    Sync rules copy changed files (deletes too) into the running containers, run their commands
    and restart the process (without restarting the container); a change to a build input no rule
    covers rebuilds and replaces just that service. On attach, and whenever a container or pod
    restarts, the synced paths are compared by content and only the differences repaired. Each
    sync prints its files, action and the time from save to the service answering again. On a
    cluster every declared port is also forwarded to 127.0.0.1 (the same port each time,
    following replaced pods). Ctrl-C stops watching; the stack keeps running.
    """
    from devkit.cli.output import err
    from devkit.cli.progress import ServicePrinter
    from devkit.devloop.session import start_watching
    from devkit.planning.planner import select_services
    from devkit.targets.base import SyncsFiles

    with target_for(ctx, env, SyncsFiles, context=context, namespace=namespace) as found:
        target, plan, root, settings = found
        chosen = select_services(plan, services or [])
        printer = ServicePrinter(s.name for s in plan.services)
        watching = start_watching(
            target, plan, root, image_map=settings.image_map, report=printer.step,
            build_line=printer.build_line, services=chosen, sync=True,
        )  # fmt: skip
        for forward in watching.forwards.forwards:
            err().print(f"  {forward.service}.{forward.port_name}: {forward.url}", markup=False)
        try:
            watching.wait()
        except KeyboardInterrupt:
            watching.close()
            err().print("\nstopped watching; the stack keeps running")
            raise typer.Exit(130) from None
