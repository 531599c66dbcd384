"""`devkit plan ENV`: what an environment will run, decided but not done."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli import describe
from devkit.cli.app import app
from devkit.cli.loading import plan_for
from devkit.cli.output import out, print_json, print_warnings

if TYPE_CHECKING:
    from devkit.planning.planner import PlannedService


@app.command("plan")
def plan_command(
    ctx: typer.Context,
    env: Annotated[
        str,
        typer.Argument(metavar="ENV", help="The environment to plan, e.g. local, staging, prod."),
    ],
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", metavar="NAME", help="What one tenant of ENV runs."),
    ] = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print the plan as one JSON document.")
    ] = False,
) -> None:
    """Show what ENV will run: services, images, replicas, resolved environment (secrets masked).

    The plan is deterministic: the same blueprint gives byte-identical --json output and the same
    hash, which deploys record.
    """
    plan = plan_for(ctx, env, tenant)
    print_warnings(plan.environment, plan.warnings)
    if json:
        print_json(plan.model_dump(mode="json"))
        return
    from rich.table import Table

    out().print(
        f"[bold]{plan.project}[/] · [bold]{plan.environment}[/]  "
        f"{describe.target(plan.target, plan.namespace)}"
        + (f"  profile {plan.profile.capacity}" if plan.profile else ""),
        markup=True,
    )
    out().print(f"plan {plan.hash[:12]}", style="dim")
    if plan.tier is not None:
        tier = plan.tier
        out().print(
            f"tenant {plan.tenant}, tier {tier.name}: quota {tier.cpu} CPU, {tier.memory}, "
            f"{tier.pods} pods; a container at most {tier.container_cpu} CPU, "
            f"{tier.container_memory}",
            markup=False,
        )
    elif plan.tenants:
        out().print(f"tenants: {', '.join(plan.tenants)} (--tenant NAME)", markup=False)
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("service", "image / build", "replicas", "ports", "depends on"):
        table.add_column(column)
    for service in plan.services:
        table.add_row(
            service.name,
            describe.source(service),
            describe.replicas(service),
            describe.ports(service),
            ", ".join(service.depends_on) or "-",
        )
    out().print(table)
    for service in plan.services:
        _print_service(service)
    if plan.canary is not None:
        out().print()
        for line in describe.canary(plan.canary):
            out().print(line, markup=False)
    if plan.backups is not None:
        b = plan.backups
        out().print()
        out().print(
            f"backups    {b.schedule}{f' ({b.time_zone})' if b.time_zone else ''}: "
            f"{', '.join(b.services)} -> {b.store} at {b.endpoint}, keep {b.keep}"
            + (" (suspended)" if b.suspend else ""),
            markup=False,
        )


def _metrics_and_entrypoint(service: PlannedService) -> list[str]:
    lines = []
    if service.metrics is not None:
        every = f", every {service.metrics.duration}" if service.metrics.duration else ""
        lines.append(
            f"  metrics    GET {service.metrics.path} on port {service.metrics.port}{every}"
        )
    if service.entrypoint:
        lines.append(f"  entrypoint {shlex.join(service.entrypoint)[:100]}")
    return lines


def _print_service(service: PlannedService) -> None:
    """The details of one planned service, after the table."""
    from devkit.planning.planner import show_env

    out().print()
    out().print(f"[bold]{service.name}[/]")
    width = max((len(name) for name in service.env), default=0)
    for name, value in service.env.items():
        out().print(f"  env        {name.ljust(width)} = {show_env(value)}", markup=False)
    if service.secrets:
        out().print(f"  secrets    {', '.join(service.secrets)}", markup=False)
    health = f"  health     {describe.health(service.health)}"
    out().print("\n".join([health, *_metrics_and_entrypoint(service)]), markup=False)
    out().print(f"  resources  {describe.resources(service)}", markup=False)
    placed = describe.placement(service)
    if placed:
        out().print(f"  placement  {placed}", markup=False)
    for name, volume in service.volumes.items():
        out().print(f"  volume     {name} at {volume.path} ({volume.size})", markup=False)
    for egress in service.egress:
        ports = (
            f"{egress.protocol} {', '.join(map(str, egress.ports))}" if egress.ports else "any port"
        )
        out().print(f"  egress     {egress.cidr} {ports}", markup=False)
    for rule in service.sync:
        actions = ", ".join(describe.action(a) for a in rule.then) or "nothing"
        out().print(f"  sync       {rule.src} -> {rule.dest}, then {actions}", markup=False)
    security = service.security
    if security.scratch_paths:
        out().print(f"  scratch    {', '.join(security.scratch_paths)}", markup=False)
    if security.run_as_user is not None:
        out().print(f"  user       uid {security.run_as_user}", markup=False)
    if security.writable_for_sync:
        paths = ", ".join(security.writable_for_sync)
        out().print(f"  relaxed    writable for live sync: {paths}", markup=False)
    if not security.read_only_root_filesystem:
        out().print("  relaxed    writable root filesystem (opted out)", markup=False)
    if security.capabilities:
        kept = ", ".join(security.capabilities)
        out().print(f"  relaxed    capabilities kept: {kept}", markup=False)
    if security.service_account_token:
        out().print("  relaxed    Kubernetes API token mounted", markup=False)
