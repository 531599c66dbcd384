"""The pod template of a service: one hardened container, its volumes, probes and placement.

Hardened by default in every environment: non-root, no privilege escalation, all capabilities
dropped, the runtime's default seccomp profile, a read-only root filesystem (unless the service
opts out, or live sync writes into it on a local cluster), no service account token, no
service-link variables. What must be writable is mounted: volumes (claims), scratch paths and
/tmp (emptyDir).
"""

from __future__ import annotations

import re
from typing import Any

from devkit.errors import RenderError
from devkit.planning.placement import Placement
from devkit.planning.planner import Plan, PlannedService
from devkit.render import env, labels, monitoring
from devkit.render.probes import probes
from devkit.render.version import KubeVersion

_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
SLEEP_ACTION = KubeVersion(1, 30)
"""First version with the preStop `sleep` action on by default (PodLifecycleSleepAction beta)."""


def check_names(service: PlannedService) -> None:
    """What Kubernetes asks of names beyond devkit's own rules: a Service name (DNS-1035) starts
    with a letter; a port name is an IANA service name (at most 15 of [a-z0-9-], with a letter)."""
    if not service.name[0].isalpha():
        raise RenderError(
            f'service "{service.name}": a Kubernetes object name must start with a letter',
            details=[
                "Services are named after it, and their names (DNS-1035 labels) begin with a letter"
            ],
        )
    for name in service.ports:
        if len(name) > 15 or "--" in name or not _PORT_NAME.match(name):
            raise RenderError(
                f'service "{service.name}": port name "{name}" cannot be a Kubernetes port name',
                details=[
                    'use at most 15 lowercase letters, digits and single "-", with at least one '
                    'letter, e.g. "http" or "metrics"'
                ],
            )


def _resources(service: PlannedService) -> dict[str, dict[str, str]]:
    res = service.resources
    if res is None:
        return {}
    requests = {k: v for k, v in (("cpu", res.cpu), ("memory", res.memory)) if v}
    limits = {k: v for k, v in (("cpu", res.cpu_limit), ("memory", res.memory_limit)) if v}
    return {k: v for k, v in (("requests", requests), ("limits", limits)) if v}


def writable_root(service: PlannedService) -> bool:
    """Whether the root filesystem is writable: opted out, or relaxed for live sync."""
    security = service.security
    return not security.read_only_root_filesystem or bool(security.writable_for_sync)


def scratch_paths(service: PlannedService, *, read_only_root: bool) -> list[str]:
    """Paths written at run time and not kept: the declared scratch paths, and /tmp when the
    root filesystem is read-only (unless a volume or a scratch path is there already). Pods
    mount them as emptyDir, Docker containers as tmpfs."""
    scratch = list(service.security.scratch_paths)
    taken = {v.path for v in service.volumes.values()} | set(scratch)
    if read_only_root and "/tmp" not in taken:  # noqa: S108 - the container's own /tmp
        scratch.append("/tmp")  # noqa: S108
    return scratch


RESTRICTED_CAPABILITIES = frozenset({"NET_BIND_SERVICE"})
"""What the restricted Pod Security Standard (enforced on devkit's namespaces) lets a pod add."""


def capabilities(service: PlannedService) -> dict[str, list[str]]:
    """All capabilities dropped but those the service declares (which restricted pod security
    must admit)."""
    added = list(service.security.capabilities)
    refused = [name for name in added if name not in RESTRICTED_CAPABILITIES]
    if refused:
        raise RenderError(
            f'service "{service.name}": capabilities {", ".join(refused)} cannot be added on '
            "Kubernetes",
            details=[
                "the environment's namespace enforces the restricted pod security standard, "
                "which admits only NET_BIND_SERVICE; override capabilities for this environment"
            ],
        )
    return {"drop": ["ALL"], **({"add": added} if added else {})}


