"""How public ports are reached from outside a cluster: an Ingress per service (class
configurable, nginx by default), or, when the target names a Gateway, Gateway API HTTPRoutes
attached to it.

Every public port has at least one route (`Port(public=True)` is one route to `/` of
`<service>.<domain>`, or of any host without a domain). On an Ingress, a route's timeout and
retries are ingress-nginx annotations and its TLS is the Ingress's `tls` (plus cert-manager's
annotation for an issuer). On a Gateway, a route's timeout is the HTTPRoute rule's
`timeouts.request`; retries are not in the Gateway API standard channel and TLS certificates
belong to the Gateway's listeners, so both are refused there with what to do instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from devkit.errors import RenderError
from devkit.model.ports import Port
from devkit.model.routes import Gateway, Route
from devkit.model.targets import Ingress
from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels

GATEWAY_API = "gateway.networking.k8s.io/v1"
NGINX = "nginx.ingress.kubernetes.io/"
ISSUER = "cert-manager.io/issuer"
CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"


def ingress_settings(plan: Plan) -> Ingress:
    """The target's ingress settings (defaults for targets that have none, such as Docker)."""
    found = getattr(plan.target, "ingress", None)
    return found if isinstance(found, Ingress) else Ingress()


def gateway_of(plan: Plan) -> Gateway | None:
    """The Gateway the target attaches routes to; None: an Ingress serves them."""
    found = getattr(plan.target, "gateway", None)
    return found if isinstance(found, Gateway) else None


def controller_namespace(plan: Plan) -> str:
    """Where the pods that forward outside traffic run: the gateway's or the ingress controller's
    namespace (the NetworkPolicies admit it to public ports)."""
    gateway = gateway_of(plan)
    if gateway is not None:
        return gateway.controller_namespace or gateway.namespace
    return ingress_settings(plan).namespace


def public_ports(service: PlannedService) -> dict[str, Port]:
    return {name: port for name, port in service.ports.items() if port.public}


@dataclass(frozen=True)
class PlannedRoute:
    """One route of a service's public port, its hosts resolved."""

    service: str
    port_name: str
    port: Port
    route: Route
    hosts: tuple[str, ...]

    @property
    def backend(self) -> str:
        return self.route.backend or self.service

    @property
    def owner(self) -> str:
        return f"{self.service}.{self.port_name}"


def _domain(plan: Plan) -> str | None:
    gateway = gateway_of(plan)
    return gateway.domain if gateway is not None else ingress_settings(plan).domain


def planned_routes(plan: Plan, service: PlannedService) -> list[PlannedRoute]:
    """The service's routes, in declaration order, with default hosts filled in."""
    public = public_ports(service)
    domain = _domain(plan)
    found = []
    for name, port in public.items():
        for route in port.routes or (Route(),):
            hosts = route.hosts
            if not hosts and domain is not None:
                host = f"{service.name}.{domain}"
                hosts = (host if len(public) == 1 else f"{name}.{host}",)
            found.append(PlannedRoute(service.name, name, port, route, hosts))
    return found


def check_public_ports(plan: Plan) -> None:
    """Public ports are HTTP (TCP), and no two routes claim the same host and path."""
    claims: dict[tuple[str, str], list[str]] = {}
    for service in plan.services:
        for name, port in public_ports(service).items():
            if port.protocol != "tcp":
                raise RenderError(
                    f'service "{service.name}": public port "{name}" is {port.protocol}; an '
                    "Ingress or HTTPRoute serves HTTP over TCP only",
                    details=[
                        "make the port not public, or serve it through a LoadBalancer of your own"
                    ],
                )
        for planned in planned_routes(plan, service):
            for host in planned.hosts or ("",):
                for path in planned.route.paths:
                    owners = claims.setdefault((host, path), [])
                    if planned.owner not in owners:
                        owners.append(planned.owner)
    for (host, path), owners in sorted(claims.items()):
        if len(owners) < 2:
            continue
        where = f"host {host}" if host else "one host (any host)"
        fix = (
            'give the target a domain, e.g. Kubernetes(ingress=Ingress(domain="example.com")), '
            "to serve each at <service>.<domain>, or give the routes hosts or paths"
        )
        raise RenderError(
            f'environment "{plan.environment}": {len(owners)} public ports '
            f"({', '.join(sorted(owners))}) would share the path {path} of {where}",
            details=[fix if not host else "give the routes different hosts or paths"],
        )


