"""`devkit up`: build what changed and bring the stack up, healthy, on the environment's target
(the local Docker engine, kind, or a Kubernetes namespace); in the foreground, follow its logs
with live sync and port-forwards."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import (
    ContextOption,
    EnvOption,
    NamespaceOption,
    ServicesArgument,
    app,
)
from devkit.cli.loading import target_for
from devkit.cli.output import err, print_json

if TYPE_CHECKING:
    from pathlib import Path

    from devkit.devloop.events import EventBus
    from devkit.planning.planner import Plan
    from devkit.project.settings import Settings
    from devkit.targets.base import RunsStack, ServiceStatus, UpResult
    from devkit.ui.launch import RunningUi


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
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="With --detach: print one JSON document.")
    ] = False,
    ui: Annotated[
        bool,
        typer.Option("--ui", help="Also serve the dev loop in a browser (see `devkit ui`)."),
    ] = False,
    ui_port: Annotated[
        int,
        typer.Option(
            "--ui-port",
            metavar="PORT",
            help="With --ui: port on 127.0.0.1.",
            envvar="DEVKIT_UI_PORT",
        ),
    ] = 0,
) -> None:
    """Build changed images and start the stack; unchanged services keep their containers.

    Services start once their dependencies are healthy. Without --detach, logs follow and file
    changes are live-synced into the containers (see `devkit watch`) until Ctrl-C, which stops
    the stack (its containers are kept for the next `up`; `devkit down` removes them).

    On a Kind or Kubernetes environment: images are loaded into kind (or pushed to the
    environment's registry), the objects applied and rolled out; in the foreground every port
    is forwarded to 127.0.0.1 (the same port each time) and changes are synced into the pods;
    Ctrl-C stops following and the stack keeps running on the cluster.
    """
    from devkit.cli.progress import ServicePrinter
    from devkit.devloop.events import EventBus
    from devkit.devloop.session import start_watching
    from devkit.targets.base import ReportsStatus, RunsStack, StreamsLogs

    with target_for(ctx, env, RunsStack, context=context, namespace=namespace) as found:
        target, plan, root, settings = found
        printer = ServicePrinter(s.name for s in plan.services)
        # One source of truth: what the dev loop reports is published once; the terminal (and
        # the page, with --ui) subscribe.
        bus = EventBus()
        bus.subscribe(printer.show)
        page = _serve_ui(ctx, plan, root, bus, ui_port, context) if ui and not detach else None
        began = time.time()
        result = _bring_up(target, plan, root, settings, services or [], bus, timeout, page)
        rows = []
        if isinstance(target, ReportsStatus):
            rows = [row for row in target.status() if row.service in result.services]
        where = f" in namespace {result.namespace}" if result.namespace else ""
        if detach:
            if json:
                print_json(
                    {
                        "project": plan.project,
                        "environment": plan.environment,
                        **({"namespace": result.namespace} if result.namespace else {}),
                        "seconds": round(result.seconds, 3),
                        "built": list(result.built),
                        "created": list(result.created),
                        "replaced": list(result.replaced),
                        "unchanged": list(result.unchanged),
                        "images": result.images,
                        "services": [row.to_dict() for row in rows],
                        "forwards": {},
                    }
                )
                return
            _print_ports(rows)
            err().print(
                f"[green]up[/] {plan.project}/{plan.environment}{where}, ready in "
                f"{result.seconds:.1f}s"
            )
            return
        watching = start_watching(
            target, plan, root, image_map=settings.image_map, report=bus.step,
            build_line=bus.build_line, services=set(result.services), sync=watch,
        )  # fmt: skip
        if page is not None:
            page.attach(watching.live)
        if watching.forwards.forwards:
            for forward in watching.forwards.forwards:
                err().print(f"  {forward.service}.{forward.port_name}: {forward.url}", markup=False)
        else:
            _print_ports(rows)
        err().print(
            f"[green]up[/] {plan.project}/{plan.environment}{where}, ready in {result.seconds:.1f}s"
        )
        err().print("following logs; Ctrl-C stops", style="dim")
        try:
            if isinstance(target, StreamsLogs):
                for service, line in target.logs(
                    set(result.services), follow=True, since=began, tail=None
                ):
                    bus.log_line(service, line)
            watching.wait()
        except KeyboardInterrupt:
            watching.close()
            err().print("\nstopping…")
            if target.stop():
                err().print("stopped; `devkit up` starts it again, `devkit down` removes it")
            else:
                err().print(
                    f"stopped following; {plan.project}/{plan.environment} keeps running: "
                    f"`devkit down -e {plan.environment}` removes it"
                )
            raise typer.Exit(130) from None


def _bring_up(
    target: RunsStack,
    plan: Plan,
    root: Path,
    settings: Settings,
    names: list[str],
    bus: EventBus,
    timeout: float,
    page: RunningUi | None,
) -> UpResult:
    """target.up, reporting on the bus; with a page, a failure (a build, a service that never
    got healthy) stays on it, at the top, until Ctrl-C."""
    from devkit.errors import DevkitError

    try:
        return target.up(
            plan, root, image_map=settings.image_map, names=names,
            progress=bus.step, build_line=bus.build_line, timeout=timeout,
        )  # fmt: skip
    except DevkitError as exc:
        if page is None:
            raise
        bus.step(str(getattr(exc, "service", "")), "error", exc.render())
        err().print("the page shows the error; Ctrl-C stops serving it", style="dim")
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
        raise typer.Exit(exc.exit_code) from None


def _serve_ui(
    ctx: typer.Context, plan: Plan, root: Path, bus: EventBus, port: int, context: str | None
) -> RunningUi:
    from devkit.cli.loading import blueprint
    from devkit.cli.ui_cmd import announce
    from devkit.ui.launch import start_ui

    page = start_ui(blueprint(ctx), plan, root, bus, port=port, context=context, mode="up")
    announce(page.url)
    return page


def _print_ports(rows: list[ServiceStatus]) -> None:
    for row in rows:
        if not row.pods:
            ports = ", ".join(f"{host} ({port})" for port, host in row.ports.items()) or "-"
            err().print(f"  {row.service}: {ports}", markup=False)