def _mounts(service: PlannedService) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(volumeMounts, pod volumes): claims for volumes, emptyDir for scratch paths and /tmp."""
    mounts = [{"name": name, "mountPath": v.path} for name, v in service.volumes.items()]
    volumes: list[dict[str, Any]] = []
    scratch = scratch_paths(service, read_only_root=not writable_root(service))
    for number, path in enumerate(scratch):
        name = "dk-tmp" if path == "/tmp" else f"dk-scratch-{number}"  # noqa: S108
        mounts.append({"name": name, "mountPath": path})
        volumes.append({"name": name, "emptyDir": {}})
    return mounts, volumes


def _pre_stop(seconds: int, version: KubeVersion) -> dict[str, Any]:
    if version >= SLEEP_ACTION:
        return {"preStop": {"sleep": {"seconds": seconds}}}
    return {"preStop": {"exec": {"command": ["sleep", str(seconds)]}}}


def container(
    service: PlannedService, plan: Plan, image: str, version: KubeVersion
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The service's container and the pod volumes its mounts need."""
    mounts, volumes = _mounts(service)
    spec: dict[str, Any] = {
        "name": service.name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "capabilities": capabilities(service),
            "readOnlyRootFilesystem": not writable_root(service),
            "runAsNonRoot": True,
        },
        **probes(service.health),
    }
    if service.entrypoint:
        spec["command"] = list(service.entrypoint)  # like Docker's entrypoint
    if service.command:
        spec["args"] = list(service.command)  # like Docker's CMD: the image's entrypoint stays
    if service.ports:
        spec["ports"] = [
            {"name": name, "containerPort": port.container, "protocol": port.protocol.upper()}
            for name, port in service.ports.items()
        ]
    if env.config_data(service):
        spec["envFrom"] = [{"configMapRef": {"name": f"{service.name}-env"}}]
    secret_env = env.secret_env(plan, service)
    if secret_env:
        spec["env"] = secret_env
    resources = _resources(service)
    if resources:
        spec["resources"] = resources
    if mounts:
        spec["volumeMounts"] = mounts
    if service.placement and service.placement.pre_stop:
        spec["lifecycle"] = _pre_stop(service.placement.pre_stop, version)
    return spec, volumes


def _affinity(placement: Placement) -> dict[str, Any]:
    terms = [
        {
            "matchExpressions": [
                {"key": r.key, "operator": r.operator, "values": list(r.values)} for r in term
            ]
        }
        for term in placement.node_terms
    ]
    if placement.affinity == "required":
        return {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}
            }
        }
    return {
        "nodeAffinity": {
            "preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 100, "preference": term} for term in terms
            ]
        }
    }


def _spread(plan: Plan, service: PlannedService) -> list[dict[str, Any]]:
    return [
        {
            "maxSkew": 1,
            "topologyKey": key,
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": labels.selector(plan, service.name)},
        }
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]


def _placement(plan: Plan, service: PlannedService, several: bool) -> dict[str, Any]:
    placement = service.placement
    if placement is None:
        return {}
    spec: dict[str, Any] = {"affinity": _affinity(placement)}
    if placement.tolerations:
        spec["tolerations"] = [
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
            for t in placement.tolerations
        ]
    if placement.spread and several:
        spec["topologySpreadConstraints"] = _spread(plan, service)
    if placement.termination_grace is not None:
        spec["terminationGracePeriodSeconds"] = placement.termination_grace
    return spec


def _pod_security(service: PlannedService) -> dict[str, Any]:
    context: dict[str, Any] = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
    uid = service.security.run_as_user
    if uid is not None:
        context.update(runAsUser=uid, runAsGroup=uid, fsGroup=uid)
    return context


def template(
    plan: Plan,
    service: PlannedService,
    image: str,
    version: KubeVersion,
    *,
    several: bool,
    pod_labels: dict[str, str],
    config_hash: str | None,
) -> dict[str, Any]:
    """The pod template; `several` when more than one replica may run (spreading applies)."""
    main, volumes = container(service, plan, image, version)
    spec: dict[str, Any] = {
        "serviceAccountName": service.name,
        "automountServiceAccountToken": service.security.service_account_token,
        "enableServiceLinks": False,
        "securityContext": _pod_security(service),
        "containers": [main],
        **_placement(plan, service, several),
    }
    if volumes:
        spec["volumes"] = volumes
    pull_secrets = getattr(plan.target, "image_pull_secrets", ())
    if pull_secrets:
        spec["imagePullSecrets"] = [{"name": name} for name in pull_secrets]
    meta: dict[str, Any] = {"labels": pod_labels}
    annotations = {labels.CONFIG_HASH: config_hash} if config_hash else {}
    annotations.update(monitoring.scrape_annotations(plan, service))
    if annotations:
        meta["annotations"] = annotations
    return {"metadata": meta, "spec": spec}
