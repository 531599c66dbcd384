"""`devkit up`: build what changed and bring the stack up, healthy, on the local Docker engine."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from devkit.cli.app import EnvOption, ServicesArgument, app
from devkit.cli.loading import local_plan
from devkit.cli.output import err, print_json


@app.command("up")
def up_command(
    ctx: typer.Context,
    services: ServicesArgument = None,
    env: EnvOption = None,
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once healthy instead of following logs.")
    ] = False,
    watch: Annotated[
        bool,
        typer.Option("--watch/--no-watch", help="Live-sync file changes (not with --detach)."),
    ] = True,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds each service may take to become healthy.")
    ] = 120.0,
    json: Annotated[
        bool, typer.Option("--json", help="With --detach: print one JSON document.")
    ] = False,
) -> None:
    """Build changed images and start the stack; unchanged services keep their containers.

    Services start once their dependencies are healthy. Without --detach, logs follow and file
    changes are live-synced into the containers (see `devkit watch`) until Ctrl-C, which stops
    the stack (its containers are kept for the next `up`; `devkit down` removes them).

    On a Kind or Kubernetes environment: images are loaded into kind (or pushed to the
    environment's registry), the objects applied and rolled out; in the foreground every port
    is forwarded to 127.0.0.1 (the same port each time) and changes are synced into the pods.
    """
    from devkit.build.engine import connect
    from devkit.cli.progress import ServicePrinter
    from devkit.cli.up_cluster import cluster_env, up_on_cluster
    from devkit.devloop.docker_up import up
    from devkit.targets.docker.target import DockerTarget

    on_cluster = cluster_env(ctx, env)
    if on_cluster is not None:
        up_on_cluster(
            *on_cluster, services=services or [], detach=detach, watch=watch,
            timeout=timeout, json=json,
        )  # fmt: skip
        return
    plan, root, settings = local_plan(ctx, env)
    printer = ServicePrinter(s.name for s in plan.services)
    began = time.time()
    client = connect()
    result = up(
        plan,
        root,
        image_map=settings.image_map,
        names=services or [],
        progress=printer.step,
        build_line=printer.build_line,
        timeout=timeout,
        client=client,
    )
    target = DockerTarget(client, plan.project, plan.environment)
    rows = [row for row in target.status() if row.service in result.services]
    if json:
        print_json(
            {
                "project": plan.project,
                "environment": plan.environment,
                "seconds": round(result.seconds, 3),
                "built": sorted(name for name, image in result.built.items() if image.built),
                "created": list(result.changes.create),
                "replaced": list(result.changes.replace),
                "unchanged": list(result.changes.keep),
                "services": [row.to_dict() for row in rows],
            }
        )
    else:
        for row in rows:
            ports = ", ".join(f"{host} ({port})" for port, host in row.ports.items()) or "-"
            err().print(f"  {row.service}: {ports}", markup=False)
        err().print(
            f"[green]up[/] {plan.project}/{plan.environment}, ready in {result.seconds:.1f}s"
        )
    if detach:
        return
    stop_watch = None
    if watch:
        from devkit.devloop.sync import LiveSync, start_in_thread

        sync = LiveSync(
            plan, root, image_map=settings.image_map, report=printer.step,
            build_line=printer.build_line, services=set(result.services),
        )  # fmt: skip
        _, stop_watch, _ = start_in_thread(sync)
    err().print("following logs; Ctrl-C stops the stack", style="dim")
    try:
        for service, line in target.logs(set(result.services), follow=True, since=began, tail=None):
            printer.log_line(service, line)
    except KeyboardInterrupt:
        if stop_watch is not None:
            stop_watch.set()
        err().print("\nstopping…")
        target.stop()
        err().print("stopped; `devkit up` starts it again, `devkit down` removes it")
        raise typer.Exit(130) from None