def objects(plan: Plan, namespace: str, service: PlannedService) -> list[dict[str, Any]]:
    """The service's route objects: HTTPRoutes on the target's Gateway, else one Ingress."""
    routes = planned_routes(plan, service)
    if not routes:
        return []
    gateway = gateway_of(plan)
    if gateway is not None:
        return http_routes(plan, namespace, service, gateway, routes)
    return [ingress(plan, namespace, service, routes)]


# ---------------------------------------------------------------- Ingress


def _seconds(value: float) -> str:
    return str(max(1, math.ceil(value)))


def _ingress_annotations(
    plan: Plan, service: PlannedService, routes: Sequence[PlannedRoute]
) -> dict[str, str]:
    """Annotations of the service's Ingress; its routes must agree on them (one object)."""
    wanted: dict[str, str] = {}
    class_name = ingress_settings(plan).class_name
    for planned in routes:
        route, these = planned.route, {}
        if route.timeout is not None or route.retries is not None:
            if class_name != "nginx":
                raise RenderError(
                    f'service "{service.name}": port "{planned.port_name}" has a route timeout '
                    f"or retries, which the Ingress API has no field for; devkit writes them as "
                    f'ingress-nginx annotations, and this Ingress class is "{class_name}"',
                    details=[
                        "use the class nginx, a Gateway (Kubernetes(gateway=...)) for timeouts, "
                        "or leave timeout= and retries= out"
                    ],
                )
            if route.timeout is not None:
                these[NGINX + "proxy-read-timeout"] = _seconds(route.timeout)
                these[NGINX + "proxy-send-timeout"] = _seconds(route.timeout)
            if route.retries is not None:
                these[NGINX + "proxy-next-upstream-tries"] = str(route.retries + 1)
        if route.tls is not None and route.tls.issuer is not None:
            key = CLUSTER_ISSUER if route.tls.cluster_issuer else ISSUER
            these[key] = route.tls.issuer
        for key, value in these.items():
            if wanted.setdefault(key, value) != value:
                raise RenderError(
                    f'service "{service.name}": its routes differ in {key} ({wanted[key]} and '
                    f"{value}), which is one annotation of its one Ingress",
                    details=["give its routes the same timeout, retries and issuer"],
                )
    return wanted


def _tls_secret(service: PlannedService, planned: PlannedRoute) -> str:
    tls = planned.route.tls
    assert tls is not None
    return tls.secret or f"{service.name}-tls"


def ingress(
    plan: Plan, namespace: str, service: PlannedService, routes: Sequence[PlannedRoute]
) -> dict[str, Any]:
    """One Ingress for the service: a rule per host (or one without a host), a path per route
    path, TLS per certificate."""
    paths_by_host: dict[str, list[dict[str, Any]]] = {}
    tls_by_secret: dict[str, list[str]] = {}
    for planned in routes:
        if planned.route.backend is None:
            port: dict[str, Any] = {"name": planned.port_name}
        else:
            port = {"number": planned.port.container}
        backend = {"service": {"name": planned.backend, "port": port}}
        for host in planned.hosts or ("",):
            paths_by_host.setdefault(host, []).extend(
                {"path": path, "pathType": "Prefix", "backend": backend}
                for path in planned.route.paths
            )
        if planned.route.tls is not None:
            if not planned.hosts:
                raise RenderError(
                    f'service "{service.name}": port "{planned.port_name}" has a route with TLS '
                    "but no host; a certificate is for named hosts",
                    details=["give the route hosts=, or the target's Ingress a domain="],
                )
            hosts = tls_by_secret.setdefault(_tls_secret(service, planned), [])
            hosts += [h for h in planned.hosts if h not in hosts]
    rules = []
    for host, paths in paths_by_host.items():
        rule: dict[str, Any] = {"http": {"paths": paths}}
        if host:
            rule["host"] = host
        rules.append(rule)
    spec: dict[str, Any] = {"ingressClassName": ingress_settings(plan).class_name, "rules": rules}
    if tls_by_secret:
        spec["tls"] = [
            {"hosts": hosts, "secretName": secret} for secret, hosts in tls_by_secret.items()
        ]
    annotations = _ingress_annotations(plan, service, routes) or None
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": labels.metadata(
            service.name, namespace, labels.of_service(plan, service.name), annotations
        ),
        "spec": spec,
    }


