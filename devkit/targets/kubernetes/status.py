"""What runs for each service of a cluster environment, from its pods and their nodes (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from devkit.model.quantity import memory_bytes
from devkit.planning.placement import SPOT_LABELS
from devkit.targets.base import PodStatus, ServiceStatus, ServiceUsage
from devkit.targets.kubernetes.spec import NAME, ROLE, is_ready

_ON_DEMAND_VALUES = {"ON_DEMAND", "on-demand", "regular", "false"}


def capacity_of(node: Mapping[str, Any] | None) -> str:
    """ "spot" or "on-demand" as the node's provider labels say; "-" when they say nothing."""
    if node is None:
        return "-"
    node_labels = (node.get("metadata") or {}).get("labels") or {}
    said = False
    for key, spot_value in SPOT_LABELS.values():
        if key in node_labels:
            said = True
            if node_labels[key] == spot_value:
                return "spot"
    return "on-demand" if said or any(v in _ON_DEMAND_VALUES for v in node_labels.values()) else "-"


UNREADABLE = "unknown: nodes not readable"
"""A pod's capacity when the identity may not read nodes (a least-privilege deploy account)."""


def pod_status(pod: Mapping[str, Any], nodes: Mapping[str, Mapping[str, Any]] | None) -> PodStatus:
    """One pod; `nodes` None when they could not be read (capacity unknown, said so)."""
    status = pod.get("status") or {}
    node = (pod.get("spec") or {}).get("nodeName") or ""
    restarts = sum(int(c.get("restartCount", 0)) for c in status.get("containerStatuses") or [])
    phase = "Terminating" if pod["metadata"].get("deletionTimestamp") else status.get("phase", "")
    return PodStatus(
        name=pod["metadata"]["name"],
        phase=str(phase),
        ready=is_ready(pod),
        restarts=restarts,
        node=node or "-",
        capacity=UNREADABLE if nodes is None else capacity_of(nodes.get(node)),
    )


def service_statuses(
    services: Sequence[str],
    pods: Sequence[Mapping[str, Any]],
    nodes: Mapping[str, Mapping[str, Any]] | None,
    forwards: Mapping[str, str],
) -> list[ServiceStatus]:
    """One row per service that has pods: ready/total, restarts, nodes, capacity, forwards;
    `nodes` None when they could not be read."""
    rows = []
    for service in services:
        mine = [
            p for p in pods
            if (p["metadata"].get("labels") or {}).get(NAME) == service
            and ROLE not in (p["metadata"].get("labels") or {})
        ]  # fmt: skip
        if not mine:
            continue
        statuses = tuple(sorted((pod_status(p, nodes) for p in mine), key=lambda s: s.name))
        ready = sum(s.ready for s in statuses)
        image = mine[0]["spec"]["containers"][0].get("image", "")
        state = "running" if ready else (statuses[0].phase.lower() or "pending")
        health = "healthy" if ready == len(statuses) else ("starting" if ready == 0 else "degraded")
        rows.append(
            ServiceStatus(
                service=service,
                container=service,
                state=state,
                health=health,
                ports=_forwards_of(service, forwards),
                image=image,
                pods=statuses,
            )
        )
    return rows


def _forwards_of(service: str, forwards: Mapping[str, str]) -> dict[str, str]:
    """port name -> 127.0.0.1:PORT of one service, from service.port keys."""
    found = {}
    for key, where in forwards.items():
        owner, _, port = key.partition(".")
        if owner == service:
            found[port] = where
    return found


_CPU_UNITS = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0}


def cores(quantity: str) -> float:
    """A metrics API CPU quantity in cores ("12345678n" -> 0.0123)."""
    found = re.fullmatch(r"([0-9.]+)([num]?)", quantity.strip())
    if found is None:
        raise ValueError(f"not a CPU quantity: {quantity!r}")
    return float(found[1]) * _CPU_UNITS[found[2]]


def service_usage(
    services: Sequence[str], pods: Sequence[Mapping[str, Any]], metrics: Sequence[Mapping[str, Any]]
) -> list[ServiceUsage]:
    """CPU and memory per service: the sum over its pods' containers, from the metrics API's
    PodMetrics (matched to the service by the pod's name)."""
    owner = {
        p["metadata"]["name"]: (p["metadata"].get("labels") or {}).get(NAME)
        for p in pods
        if ROLE not in (p["metadata"].get("labels") or {})
    }
    found: dict[str, tuple[float, int]] = {}
    for item in metrics:
        service = owner.get(item["metadata"]["name"])
        if service is None:
            continue
        cpu, memory = found.get(service, (0.0, 0))
        for container in item.get("containers") or []:
            use = container.get("usage") or {}
            cpu += cores(str(use.get("cpu", "0")))
            memory += memory_bytes(str(use.get("memory", "0")))
        found[service] = (cpu, memory)
    return [ServiceUsage(s, *found[s]) for s in services if s in found]
