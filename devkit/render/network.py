"""How a service is reached: its Service and NetworkPolicies (routes from outside: routes.py).

Ingress traffic is denied by default in the namespace; each service admits, on its ports, only
the services that declare a dependency on it and the one-off pods (verify steps, pre-deploy
jobs) of those and of itself; on its public ports the entry point's namespace (ingress or
gateway controller), and on its metrics ports (those the scraper names, and the one its `metrics`
declares) the metrics scraper's namespace where the target declares one. Egress is denied by
default too (unless the target sets `restrict_egress=False`): a service's pods reach the
cluster's DNS, the services it depends on, and the `Egress` destinations it declares; its one-off
pods reach the same and the service itself.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from typing import Any

from devkit.model.egress import Egress
from devkit.model.ports import Port
from devkit.model.targets import Scraper
from devkit.planning.planner import Plan, PlannedService
from devkit.records.backup import dump_port
from devkit.render import labels, mesh, routes
from devkit.render.workloads import headless_name, kind

DEFAULT_DENY = "default-deny-ingress"
DEFAULT_DENY_EGRESS = "default-deny-egress"
ONE_OFF_EGRESS = "{service}-one-off"
"""The egress policy of a service's one-off pods (they never carry the service's selector)."""

DNS = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
"""The cluster's DNS: CoreDNS and kube-dns pods carry k8s-app=kube-dns on every distribution."""

ISTIOD = {
    "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
    "podSelector": {"matchLabels": {"app": "istiod"}},
}
"""Istio's control plane, which every sidecar reaches for its configuration and certificates."""

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


def restricts_egress(plan: Plan) -> bool:
    """Whether the target confines pods to DNS, their dependencies and declared destinations."""
    return bool(getattr(plan.target, "restrict_egress", True))


def default_deny(plan: Plan, namespace: str) -> list[dict[str, Any]]:
    """The namespace's baseline: no pod admits ingress traffic, nor sends any (where egress is
    restricted), unless a policy says so."""
    kinds = {DEFAULT_DENY: "Ingress", DEFAULT_DENY_EGRESS: "Egress"}
    if not restricts_egress(plan):
        del kinds[DEFAULT_DENY_EGRESS]
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": labels.metadata(name, namespace, labels.common(plan)),
            "spec": {"podSelector": {}, "policyTypes": [kind]},
        }
        for name, kind in kinds.items()
    ]


def _policy_ports(ports: Sequence[Port]) -> list[dict[str, Any]]:
    return [{"port": p.container, "protocol": p.protocol.upper()} for p in ports]


def _pods(match: dict[str, str]) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": match}}


def _namespace_pods(namespace: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}


def one_off_pods(plan: Plan, service: str) -> dict[str, str]:
    """The labels that select a service's one-off pods, verify steps and pre-deploy jobs alike."""
    return {"app.kubernetes.io/instance": labels.instance(plan), ONE_OFF_SERVICE: service}


BACKUP_NAME = "devkit-backup"
"""The name (`app.kubernetes.io/name`) of the scheduled backup's objects and pods."""


def backup_pods(plan: Plan) -> dict[str, str]:
    """The labels that select the scheduled backup's pods."""
    return labels.selector(plan, BACKUP_NAME)


def backup_reaches(plan: Plan) -> dict[str, list[int]]:
    """The services the scheduled backup's pods connect to, and on which ports: those it backs
    up on the port their method reads, and the store, when it is a service of the
    environment, on the endpoint's port."""
    if plan.backups is None:
        return {}
    by_name = {service.name: service for service in plan.services}
    found = {name: [dump_port(by_name[name])] for name in plan.backups.services}
    endpoint = urllib.parse.urlsplit(plan.backups.endpoint)
    if endpoint.hostname in by_name:
        port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
        found[endpoint.hostname] = sorted({*found.get(endpoint.hostname, []), port})
    return found


def _tcp(ports: Sequence[int]) -> list[dict[str, Any]]:
    return [{"port": port, "protocol": "TCP"} for port in ports]


