"""What the page lists of a plan: services by group, dependencies, ports and image (pure)."""

from __future__ import annotations

from typing import Any

from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.model.resources import Resources
from devkit.model.sync import Restart
from devkit.planning.planner import Plan

UNGROUPED = "other services"


def services_of(plan: Plan) -> dict[str, Any]:
    """The plan's services for the page, and the groups that hold them (in the blueprint's
    order; a service in no group is listed under UNGROUPED)."""
    grouped: dict[str, list[str]] = {g: list(members) for g, members in plan.groups.items()}
    placed = {name for members in grouped.values() for name in members}
    rest = [s.name for s in plan.services if s.name not in placed]
    if rest:
        grouped[UNGROUPED] = rest
    services = []
    for service in plan.services:
        supervised = any(isinstance(a, Restart) for rule in service.sync for a in rule.then)
        image = service.image or (f"built from {service.build.context}" if service.build else "")
        services.append(
            {
                "name": service.name,
                "image": image,
                "build": service.build is not None,
                "depends_on": list(service.depends_on),
                "ports": {name: port.container for name, port in service.ports.items()},
                "health": service.health.kind if service.health else None,
                "sync": len(service.sync),
                "supervised": supervised,
                "resources": _resources(service.resources),
                "jobs": [
                    {"name": job.name, "command": list(job.command), "timeout": job.timeout}
                    for job in plan.jobs
                    if job.service == service.name
                ],
            }
        )
    return {
        "project": plan.project,
        "environment": plan.environment,
        "target": plan.target.kind,
        "groups": grouped,
        "services": services,
    }


def _resources(declared: Resources | None) -> dict[str, float | None]:
    """Requests and limits as numbers: CPU in cores, memory in bytes (None: not declared)."""

    def cpu(value: str | None) -> float | None:
        return cpu_millicores(value) / 1000 if value else None

    def memory(value: str | None) -> float | None:
        return float(memory_bytes(value)) if value else None

    if declared is None:
        return {"cpu": None, "cpu_limit": None, "memory": None, "memory_limit": None}
    return {
        "cpu": cpu(declared.cpu),
        "cpu_limit": cpu(declared.cpu_limit),
        "memory": memory(declared.memory),
        "memory_limit": memory(declared.memory_limit),
    }
