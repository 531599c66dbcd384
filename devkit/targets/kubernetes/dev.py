"""Decide what `devkit up` changes in an environment's objects for the local dev loop on a
cluster, and which local ports its forwards use. Pure.

A service restarted by sync rules runs under devkit's supervisor, as on Docker, so a restart
after a sync restarts its process inside the same container (the synced files stay; a container
restart would start from the image again).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from devkit.planning.planner import Plan
from devkit.targets.supervisor import ImageConfig, preloaded, restarts_on_sync, supervised


def supervise(
    objects: Sequence[Mapping[str, Any]], plan: Plan, image_configs: Mapping[str, ImageConfig]
) -> list[dict[str, Any]]:
    """The objects, with each sync-restarted service's container command wrapped."""
    result = []
    for given in objects:
        obj = copy.deepcopy(dict(given))
        name = obj["metadata"]["name"]
        if obj["kind"] in ("Deployment", "StatefulSet") and _restarted(plan, name):
            service = plan.service(name)
            container = obj["spec"]["template"]["spec"]["containers"][0]
            entrypoint, cmd = image_configs.get(name, (None, None))
            if service.entrypoint is not None:  # as in Docker: an entrypoint of its own drops CMD
                entrypoint, cmd = list(service.entrypoint), None
            preload = preloaded(service)
            command, args = supervised(entrypoint, cmd, service.command, preload)
            container["command"], container["args"] = _literal(command), _literal(args)
            if preload:
                container.setdefault("env", []).append(
                    {"name": "DEVKIT_PRELOAD", "value": ",".join(preload)}
                )
        result.append(obj)
    return result


def _literal(argv: Sequence[str]) -> list[str]:
    """Arguments as Kubernetes passes them on: `$(NAME)` would be expanded, `$$` is `$`."""
    return [arg.replace("$", "$$") for arg in argv]


def _restarted(plan: Plan, name: str) -> bool:
    return any(s.name == name and restarts_on_sync(s) for s in plan.services)


def forwards(plan: Plan) -> list[tuple[str, str, int]]:
    """(service, port name, container port) of every declared TCP port, in plan order."""
    return [
        (service.name, name, port.container)
        for service in plan.services
        for name, port in sorted(service.ports.items())
        if port.protocol == "tcp"
    ]


def pinned_ports(plan: Plan) -> dict[tuple[str, str], int]:
    """Local ports the blueprint pins (`Port(host=...)`): forwards use them as given."""
    return {
        (service.name, name): port.host
        for service in plan.services
        for name, port in service.ports.items()
        if port.host is not None
    }
