"""`devkit status`: what runs for an environment, as the engine reports it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from devkit.cli.app import ClusterOption, ContextOption, EnvOption, JsonOption, NamespaceOption, app
from devkit.cli.loading import target_for
from devkit.cli.output import err, out, print_json

if TYPE_CHECKING:
    from devkit.targets.base import ServiceUsage


@app.command("status")
def status_command(
    ctx: typer.Context,
    env: EnvOption = None,
    context: ContextOption = None,
    namespace: NamespaceOption = None,
    cluster: ClusterOption = None,
    json: JsonOption = False,
) -> None:
    """Each service: state, health, ports on 127.0.0.1, image; on a cluster also its pods
    (ready/total, restarts, node, spot or on-demand) and the ports a running watcher forwards;
    its CPU and memory in use where the engine reports them (a cluster: its metrics API).
    The last syncs follow."""
    from rich.table import Table

    from devkit.devloop import skipped
    from devkit.devloop.timings import recent
    from devkit.targets.base import NoMetricsError, ReportsStatus, ReportsUsage, supports

    usage: dict[str, ServiceUsage] = {}
    no_usage: str | None = "this environment's engine reports no CPU or memory use"
    with target_for(ctx, env, ReportsStatus, context=context, namespace=namespace,
                    cluster=cluster, narrows=True) as found:  # fmt: skip
        target, plan, _, _ = found
        rows = target.status()
        if rows and supports(target, ReportsUsage):
            assert isinstance(target, ReportsUsage)
            try:
                usage = {u.service: u for u in target.usage()}
                no_usage = None
            except NoMetricsError as exc:
                no_usage = exc.message
    syncs = recent(plan.project, plan.environment)[-5:]
    skips = skipped.recent(plan.project, plan.environment)[-5:]
    if json:
        print_json(
            {"project": plan.project, "environment": plan.environment,
             "services": [row.to_dict() for row in rows], "recent_syncs": syncs,
             "recent_skips": skips, "usage": [u.to_dict() for u in usage.values()],
             "usage_unavailable": no_usage}
        )  # fmt: skip
        return
    if not rows:
        err().print(
            f"{plan.project}/{plan.environment} is not up (`devkit up -e {plan.environment}` "
            "starts it)"
        )
        return
    on_pods = any(row.pods for row in rows)
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ["service", "state", "health"]
    columns += ["ready", "restarts", "nodes"] if on_pods else []
    used = ["cpu", "memory"] if usage else []
    for column in (*columns, *used, "ports", "image"):
        table.add_column(column)
    for row in rows:
        ports = ", ".join(f"{host}->{port}" for port, host in row.ports.items()) or "-"
        cells = [row.service, row.state, row.health]
        if on_pods:
            ready = sum(p.ready for p in row.pods)
            nodes = ", ".join(sorted({f"{p.node} ({p.capacity})" for p in row.pods})) or "-"
            cells += [f"{ready}/{len(row.pods)}", str(row.restarts), nodes]
        if used:
            cells += _usage_cells(usage.get(row.service))
        table.add_row(*cells, ports, row.image)
    out().print(table)
    if syncs:
        out().print("\nrecent syncs (save to answering):")
        for sync in syncs:
            took = f"{sync['seconds']:.2f}s" if sync.get("seconds") is not None else "not answering"
            files = f"{sync['files']} file{'' if sync['files'] == 1 else 's'}"
            out().print(f"  {sync['service']}: {files}, {sync['action']}, {took}", markup=False)
    if skips:
        out().print("\nrecently skipped saves (`devkit explain PATH` for more):")
        for skip in skips:
            out().print(f"  {skip['path']}: {skip['reason']}", markup=False, soft_wrap=True)


def _usage_cells(use: ServiceUsage | None) -> list[str]:
    """CPU in cores and memory in MiB, as the page's plots show them; "-" without a reading."""
    if use is None:
        return ["-", "-"]
    cpu = "-" if use.cpu is None else f"{use.cpu:.{2 if use.cpu >= 0.1 else 3}f} CPU"
    return [cpu, f"{use.memory / 2**20:.1f} MiB"]