def backup_policy(plan: Plan, namespace: str) -> list[dict[str, Any]]:
    """Where the scheduled backup's pods may connect, where egress is restricted: DNS, the port
    of each service it reads and of the store (a service, or the blocks its `egress`
    declares). Nothing reaches them (the namespace's default deny)."""
    if plan.backups is None or not restricts_egress(plan):
        return []
    egress = _egress_rules(plan, plan.backups.egress, [])
    egress += [
        {"to": [_pods(labels.selector(plan, name))], "ports": _tcp(ports)}
        for name, ports in sorted(backup_reaches(plan).items())
    ]
    pods = backup_pods(plan)
    rules = {"egress": egress}
    return [_policy(plan, namespace, BACKUP_NAME, service=BACKUP_NAME, pods=pods, rules=rules)]


def _egress_rules(
    plan: Plan, egress: Sequence[Egress], dependencies: Sequence[PlannedService]
) -> list[dict[str, Any]]:
    """Where a service's pods may connect: DNS, each dependency's ports, declared blocks."""
    dns_ports = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
    rules: list[dict[str, Any]] = [{"to": [DNS], "ports": dns_ports}]
    if mesh.mesh_of(plan) is not None:
        rules.append({"to": [ISTIOD], "ports": [{"port": 15012, "protocol": "TCP"}]})
    for dependency in dependencies:
        if dependency.ports:
            rules.append(
                {
                    "to": [_pods(labels.selector(plan, dependency.name))],
                    "ports": _policy_ports(list(dependency.ports.values())),
                }
            )
    for block in egress:
        rule: dict[str, Any] = {"to": [{"ipBlock": {"cidr": block.cidr}}]}
        if block.ports:
            rule["ports"] = [{"port": p, "protocol": block.protocol.upper()} for p in block.ports]
        rules.append(rule)
    return rules


def _ingress_rules(
    plan: Plan, service: PlannedService, dependents: Sequence[str]
) -> list[dict[str, Any]]:
    """What may reach the service: on every port its own one-off pods (a verify step tests it; a
    pre-deploy job may read it), its dependents and their one-off pods (which run their pod
    templates and need what they need); the entry point's namespace on public ports; the metrics
    scraper's namespace on the ports it scrapes."""
    sources = [_pods(one_off_pods(plan, service.name))]
    for name in sorted(dependents):
        sources += [_pods(labels.selector(plan, name)), _pods(one_off_pods(plan, name))]
    rules: list[dict[str, Any]] = [
        {"from": sources, "ports": _policy_ports(list(service.ports.values()))}
    ]
    backup = backup_reaches(plan).get(service.name)
    if backup:
        rules.append({"from": [_pods(backup_pods(plan))], "ports": _tcp(backup)})
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
    return rules


def _policy(
    plan: Plan,
    namespace: str,
    name: str,
    *,
    service: str,
    pods: dict[str, str],
    rules: dict[str, Any],
) -> dict[str, Any]:
    """A NetworkPolicy of `service` that selects `pods`, with `rules` by direction."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": labels.metadata(name, namespace, labels.of_service(plan, service)),
        "spec": {
            "podSelector": {"matchLabels": pods},
            "policyTypes": [kind.capitalize() for kind in rules],
            **rules,
        },
    }


def network_policies(
    plan: Plan,
    namespace: str,
    service: PlannedService,
    dependents: Sequence[str],
    dependencies: Sequence[PlannedService],
) -> list[dict[str, Any]]:
    """The service's policy (what reaches its ports; where its pods connect) and, where egress is
    restricted, its one-off pods' (DNS, the service itself, its dependencies, its destinations).
    Nothing for a service without ports where egress is open: the default deny covers it."""
    rules: dict[str, Any] = {}
    if service.ports:
        rules["ingress"] = _ingress_rules(plan, service, dependents)
    restricted = restricts_egress(plan)
    if restricted:
        rules["egress"] = _egress_rules(plan, service.egress, dependencies)
    found = []
    if rules:
        pods = labels.selector(plan, service.name)
        found.append(
            _policy(plan, namespace, service.name, service=service.name, pods=pods, rules=rules)
        )
    if restricted:
        one_off = {"egress": _egress_rules(plan, service.egress, [service, *dependencies])}
        name = ONE_OFF_EGRESS.format(service=service.name)
        pods = one_off_pods(plan, service.name)
        found.append(_policy(plan, namespace, name, service=service.name, pods=pods, rules=one_off))
    return found
