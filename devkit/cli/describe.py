"""Human descriptions of plans and targets, shared by the commands that print them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devkit.model.canary import Canary
    from devkit.model.environment import Environment
    from devkit.model.health import HealthCheck
    from devkit.model.sync import Restart, Run
    from devkit.model.targets import Target
    from devkit.planning.planner import PlannedService


def target(target: Target, namespace: str | None = None) -> str:
    """e.g. "kubernetes (context prod, namespace shop-prod)"."""
    details = target.details()
    registry = [d for d in details if d.startswith("registry ")]
    details = [d for d in details if d not in registry]
    if namespace:
        details.append(f"namespace {namespace}")
    details += registry
    return f"{target.kind} ({', '.join(details)})" if details else target.kind


def profile(env: Environment) -> str:
    if env.profile is None:
        return "-"
    fallback = ", falls back to on-demand" if env.profile.fallback else ""
    return f"{env.profile.capacity} (min {env.profile.min_replicas} replicas{fallback})"


def health(check: HealthCheck | None) -> str:
    if check is None:
        return "-"
    every = f"every {check.interval:g}s, {check.retries} tries"
    if check.kind == "http":
        return f"GET {check.path} on port {check.port}, {every}"
    if check.kind == "tcp":
        return f"TCP connect to port {check.port}, {every}"
    return f"run `{' '.join(check.command)}`, {every}"


def action(action: Restart | Run) -> str:
    """What follows a sync: "restart" or "run `pip install ...`"."""
    if action.kind == "run":
        return f"run `{' '.join(action.command)}`"
    return "restart"


def replicas(service: PlannedService) -> str:
    if service.autoscale is not None:
        scale = service.autoscale
        return f"{scale.min}-{scale.max} (cpu {scale.cpu}%)"
    return str(service.replicas)


def source(service: PlannedService) -> str:
    if service.build is not None:
        return f"build {service.build.context}"
    return service.image or "-"


def ports(service: PlannedService) -> str:
    shown = []
    for name, port in service.ports.items():
        host = f"->127.0.0.1:{port.host}" if port.host else ""
        shown.append(f"{name} {port.container}{host}")
    return ", ".join(shown) or "-"


def resources(service: PlannedService) -> str:
    res = service.resources
    if res is None:
        return "-"
    parts = []
    if res.cpu or res.cpu_limit:
        parts.append(
            f"cpu {res.cpu or '-'}" + (f" (limit {res.cpu_limit})" if res.cpu_limit else "")
        )
    if res.memory or res.memory_limit:
        parts.append(
            f"memory {res.memory or '-'}"
            + (f" (limit {res.memory_limit})" if res.memory_limit else "")
        )
    return ", ".join(parts) or "-"


def placement(service: PlannedService) -> str | None:
    """e.g. "spot, spread, grace 25s, preStop 5s"; None without a profile."""
    where = service.placement
    if where is None:
        return None
    parts = [
        f"{where.capacity}, falls back to on-demand"
        if where.affinity == "preferred"
        else where.capacity
    ]
    most = service.autoscale.max if service.autoscale else service.replicas
    if where.spread and most > 1:
        parts.append("spread across zones and nodes")
    if where.termination_grace is not None:
        parts.append(f"grace {where.termination_grace}s")
    if where.pre_stop is not None:
        parts.append(f"preStop {where.pre_stop}s")
    return ", ".join(parts)


def canary(declared: Canary) -> list[str]:
    """How a release of the canaried service goes: its steps, checks, match and hooks."""
    lines = [f"canary     {declared.service}: a release runs it beside the stable version"]
    lines += [f"  step     {line}" for line in declared.describe_steps()]
    lines.append("  then     promoted: the stable version takes the new images, canary removed")
    for check in declared.checks:
        lines.append(f"  check    {check.describe()}, every {declared.interval:g}s")
    if declared.checks:
        when = (
            f"more than {declared.failures} failed evaluations"
            if declared.failures
            else "the first failed evaluation"
        )
        lines.append(f"  abort    after {when}: weight 0 at once, canary removed")
        assert declared.prometheus is not None
        lines.append(f"  metrics  {declared.prometheus.describe()}")
    if declared.match is not None:
        lines.append(f"  A/B      requests with {declared.match.describe()} reach the canary")
    for hook in declared.hooks:
        when = "at every step" if hook.at == "step" else "before promotion"
        lines.append(f"  hook     {' '.join(hook.command)} ({when})")
    return lines
