"""Decide what the Kubernetes target does: what to apply (in order), what to prune, and whether
a rollout is done, failed or still going (kstatus semantics). Pure: plain dicts in, data out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from devkit.render.manifest import KIND_ORDER

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"
RECORD_KIND = "devkit.dev/record"  # label of release records and the lock: never pruned

Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name

# What devkit renders and so may prune, with the API group/version to list it by.
PRUNABLE: dict[str, str] = {
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
}
_ORDER = ("Namespace", "Secret", *KIND_ORDER[1:], "Job")


def key(obj: Mapping[str, Any]) -> Key:
    meta = obj["metadata"]
    return (obj["kind"], meta.get("namespace") or "", meta["name"])


def ordered(objects: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Apply order: namespaces, then config and secrets, workloads, then traffic."""

    def rank(obj: Mapping[str, Any]) -> tuple[int, str]:
        kind = obj["kind"]
        return (_ORDER.index(kind) if kind in _ORDER else len(_ORDER), obj["metadata"]["name"])

    return [dict(o) for o in sorted(objects, key=rank)]


def secret(
    name: str, namespace: str, labels: Mapping[str, str], values: Mapping[str, str]
) -> dict[str, Any]:
    """The environment's Secret, from values held in memory only (never written anywhere)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "type": "Opaque",
        "stringData": dict(sorted(values.items())),
    }


def to_prune(applied: Iterable[Key], live: Sequence[Mapping[str, Any]], instance: str) -> list[Key]:
    """Live objects this environment applied before (its labels) that it no longer applies.

    Anything without devkit's managed-by label and this instance's label is never touched, nor
    are release records and locks.
    """
    keep = set(applied)
    found = []
    for obj in live:
        labels = obj.get("metadata", {}).get("labels") or {}
        if labels.get(MANAGED_BY) != "devkit" or labels.get(INSTANCE) != instance:
            continue
        if RECORD_KIND in labels or obj["kind"] == "Namespace":
            continue
        if key(obj) not in keep:
            found.append(key(obj))
    return sorted(found, key=lambda k: (-_rank(k[0]), k[2]))


def _rank(kind: str) -> int:
    return _ORDER.index(kind) if kind in _ORDER else len(_ORDER)


State = Literal["current", "in-progress", "failed"]


@dataclass(frozen=True)
class Status:
    state: State
    message: str = ""


def rollout_status(obj: Mapping[str, Any]) -> Status:
    """Whether an object has reached what its spec asks (kstatus's Current), as live data."""
    kind = obj["kind"]
    meta, spec, status = obj["metadata"], obj.get("spec") or {}, obj.get("status") or {}
    generation, observed = meta.get("generation"), status.get("observedGeneration")
    if kind in ("Deployment", "StatefulSet") and (observed is None or observed < generation):
        return Status("in-progress", "the controller has not seen the new spec yet")
    if kind == "Deployment":
        return _deployment(spec, status)
    if kind == "StatefulSet":
        return _statefulset(spec, status)
    if kind == "Job":
        return _job(status)
    return Status("current")


def _condition(status: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    conditions: list[Mapping[str, Any]] = status.get("conditions") or []
    for condition in conditions:
        if condition.get("type") == kind:
            return condition
    return None


def _deployment(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Status:
    want = spec.get("replicas", 1)
    progressing = _condition(status, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Status("failed", progressing.get("message", "progress deadline exceeded"))
    updated = status.get("updatedReplicas", 0)
    total = status.get("replicas", 0)
    available = status.get("availableReplicas", 0)
    if updated < want:
        return Status("in-progress", f"{updated}/{want} pods updated")
    if total > updated:
        return Status("in-progress", f"{total - updated} old pods terminating")
    if available < want:
        return Status("in-progress", f"{available}/{want} pods available")
    return Status("current")


def _statefulset(spec: Mapping[str, Any], status: Mapping[str, Any]) -> Status:
    want = spec.get("replicas", 1)
    ready = status.get("readyReplicas", 0)
    updated = status.get("updatedReplicas", 0)
    if updated < want and status.get("currentRevision") != status.get("updateRevision"):
        return Status("in-progress", f"{updated}/{want} pods updated")
    if ready < want:
        return Status("in-progress", f"{ready}/{want} pods ready")
    return Status("current")


def _job(status: Mapping[str, Any]) -> Status:
    failed = _condition(status, "Failed")
    if failed and failed.get("status") == "True":
        return Status("failed", failed.get("message") or failed.get("reason") or "job failed")
    complete = _condition(status, "Complete")
    if complete and complete.get("status") == "True":
        return Status("current")
    return Status("in-progress", "job running")


_BAD_WAITING = {
    "ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CrashLoopBackOff",
    "CreateContainerConfigError", "CreateContainerError", "ErrImageNeverPull",
}  # fmt: skip


def pod_problem(pod: Mapping[str, Any]) -> str | None:
    """Why a pod of a rollout is not coming up, when it says so (image pulls, crashes, probes)."""
    name = pod["metadata"]["name"]
    status = pod.get("status") or {}
    for container in status.get("containerStatuses") or []:
        waiting = (container.get("state") or {}).get("waiting") or {}
        if waiting.get("reason") in _BAD_WAITING:
            message = waiting.get("message") or ""
            return f"pod {name}: {container['name']}: {waiting['reason']}" + (
                f": {message}" if message else ""
            )
        last = (container.get("lastState") or {}).get("terminated")
        if last and container.get("restartCount", 0) >= 2:
            return (
                f"pod {name}: {container['name']} restarted {container['restartCount']} times, "
                f"last exit {last.get('exitCode')} ({last.get('reason', '')})"
            )
    scheduled = _condition(status, "PodScheduled")
    if (
        scheduled
        and scheduled.get("status") == "False"
        and scheduled.get("reason") == "Unschedulable"
    ):
        return f"pod {name}: unschedulable: {scheduled.get('message', '')}"
    return None


def not_ready(pod: Mapping[str, Any]) -> str | None:
    """A running pod that is not ready (a failing readiness probe), for the timeout message."""
    status = pod.get("status") or {}
    ready = _condition(status, "Ready")
    if status.get("phase") == "Running" and ready and ready.get("status") != "True":
        return f"pod {pod['metadata']['name']} is running but not ready (readiness probe failing)"
    return None
