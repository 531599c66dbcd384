"""How a service is reached: its Service and NetworkPolicies (routes from outside: routes.py).

Ingress traffic is denied by default in the namespace; each service admits, on its ports, only
the services that declare a dependency on it and the one-off pods (verify steps, pre-deploy
jobs) of those and of itself; on its public ports the entry point's namespace (ingress or
gateway controller), and on its metrics ports (those the scraper names, and the one its `metrics`
declares) the metrics scraper's namespace where the target declares one. Egress is not restricted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devkit.model.ports import Port
from devkit.model.targets import Scraper
from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels, routes
from devkit.render.workloads import headless_name, kind

DEFAULT_DENY = "default-deny-ingress"

ONE_OFF_SERVICE = "devkit.dev/service"
"""Label of devkit's one-off pods (verify steps, pre-deploy jobs): the service whose pod template
they run. They never carry its selector labels (targets/kubernetes/spec.py, one_off_labels)."""


def scraper_settings(plan: Plan) -> Scraper | None:
    """The target's metrics scraper, if it declares one."""
    found = getattr(plan.target, "scraper", None)
    return found if isinstance(found, Scraper) else None


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


def _pods(match: dict[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": match}}


def _namespace_pods(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def one_off_pods(plan: Plan, service: str) -> dict[str, str]:
    """The labels that select a service's one-off pods, verify steps and pre-deploy jobs alike."""
    return {"app.kubernetes.io/instance": labels.instance(plan), ONE_OFF_SERVICE: service}


def network_policy(
    plan: Plan, namespace: str, service: PlannedService, dependents: Sequence[str]
) -> dict[str, Any] | None:
    """What may reach the service: on every port its own one-off pods (a verify step tests it; a
    pre-deploy job may read it), its dependents and their one-off pods (which run their pod
    templates and need what they need); the entry point's namespace on public ports; the metrics
    scraper's namespace on the ports it scrapes. None when the service has no ports (the default
    deny covers it)."""
    if not service.ports:
        return None
    sources = [_pods(one_off_pods(plan, service.name))]
    for name in sorted(dependents):
        sources += [_pods(labels.selector(plan, name)), _pods(one_off_pods(plan, name))]
    rules: list[dict[str, Any]] = [
        {"from": sources, "ports": _policy_ports(list(service.ports.values()))}
    ]
    public = routes.public_ports(service)
    if public:
        entry = routes.controller_namespace(plan)
        rules.append(
            {"from": [_namespace_pods(entry)], "ports": _policy_ports(list(public.values()))}
        )
    scraper = scraper_settings(plan)
    metrics_port = service.metrics.port if service.metrics else None
    scraped = [
        p
        for name, p in service.ports.items()
        if scraper and (name in scraper.ports or name == metrics_port)
    ]
    if scraper and scraped:
        rules.append(
            {"from": [_namespace_pods(scraper.namespace)], "ports": _policy_ports(scraped)}
        )
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
