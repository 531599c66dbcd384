"""A service's workload (Deployment, or StatefulSet for stable storage), its autoscaler and its
disruption budget.

A service is a StatefulSet when it is `stateful` or has volumes: each replica keeps its own claim.
With `autoscale`, the workload has no `replicas` field at all, so that server-side apply leaves
the count to the HorizontalPodAutoscaler instead of fighting it.
"""

from __future__ import annotations

from typing import Any

from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels


def kind(service: PlannedService) -> str:
    return "StatefulSet" if service.stateful or service.volumes else "Deployment"


def headless_name(service: PlannedService) -> str:
    """The headless Service that gives a StatefulSet's pods their stable DNS names."""
    return labels.fit(f"{service.name}-headless")


def several(service: PlannedService) -> bool:
    """Whether more than one replica may run at once."""
    if service.autoscale is not None:
        return service.autoscale.max > 1
    return service.replicas > 1


def workload(
    plan: Plan,
    namespace: str,
    service: PlannedService,
    template: dict[str, Any],
    object_labels: dict[str, str],
) -> dict[str, Any]:
    """The Deployment or StatefulSet running the pod template."""
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels.selector(plan, service.name)},
        "template": template,
    }
    if service.autoscale is None:
        spec["replicas"] = service.replicas
    workload_kind = kind(service)
    if workload_kind == "StatefulSet":
        spec["serviceName"] = headless_name(service)
        if service.volumes:
            spec["volumeClaimTemplates"] = [
                {
                    "metadata": {"name": name, "labels": labels.selector(plan, service.name)},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": volume.size}},
                    },
                }
                for name, volume in service.volumes.items()
            ]
    return {
        "apiVersion": "apps/v1",
        "kind": workload_kind,
        "metadata": labels.metadata(
            service.name, namespace, object_labels, {labels.SPEC_HASH: service.spec_hash}
        ),
        "spec": spec,
    }


def autoscaler(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any] | None:
    """An autoscaling/v2 HorizontalPodAutoscaler on CPU utilisation, when autoscale is set; its
    `behavior` holds the stabilisation windows the service declares (none: the cluster's)."""
    scale = service.autoscale
    if scale is None:
        return None
    behavior: dict[str, Any] = {}
    if scale.scale_up_window is not None:
        behavior["scaleUp"] = {"stabilizationWindowSeconds": scale.scale_up_window}
    if scale.scale_down_window is not None:
        behavior["scaleDown"] = {"stabilizationWindowSeconds": scale.scale_down_window}
    hpa: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": kind(service),
                "name": service.name,
            },
            "minReplicas": scale.min,
            "maxReplicas": scale.max,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": scale.cpu},
                    },
                }
            ],
        },
    }
    if behavior:
        hpa["spec"]["behavior"] = behavior
    return hpa


def disruption_budget(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any] | None:
    """A PodDisruptionBudget (at most one replica down at a time) when several replicas run."""
    if not several(service):
        return None
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": labels.selector(plan, service.name)},
        },
    }
