"""How a service is reached: its Service, an Ingress for public ports, and NetworkPolicies.

Ingress traffic is denied by default in the namespace; each service admits, on its ports, only
the services that declare a dependency on it and the one-off pods (verify steps, pre-deploy
jobs) of those and of itself; on its public ports the entry point's namespace (ingress or
gateway controller), and on its metrics ports the metrics scraper's namespace where the target
declares one. Egress is not restricted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devkit.errors import RenderError
from devkit.model.ports import Port
from devkit.model.targets import Ingress, Scraper
from devkit.planner import Plan, PlannedService
from devkit.render import labels
from devkit.render.workloads import headless_name, kind

DEFAULT_DENY = "default-deny-ingress"

ONE_OFF_SERVICE = "devkit.dev/service"
"""Label of devkit's one-off pods (verify steps, pre-deploy jobs): the service whose pod template
they run. They never carry its selector labels (targets/kube_spec.py, one_off_labels)."""


def ingress_settings(plan: Plan) -> Ingress:
    """The target's ingress settings (defaults for targets that have none, such as Docker)."""
    found = getattr(plan.target, "ingress", None)
    return found if isinstance(found, Ingress) else Ingress()


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


def _public(service: PlannedService) -> dict[str, Port]:
    return {name: port for name, port in service.ports.items() if port.public}


def _host(service: PlannedService, port: str, domain: str | None) -> str | None:
    if domain is None:
        return None
    host = f"{service.name}.{domain}"
    return host if len(_public(service)) == 1 else f"{port}.{host}"


def check_public_ports(plan: Plan) -> None:
    """Public ports are HTTP (TCP), and without a domain only one can own the Ingress root."""
    public = [(s, name, p) for s in plan.services for name, p in _public(s).items()]
    for service, name, port in public:
        if port.protocol != "tcp":
            raise RenderError(
                f'service "{service.name}": public port "{name}" is {port.protocol}; an Ingress '
                "serves HTTP over TCP only",
                details=[
                    "make the port not public, or serve it through a LoadBalancer of your own"
                ],
            )
    if len(public) > 1 and ingress_settings(plan).domain is None:
        owners = ", ".join(f"{s.name}.{name}" for s, name, _ in public)
        raise RenderError(
            f'environment "{plan.environment}": {len(public)} public ports ({owners}) would share '
            "the path / of one Ingress host",
            details=[
                'give the target a domain, e.g. Kubernetes(ingress=Ingress(domain="example.com")), '
                "to serve each at <service>.<domain>"
            ],
        )


def ingress(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any] | None:
    """An Ingress routing / of each public port's host to the service."""
    public = _public(service)
    if not public:
        return None
    settings = ingress_settings(plan)
    rules = []
    for name in public:
        rule: dict[str, Any] = {
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": service.name, "port": {"name": name}}},
                    }
                ]
            }
        }
        host = _host(service, name, settings.domain)
        if host:
            rule["host"] = host
        rules.append(rule)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {"ingressClassName": settings.class_name, "rules": rules},
    }


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
    public = _public(service)
    if public:
        entry = ingress_settings(plan).namespace
        rules.append(
            {"from": [_namespace_pods(entry)], "ports": _policy_ports(list(public.values()))}
        )
    scraper = scraper_settings(plan)
    scraped = [p for name, p in service.ports.items() if scraper and name in scraper.ports]
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
