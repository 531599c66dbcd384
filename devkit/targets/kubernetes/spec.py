"""Decide what the Kubernetes target does: what to apply (in order), what to prune, and whether
a rollout is done, failed or still going (kstatus semantics). Pure: plain dicts in, data out.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from devkit.model.job import Job
from devkit.render.manifest import KIND_ORDER
from devkit.render.network import ONE_OFF_SERVICE

MANAGED_BY = "app.kubernetes.io/managed-by"
INSTANCE = "app.kubernetes.io/instance"
NAME = "app.kubernetes.io/name"
RECORD_KIND = "devkit.dev/record"  # label of release records and the lock: never pruned

Key = tuple[str, str, str]  # kind, namespace ("" when cluster-scoped), name

# What devkit renders and so may prune, with the API group/version to list it by.
PRUNABLE: dict[str, str] = {
    "ResourceQuota": "v1",
    "LimitRange": "v1",
    "ServiceAccount": "v1",
    "ConfigMap": "v1",
    "Secret": "v1",
    "Service": "v1",
    "Deployment": "apps/v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "CronJob": "batch/v1",
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "PodDisruptionBudget": "policy/v1",
    "NetworkPolicy": "networking.k8s.io/v1",
    "Ingress": "networking.k8s.io/v1",
    "HTTPRoute": "gateway.networking.k8s.io/v1",
    "PeerAuthentication": "security.istio.io/v1",
    "DestinationRule": "networking.istio.io/v1",
    "VirtualService": "networking.istio.io/v1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PodMonitor": "monitoring.coreos.com/v1",
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


SECRET_HASH = "devkit.dev/secret-hash"  # noqa: S105 - an annotation key
"""Pod-template annotation: a short salted hash of the Secret's values, so new values roll pods."""


def with_secret_hash(
    objects: Sequence[Mapping[str, Any]], secret_name: str, values: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Workloads whose pods read `secret_name`, annotated with a hash of its values.

    Pods read a Secret into their environment when they start, so a changed value must change
    the pod template for a rollout to start them again. The hash is 8 hex digits of a salted
    sha256: enough to tell values apart, too short to help anyone guess one.
    """
    text = json.dumps({"salt": f"devkit:{secret_name}", **values}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    result = []
    for given in objects:
        obj = copy.deepcopy(dict(given))
        if obj["kind"] in ("Deployment", "StatefulSet") and secret_name in json.dumps(
            obj["spec"]["template"]["spec"]
        ):
            template = obj["spec"]["template"]
            template.setdefault("metadata", {}).setdefault("annotations", {})[SECRET_HASH] = digest
        result.append(obj)
    return result


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


def replica_failure(obj: Mapping[str, Any]) -> str | None:
    """Why a Deployment cannot create its pods, when its controller says so (a ResourceQuota or
    LimitRange refusing them, an admission webhook)."""
    failure = _condition(obj.get("status") or {}, "ReplicaFailure")
    if failure and failure.get("status") == "True":
        return str(failure.get("message") or failure.get("reason") or "pods cannot be created")
    return None


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


def service_selector(instance: str, service: str) -> str:
    """The label selector of one service's pods (render's `labels.selector`, as a string)."""
    return f"{INSTANCE}={instance},{NAME}={service}"


def is_ready(pod: Mapping[str, Any]) -> bool:
    """Running, Ready and not terminating."""
    status = pod.get("status") or {}
    ready = _condition(status, "Ready")
    return (
        not pod["metadata"].get("deletionTimestamp")
        and status.get("phase") == "Running"
        and ready is not None
        and ready.get("status") == "True"
    )


def not_ready(pod: Mapping[str, Any]) -> str | None:
    """A running pod that is not ready (a failing readiness probe), for the timeout message."""
    status = pod.get("status") or {}
    ready = _condition(status, "Ready")
    if status.get("phase") == "Running" and ready and ready.get("status") != "True":
        return f"pod {pod['metadata']['name']} is running but not ready (readiness probe failing)"
    return None


# One-off pods: verify steps and pre-deploy jobs, made from a service's own pod template.

ROLE = "devkit.dev/role"
SERVICE = ONE_OFF_SERVICE  # the NetworkPolicies admit one-off pods by it
JOB = "devkit.dev/job"
_NOT_FOR_ONE_OFF = ("livenessProbe", "readinessProbe", "startupProbe", "ports", "lifecycle")


def one_off_spec(
    template: Mapping[str, Any], name: str, image: str, command: Sequence[str]
) -> dict[str, Any]:
    """A pod spec that runs `command` once with a service's image settings, environment and
    security context: no probes, ports or hooks, no spreading or affinity, never restarted."""
    spec = dict(template["spec"])
    container = {k: v for k, v in spec["containers"][0].items() if k not in _NOT_FOR_ONE_OFF}
    container.update({"name": name, "image": image, "command": list(command)})
    container.pop("args", None)
    spec.update({"containers": [container], "restartPolicy": "Never"})
    for field in ("affinity", "topologySpreadConstraints", "terminationGracePeriodSeconds"):
        spec.pop(field, None)
    return spec


def one_off_labels(instance: str, role: str, service: str) -> dict[str, str]:
    """Labels of a one-off pod: devkit's and the environment's, never the service's selector
    (its Service must not send traffic there)."""
    return {MANAGED_BY: "devkit", INSTANCE: instance, ROLE: role, SERVICE: service}


def rendered_template(objects: Iterable[Mapping[str, Any]], service: str) -> dict[str, Any] | None:
    """The pod template of a service's workload among a release's objects."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["name"] == service:
            template: dict[str, Any] = obj["spec"]["template"]
            return template
    return None


def _escaped(text: str) -> str:
    """A literal env value: Kubernetes expands $(VAR) in `value`, and `$$` is a literal `$`."""
    return text.replace("$", "$$")


def job_object(
    job: Job,
    name: str,
    image: str,
    *,
    objects: Sequence[Mapping[str, Any]],
    namespace: str,
    instance: str,
    secrets: tuple[str, str] | None,
) -> dict[str, Any]:
    """A Kubernetes Job that runs a pre-deploy job once in the service's new pod template.

    It reads the release's own values, not the live ones: the service's ConfigMap variables are
    inlined (its ConfigMap may not exist yet, or hold the previous release's values), and
    `secrets` = (the environment's Secret, a job-scoped copy) points secret references at the
    copy, so nothing the running release uses is changed before the job passes.
    """
    template = rendered_template(objects, job.service)
    if template is None:
        raise KeyError(job.service)
    spec = one_off_spec(template, "job", image, job.command)
    container = spec["containers"][0]
    config: dict[str, str] = {}
    for source in container.pop("envFrom", []):
        wanted = (source.get("configMapRef") or {}).get("name")
        for obj in objects:
            if obj["kind"] == "ConfigMap" and obj["metadata"]["name"] == wanted:
                config.update(obj.get("data") or {})
    env: list[dict[str, Any]] = [
        {"name": k, "value": _escaped(v)} for k, v in sorted(config.items())
    ]
    for entry in container.get("env", []):
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if ref and secrets and ref.get("name") == secrets[0]:
            ref = {**ref, "name": secrets[1]}
            env.append({**entry, "valueFrom": {"secretKeyRef": ref}})
        else:
            env.append(entry)
    if env:
        container["env"] = env
    labels = {**one_off_labels(instance, "job", job.service), JOB: job.name}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": math.ceil(job.timeout),
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }
