"""`render(plan, images) -> Manifest`: every Kubernetes object of an environment, as plain data.

Pure: no files, no cluster, no clock. The same plan, images and version give the same objects and
the same YAML, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devkit.planning.planner import Plan, PlannedService, content_hash
from devkit.render import (
    backups,
    dashboards,
    emit,
    env,
    labels,
    mesh,
    monitoring,
    network,
    pod,
    routes,
    tenancy,
    workloads,
)
from devkit.render.images import image_refs, tag
from devkit.render.version import DEFAULT, KubeVersion, parse

KubeObject = dict[str, Any]

KIND_ORDER = (
    "Namespace", "ResourceQuota", "LimitRange", "ServiceAccount", "ConfigMap", "Service",
    "Deployment", "StatefulSet",
    "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy", "Ingress", "HTTPRoute",
    "PeerAuthentication", "DestinationRule", "VirtualService", "ServiceMonitor", "PodMonitor",
    "CronJob",
)  # fmt: skip
"""The order objects are applied in (and numbered in file names): what others need comes first."""

UPTIME = "downscaler/uptime"
"""Namespace annotation kube-downscaler acts on: outside these hours workloads scale to zero."""


@dataclass(frozen=True)
class Manifest:
    """An environment's Kubernetes objects, in apply order."""

    project: str
    environment: str
    namespace: str
    kube_version: KubeVersion
    objects: tuple[KubeObject, ...]

    @property
    def header(self) -> str:
        return (
            f"Rendered by devkit from {self.project} environment {self.environment} for "
            f"Kubernetes {self.kube_version}.\nDo not edit: change blueprint.py and render again."
        )

    def to_yaml(self) -> str:
        """One YAML stream of every object."""
        return emit.dump_all(self.objects, self.header)

    def files(self) -> dict[str, str]:
        """One YAML file per object, named so that file order is apply order."""
        found: dict[str, str] = {}
        for obj in self.objects:
            rank = KIND_ORDER.index(obj["kind"])
            found[f"{rank:02d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"] = (
                emit.dump_all([obj], self.header)
            )
        return found


def render(
    plan: Plan, images: Mapping[str, str] | None = None, *, kube_version: str = DEFAULT
) -> Manifest:
    """The Kubernetes objects of `plan`, with `images` (service -> reference) where given."""
    version = parse(kube_version)
    namespace = plan.namespace or labels.fit(f"{plan.project}-{plan.environment}")
    refs = image_refs(plan, images)
    routes.check_public_ports(plan)
    for service in plan.services:
        pod.check_names(service)
    objects: list[KubeObject] = [_namespace(plan, namespace), *tenancy.objects(plan, namespace)]
    dependents = _dependents(plan)
    by_name = {service.name: service for service in plan.services}
    for service in plan.services:
        objects += _service_objects(plan, namespace, service, refs[service.name], version)
        dependencies = [by_name[name] for name in service.depends_on]
        objects += network.network_policies(
            plan, namespace, service, dependents[service.name], dependencies
        )
    objects += network.default_deny(plan, namespace)
    objects += backups.objects(plan, namespace, refs) + network.backup_policy(plan, namespace)
    if mesh.mesh_of(plan) is not None:
        objects.append(mesh.peer_authentication(plan, namespace))
    objects += dashboards.config_maps(plan, namespace)
    objects.sort(key=lambda o: (KIND_ORDER.index(o["kind"]), o["metadata"]["name"]))
    return Manifest(plan.project, plan.environment, namespace, version, tuple(objects))


def _dependents(plan: Plan) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {service.name: [] for service in plan.services}
    for service in plan.services:
        for dep in service.depends_on:
            found[dep].append(service.name)
    return found


def _namespace(plan: Plan, namespace: str) -> KubeObject:
    ns_labels = {
        **labels.common(plan),
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
        **mesh.namespace_labels(plan),
    }
    uptime = plan.profile.uptime if plan.profile else None
    annotations = {UPTIME: uptime.downscaler()} if uptime else None
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": labels.metadata(namespace, None, ns_labels, annotations),
    }


def _service_objects(
    plan: Plan, namespace: str, service: PlannedService, image: str, version: KubeVersion
) -> list[KubeObject]:
    object_labels = labels.of_service(plan, service.name, tag(image))
    objects: list[KubeObject] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": labels.metadata(
                service.name, namespace, labels.of_service(plan, service.name)
            ),
            "automountServiceAccountToken": service.security.service_account_token,
        }
    ]
    config = env.config_data(service)
    if config:
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": labels.metadata(
                    f"{service.name}-env", namespace, labels.of_service(plan, service.name)
                ),
                "data": config,
            }
        )
    template = pod.template(
        plan,
        service,
        image,
        version,
        several=workloads.several(service),
        pod_labels=object_labels,
        config_hash=content_hash(config)[:16] if config else None,
    )
    objects.append(workloads.workload(plan, namespace, service, template, object_labels))
    objects += network.services(plan, namespace, service)
    for extra in (
        workloads.autoscaler(plan, namespace, service),
        workloads.disruption_budget(plan, namespace, service),
    ):
        if extra:
            objects.append(extra)
    monitor = monitoring.monitor(plan, namespace, service)
    return (
        objects
        + routes.objects(plan, namespace, service)
        + mesh.objects(plan, namespace, service)
        + ([monitor] if monitor else [])
    )


__all__ = ["KIND_ORDER", "KubeObject", "Manifest", "render"]
