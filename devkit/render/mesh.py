"""Istio's objects, for a target declared with `mesh="istio"`.

- one PeerAuthentication `default` per namespace: mutual TLS STRICT (plain-text calls refused);
- per service with routes (public ports): a VirtualService for calls inside the mesh to the
  service's cluster name, a route per blueprint route (its port and path prefixes, timeout,
  retries), then a catch-all route to the service, so calls the routes do not match keep working;
- per service with routes, a circuit breaker or a connection pool: a DestinationRule (Istio
  mutual TLS, the connection pool, outlier detection).

The public entry stays the target's (an Ingress, or HTTPRoutes on a Gateway); inside the mesh a
route's hosts do not apply (callers name the service), so its routes match by port and path, in
declaration order. Durations are protobuf JSON durations ("10s", "1.5s").

The objects are plain data like the rest of the render: the canary steps extend
`virtual_service` (route weights) and `destination_rule` (subsets).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from devkit.model.mesh import CircuitBreaker, ConnectionPool, Istio
from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels
from devkit.render.routes import PlannedRoute, planned_routes

NETWORKING = "networking.istio.io/v1"
SECURITY = "security.istio.io/v1"
INJECTION = "istio-injection"
REVISION = "istio.io/rev"


def mesh_of(plan: Plan) -> Istio | None:
    """The mesh the target runs; None: no mesh objects are rendered."""
    found = getattr(plan.target, "mesh", None)
    return found if isinstance(found, Istio) else None


def namespace_labels(plan: Plan) -> dict[str, str]:
    """The labels that have Istio inject sidecars into the namespace's pods."""
    mesh = mesh_of(plan)
    if mesh is None:
        return {}
    return {REVISION: mesh.revision} if mesh.revision else {INJECTION: "enabled"}


def duration(seconds: float) -> str:
    """A protobuf JSON Duration, as Istio reads it: "10s", "1.5s", "0.25s" (whole ms)."""
    millis = max(1, round(seconds * 1000))
    whole, rest = divmod(millis, 1000)
    return f"{whole}s" if not rest else f"{whole}.{rest:03d}".rstrip("0") + "s"


def host(service: str, namespace: str) -> str:
    """The service's name in the cluster, as Istio objects name their hosts."""
    return f"{service}.{namespace}.svc.cluster.local"


def peer_authentication(plan: Plan, namespace: str) -> dict[str, Any]:
    """Mutual TLS STRICT for every workload of the namespace."""
    return {
        "apiVersion": SECURITY,
        "kind": "PeerAuthentication",
        "metadata": labels.metadata("default", namespace, labels.common(plan)),
        "spec": {"mtls": {"mode": "STRICT"}},
    }


def objects(plan: Plan, namespace: str, service: PlannedService) -> list[dict[str, Any]]:
    """The service's VirtualService and DestinationRule (none without a mesh)."""
    if mesh_of(plan) is None:
        return []
    routes = planned_routes(plan, service)
    found = []
    if routes:
        found.append(virtual_service(plan, namespace, service, routes))
    if routes or service.circuit_breaker or service.connection_pool:
        found.append(destination_rule(plan, namespace, service))
    return found


def http_route(planned: PlannedRoute, namespace: str, name: str) -> dict[str, Any]:
    """One VirtualService route: the blueprint route's paths on its port, to its backend."""
    port = planned.port.container
    entry: dict[str, Any] = {
        "name": name,
        "match": [{"uri": {"prefix": path}, "port": port} for path in planned.route.paths],
        "route": [
            {"destination": {"host": host(planned.backend, namespace), "port": {"number": port}}}
        ],
    }
    if planned.route.timeout is not None:
        entry["timeout"] = duration(planned.route.timeout)
    if planned.route.retries is not None:
        entry["retries"] = {"attempts": planned.route.retries}
    return entry


def virtual_service(
    plan: Plan, namespace: str, service: PlannedService, routes: Sequence[PlannedRoute]
) -> dict[str, Any]:
    """Calls inside the mesh to the service: a route per blueprint route (named after its port,
    `<port>-<n>` for a port with several), then `default`, the service on the port called."""
    per_port: dict[str, int] = {}
    for planned in routes:
        per_port[planned.port_name] = per_port.get(planned.port_name, 0) + 1
    seen: dict[str, int] = {}
    http = []
    for planned in routes:
        seen[planned.port_name] = seen.get(planned.port_name, 0) + 1
        name = planned.port_name
        if per_port[planned.port_name] > 1:
            name = f"{name}-{seen[planned.port_name]}"
        http.append(http_route(planned, namespace, name))
    http.append(
        {"name": "default", "route": [{"destination": {"host": host(service.name, namespace)}}]}
    )
    return {
        "apiVersion": NETWORKING,
        "kind": "VirtualService",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {"hosts": [host(service.name, namespace)], "http": http},
    }


def outlier_detection(breaker: CircuitBreaker) -> dict[str, Any]:
    found: dict[str, Any] = {
        "consecutive5xxErrors": breaker.errors,
        "interval": duration(breaker.interval),
        "baseEjectionTime": duration(breaker.ejection),
    }
    if breaker.max_ejected_percent is not None:
        found["maxEjectionPercent"] = breaker.max_ejected_percent
    return found


def connection_pool(pool: ConnectionPool) -> dict[str, Any]:
    tcp: dict[str, Any] = {}
    if pool.max_connections is not None:
        tcp["maxConnections"] = pool.max_connections
    if pool.connect_timeout is not None:
        tcp["connectTimeout"] = duration(pool.connect_timeout)
    http: dict[str, Any] = {}
    for key, value in (
        ("http1MaxPendingRequests", pool.max_pending_requests),
        ("http2MaxRequests", pool.max_requests),
        ("maxRequestsPerConnection", pool.max_requests_per_connection),
        ("maxRetries", pool.max_retries),
    ):
        if value is not None:
            http[key] = value
    if pool.idle_timeout is not None:
        http["idleTimeout"] = duration(pool.idle_timeout)
    return {key: value for key, value in (("tcp", tcp), ("http", http)) if value}


def destination_rule(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any]:
    """How callers' proxies reach the service: Istio mutual TLS, and the service's connection
    pool and circuit breaker when it declares them."""
    policy: dict[str, Any] = {"tls": {"mode": "ISTIO_MUTUAL"}}
    if service.connection_pool is not None:
        policy["connectionPool"] = connection_pool(service.connection_pool)
    if service.circuit_breaker is not None:
        policy["outlierDetection"] = outlier_detection(service.circuit_breaker)
    return {
        "apiVersion": NETWORKING,
        "kind": "DestinationRule",
        "metadata": labels.metadata(service.name, namespace, labels.of_service(plan, service.name)),
        "spec": {"host": host(service.name, namespace), "trafficPolicy": policy},
    }
