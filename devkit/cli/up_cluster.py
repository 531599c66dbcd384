"""`devkit up` for a Kind or Kubernetes environment: the dev loop on a cluster.

Build, make the images reachable (kind load, or a push to the environment's registry), apply,
wait until ready; then, in the foreground, forward every declared port to 127.0.0.1 (the same
local port every time), follow the pods' logs and live-sync file changes into the pods until
Ctrl-C. The stack keeps running on the cluster afterwards; `devkit down -e ENV` removes it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import typer

from devkit.cli.output import err, print_json
from devkit.planning.planner import Plan
from devkit.project.settings import Settings


def cluster_env(ctx: typer.Context, env: str | None) -> tuple[Plan, Path, Settings] | None:
    """The plan of `env` when it runs on a cluster (Kind, Kubernetes), else None."""
    from devkit.cli.loading import settings as load_settings
    from devkit.planning.planner import plan
    from devkit.project.load import load_blueprint

    current = load_settings(ctx)
    loaded = load_blueprint(current.file)
    name = env or current.default_env
    environment = loaded.environments.get(name)
    if environment is None or environment.target.kind not in ("kind", "kubernetes"):
        return None
    assert loaded.root is not None
    return plan(loaded, name), loaded.root, current


def up_on_cluster(
    plan: Plan,
    root: Path,
    settings: Settings,
    *,
    services: list[str],
    detach: bool,
    watch: bool,
    timeout: float,
    json: bool,
) -> None:
    from devkit.cli.progress import ServicePrinter
    from devkit.devloop.cluster_up import describe, start_forwards, up_kube
    from devkit.targets.kubernetes.logs import follow_logs

    printer = ServicePrinter(s.name for s in plan.services)

    def bring_up(service: str) -> None:
        up_kube(
            plan, root, image_map=settings.image_map, names=[service], progress=printer.step,
            build_line=printer.build_line, timeout=timeout,
        )  # fmt: skip

    result = up_kube(
        plan, root, image_map=settings.image_map, names=services, progress=printer.step,
        build_line=printer.build_line, timeout=timeout,
    )  # fmt: skip
    if detach:
        if json:
            print_json({**describe(result, []), "forwards": {}})
        else:
            err().print(
                f"[green]up[/] {plan.project}/{plan.environment} in namespace "
                f"{result.target.namespace}, ready in {result.seconds:.1f}s; port-forwards and "
                "live sync run with `devkit up` in the foreground"
            )
        return
    forwarder, forwards = start_forwards(result, printer.step)
    for forward in forwards:
        err().print(f"  {forward.service}.{forward.port_name}: {forward.url}", markup=False)
    err().print(
        f"[green]up[/] {plan.project}/{plan.environment} on the cluster (namespace "
        f"{result.target.namespace}), ready in {result.seconds:.1f}s"
    )
    stop = threading.Event()
    if watch:
        from devkit.devloop.kube_sync import KubeLiveSync
        from devkit.devloop.sync import start_in_thread

        sync = KubeLiveSync(
            plan, root, target=result.target,
            local_ports={(f.service, f.port_name): f.local_port for f in forwards},
            bring_up=bring_up,
            image_map=settings.image_map, report=printer.step, build_line=printer.build_line,
            services={s.name for s in plan.services},
        )  # fmt: skip
        _, stop_watch, _ = start_in_thread(sync)
    else:
        stop_watch = threading.Event()
    err().print("following logs; Ctrl-C stops following (the stack keeps running)", style="dim")
    try:
        follow_logs(
            result.target.kube, result.target.namespace, result.target.instance,
            printer.log_line, stop,
        )  # fmt: skip
    except KeyboardInterrupt:
        stop.set()
        stop_watch.set()
        forwarder.stop()
        err().print(
            f"\nstopped following; {plan.project}/{plan.environment} keeps running on the "
            f"cluster: `devkit down -e {plan.environment}` removes it"
        )
        raise typer.Exit(130) from None
