"""How a service is reached: its Service and NetworkPolicies (routes from outside: routes.py).

Ingress traffic is denied by default in the namespace; each service admits, on its ports, only
the services that declare a dependency on it, and on its public ports the ingress controller's
namespace (or the gateway's). Egress is not restricted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devkit.model.ports import Port
from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels, routes
from devkit.render.workloads import headless_name, kind

DEFAULT_DENY = "default-deny-ingress"


def _service_ports(service: PlannedService) -> list[dict[str, Any]]:
    return [
        {"name": name, "port": p.container, "targetPort": name, "protocol": p.protocol.upper()}
        for name, p in service.ports.items()
    ]


def services(plan: Plan, namespace: str, service: PlannedService) -> list[dict[str, Any]]:
    """A ClusterIP Service for a service with ports; a headless one too for a StatefulSet."""
    found: list[dict[str, Any]] = []
    object_labels = labels.of_service(plan, service.name)
    selector = labels.selector(plan, service.name)
    if service.ports:
        found.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": labels.metadata(service.name, namespace, object_labels),
                "spec": {
                    "type": "ClusterIP",
                    "selector": selector,
                    "ports": _service_ports(service),
                },
            }
        )
    if kind(service) == "StatefulSet":
        spec: dict[str, Any] = {"clusterIP": "None", "selector": selector}
        if service.ports:
            spec["ports"] = _service_ports(service)
        found.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": labels.metadata(headless_name(service), namespace, object_labels),
                "spec": spec,
            }
        )
    return found


def default_deny(plan: Plan, namespace: str) -> dict[str, Any]:
    """The namespace's baseline: no pod admits ingress traffic unless a policy says so."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": labels.metadata(DEFAULT_DENY, namespace, labels.common(plan)),
        "spec": {"podSelector": {}, "policyTypes": ["Ingress"]},
    }


def _policy_ports(ports: Sequence[Port]) -> list[dict[str, Any]]:
    return [{"port": p.container, "protocol": p.protocol.upper()} for p in ports]


def network_policy(
    plan: Plan, namespace: str, service: PlannedService, dependents: Sequence[str]
) -> dict[str, Any] | None:
    """What may reach the service: its dependents on every port, the ingress controller on public
    ones. None when nothing may (the default deny covers it)."""
    rules: list[dict[str, Any]] = []
    if service.ports and dependents:
        rules.append(
            {
                "from": [
                    {"podSelector": {"matchLabels": labels.selector(plan, name)}}
                    for name in sorted(dependents)
                ],
                "ports": _policy_ports(list(service.ports.values())),
            }
        )
    public = routes.public_ports(service)
    if public:
        controller = routes.controller_namespace(plan)
        rules.append(
            {
                "from": [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": controller}
                        }
                    }
                ],
                "ports": _policy_ports(list(public.values())),
            }
        )
    if not rules:
        return None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {
            "podSelector": {"matchLabels": labels.selector(plan, service.name)},
            "policyTypes": ["Ingress"],
            "ingress": rules,
        },
    }
