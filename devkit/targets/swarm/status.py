"""What a stack's services run on a swarm, per service and per task: `devkit status` (pure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from devkit.targets.base import PodStatus, ServiceStatus

_FAILED = {"failed", "rejected", "orphaned"}


def task_name(service: str, task: Mapping[str, Any]) -> str:
    """api.2 for a replicated service's second slot; api.<node id> for a global service's task."""
    slot = task.get("Slot")
    return f"{service}.{slot}" if slot else f"{service}.{str(task.get('NodeID', ''))[:12]}"


def swarm_statuses(
    services: Mapping[str, Mapping[str, Any]],
    tasks: Mapping[str, Sequence[Mapping[str, Any]]],
    nodes: Mapping[str, str],
    health: Mapping[str, str],
    ports: Mapping[str, Mapping[int, int]],
) -> list[ServiceStatus]:
    """One row per service, with a PodStatus per task the swarm means to run.

    services: by blueprint name, as the swarm reports them; tasks: each service's tasks (all
    desired states: the failed ones count as restarts of their slot); nodes: node ID ->
    hostname; health: container ID -> the engine's health status (only containers this engine
    runs: another node's are "-"); ports: the published ports devkit prints (published())."""
    rows = []
    for name in sorted(services):
        info = services[name]
        own = tasks.get(name, [])
        wanted = [t for t in own if t.get("DesiredState") == "running"]
        pods = []
        for task in sorted(wanted, key=lambda t: task_name(name, t)):
            state = task["Status"]["State"]
            task_health = health.get(task_container(task), "-")
            failed_before = [
                t for t in own
                if t.get("DesiredState") != "running" and t["Status"]["State"] in _FAILED
                and _slot(t) == _slot(task)
            ]  # fmt: skip
            pods.append(
                PodStatus(
                    name=task_name(name, task),
                    phase=state,
                    ready=state == "running" and task_health in ("healthy", "-"),
                    restarts=len(failed_before),
                    node=nodes.get(task.get("NodeID", ""), task.get("NodeID", "") or "-"),
                    capacity="-",
                )
            )
        spec = info.get("Spec") or {}
        rows.append(
            ServiceStatus(
                service=name,
                container=spec.get("Name", ""),
                state=_state(spec, pods),
                health=_health([health.get(task_container(t), "-") for t in wanted]),
                ports={
                    f"{port}/tcp": f"127.0.0.1:{node_port}"
                    for port, node_port in sorted(ports.get(name, {}).items())
                },
                image=str(spec.get("TaskTemplate", {}).get("ContainerSpec", {}).get("Image", "")),
                pods=tuple(pods),
            )
        )
    return rows


def _slot(task: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """Which place a task fills: its slot (replicated) or its node (global); a task that
    replaces a failed one fills the same place."""
    slot = task.get("Slot")
    return (slot, None) if slot else (None, task.get("NodeID"))


def running(tasks: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The tasks that run and are meant to (not one the swarm is shutting down)."""
    return [t for t in tasks if t.get("DesiredState") == "running"
            and t["Status"]["State"] == "running"]  # fmt: skip


def task_container(task: Mapping[str, Any]) -> str:
    """The ID of the container a task runs, or "" before it has one."""
    return str((task["Status"].get("ContainerStatus") or {}).get("ContainerID", ""))


def _state(spec: Mapping[str, Any], pods: Sequence[PodStatus]) -> str:
    """running when every task the swarm means to run does (and as many as the spec asks);
    else the state of the first one that does not, or "no tasks"."""
    replicated = (spec.get("Mode") or {}).get("Replicated")
    wanted = replicated.get("Replicas", 1) if replicated is not None else None
    if not pods:
        return "scaled to 0" if wanted == 0 else "no tasks"
    behind = [p.phase for p in pods if p.phase != "running"]
    if behind:
        return behind[0]
    if wanted is not None and len(pods) < wanted:
        return f"running {len(pods)}/{wanted}"
    return "running"


def _health(found: Sequence[str]) -> str:
    """One word for the tasks' health: the worst of them; "-" without a health check."""
    for word in ("unhealthy", "starting", "healthy"):
        if word in found:
            return word
    return "-"
