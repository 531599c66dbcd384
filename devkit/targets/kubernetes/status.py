"""What runs for each service of a cluster environment, from its pods and their nodes (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from devkit.planning.placement import SPOT_LABELS
from devkit.targets.base import PodStatus, ServiceStatus
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