# ---------------------------------------------------------------- Gateway API


def duration(seconds: float) -> str:
    """A Gateway API Duration (GEP-2257): "30s", "1s500ms", "250ms"."""
    whole, millis = divmod(max(1, round(seconds * 1000)), 1000)
    return (f"{whole}s" if whole else "") + (f"{millis}ms" if millis else "")


def _check_for_gateway(service: PlannedService, planned: PlannedRoute, gateway: Gateway) -> None:
    route = planned.route
    where = f'service "{service.name}": port "{planned.port_name}"'
    if route.retries is not None:
        raise RenderError(
            f"{where} has a route with retries={route.retries}; HTTPRoute retries are not in the "
            "Gateway API standard channel (v1.6), which devkit renders for gateways",
            details=["leave retries= out of routes on a Gateway, or retry in the client"],
        )
    if route.tls is not None:
        tls = route.tls
        what = f'secret "{tls.secret}"' if tls.secret else f'issuer "{tls.issuer}"'
        raise RenderError(
            f"{where} has a route with TLS ({what}); on a Gateway the certificate belongs to the "
            f"Gateway {gateway.ref}, which devkit does not change",
            details=[
                f"put the certificate in the certificateRefs of an HTTPS listener of {gateway.ref} "
                "(or cert-manager's issuer annotation on that Gateway), whose hostname covers "
                f"{', '.join(planned.hosts) or 'the route'}; then leave tls= out of the route",
            ],
        )


def http_route_names(service: PlannedService, routes: Sequence[PlannedRoute]) -> list[str]:
    """One HTTPRoute per distinct host list (an HTTPRoute's hostnames hold for all its rules):
    named after the service, or `<service>-<n>` when its routes have several host lists."""
    groups = list(dict.fromkeys(planned.hosts for planned in routes))
    if len(groups) == 1:
        return [service.name]
    return [labels.fit(f"{service.name}-{n}") for n in range(1, len(groups) + 1)]


def http_routes(
    plan: Plan,
    namespace: str,
    service: PlannedService,
    gateway: Gateway,
    routes: Sequence[PlannedRoute],
) -> list[dict[str, Any]]:
    """HTTPRoutes attached to the Gateway: a rule per route (its path prefixes, its backend on
    the port's number, its request timeout)."""
    for planned in routes:
        _check_for_gateway(service, planned, gateway)
    groups: dict[tuple[str, ...], list[PlannedRoute]] = {}
    for planned in routes:
        groups.setdefault(planned.hosts, []).append(planned)
    parent: dict[str, Any] = {
        "group": "gateway.networking.k8s.io",
        "kind": "Gateway",
        "name": gateway.name,
        "namespace": gateway.namespace,
    }
    if gateway.listener is not None:
        parent["sectionName"] = gateway.listener
    found = []
    for name, (hosts, members) in zip(
        http_route_names(service, routes), groups.items(), strict=True
    ):
        rules = []
        for planned in members:
            rule: dict[str, Any] = {
                "matches": [
                    {"path": {"type": "PathPrefix", "value": path}} for path in planned.route.paths
                ],
                "backendRefs": [{"name": planned.backend, "port": planned.port.container}],
            }
            if planned.route.timeout is not None:
                rule["timeouts"] = {"request": duration(planned.route.timeout)}
            rules.append(rule)
        spec: dict[str, Any] = {"parentRefs": [parent]}
        if hosts:
            spec["hostnames"] = list(hosts)
        spec["rules"] = rules
        found.append(
            {
                "apiVersion": GATEWAY_API,
                "kind": "HTTPRoute",
                "metadata": labels.metadata(name, namespace, labels.of_service(plan, service.name)),
                "spec": spec,
            }
        )
    return found
