"""Istio objects for a target declared with mesh="istio" (render/mesh.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from devkit import (
    Blueprint,
    CircuitBreaker,
    ConnectionPool,
    Docker,
    Gateway,
    Istio,
    Kind,
    Kubernetes,
    Port,
    Route,
)
from devkit.errors import BlueprintError
from devkit.planning.planner import plan
from devkit.project.load import load_blueprint
from devkit.render import render
from devkit.render.mesh import duration
from devkit.schemas import available_versions, resolve, validate
from tests.unit.render.conftest import find

MESH_KINDS = {"PeerAuthentication", "DestinationRule", "VirtualService"}


def mesh_app(target: Kind | Kubernetes | Docker | None = None) -> Blueprint:
    app = Blueprint("acme")
    app.service(
        "api",
        image="api:1",
        ports={
            "http": Port(
                8000,
                routes=[
                    Route(paths=("/api", "/v2"), timeout=1.5, retries=2),
                    Route(paths="/slow"),
                ],
            ),
            "admin": 9000,
        },
        circuit_breaker=CircuitBreaker(errors=3, interval=5, ejection=60, max_ejected_percent=50),
        connection_pool=ConnectionPool(
            max_connections=100, connect_timeout=0.25, max_pending_requests=10,
            max_requests=200, max_requests_per_connection=20, max_retries=3, idle_timeout=300,
        ),
    )  # fmt: skip
    app.service(
        "db", image="db:1", ports={"pg": 5432}, connection_pool=ConnectionPool(max_connections=10)
    )
    app.service("worker", image="worker:1")
    app.environment("k", target or Kubernetes(mesh="istio"))
    return app


def objects(app: Blueprint, env: str = "k") -> tuple[dict[str, Any], ...]:
    return render(plan(app, env)).objects


# ---------------------------------------------------------------- the model


def test_a_mesh_is_given_as_istio_or_an_istio_declaration() -> None:
    assert Kubernetes(mesh="istio").mesh == Istio()
    assert Kind("dev", mesh=Istio(revision="1-31")).mesh == Istio(revision="1-31")
    assert Kubernetes().mesh is None
    assert "mesh istio" in Kubernetes(mesh="istio").details()


def test_another_mesh_is_refused_naming_the_one_there_is() -> None:
    with pytest.raises(
        ValidationError, match='"linkerd" is not a mesh devkit renders for: give "istio"'
    ):
        Kubernetes(mesh="linkerd")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: CircuitBreaker(errors=0), "greater than or equal to 1"),
        (lambda: CircuitBreaker(interval=0), "greater than 0"),
        (lambda: CircuitBreaker(max_ejected_percent=101), "less than or equal to 100"),
        (lambda: CircuitBreaker(errors="many"), "valid integer"),
        (ConnectionPool, "give at least one limit"),
        (lambda: ConnectionPool(max_connections=0), "greater than or equal to 1"),
        (lambda: ConnectionPool(max_conections=5), "Extra inputs are not permitted"),
    ],
)
def test_wrong_traffic_settings_are_refused(make: Callable[[], object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        make()


def test_a_wrong_circuit_breaker_is_reported_at_its_line_in_the_blueprint(
    write_blueprint: Callable[[str], Path],
) -> None:
    path = write_blueprint(
        """
        from devkit import Blueprint, CircuitBreaker, Kubernetes

        app = Blueprint("acme")
        app.service("api", image="api:1", ports={"http": 8000},
                    circuit_breaker=CircuitBreaker(errors=0))
        """
    )
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.location is not None
    assert (info.value.location.file, info.value.location.line) == (str(path), 5)
    assert "errors: Input should be greater than or equal to 1" in info.value.render()


def test_a_circuit_breaker_of_the_wrong_type_names_the_service_field(
    write_blueprint: Callable[[str], Path],
) -> None:
    path = write_blueprint(
        """
        from devkit import Blueprint

        app = Blueprint("acme")
        app.service("api", image="api:1", circuit_breaker={"errors": 5, "ejections": 1})
        """
    )
    with pytest.raises(BlueprintError) as info:
        load_blueprint(path)
    assert info.value.location is not None and info.value.location.line == 4
    assert info.value.render().endswith(
        'blueprint.py:4: service "api": circuit_breaker.ejections: unknown field'
    )


def test_services_without_mesh_settings_keep_their_spec_hash() -> None:
    app = Blueprint("acme")
    app.service("worker", image="worker:1")
    app.environment("k", Kubernetes())
    planned = plan(app, "k").services[0]
    assert "circuit_breaker" not in planned.model_dump(mode="json")
    assert "connection_pool" not in planned.model_dump(mode="json")


def test_mesh_settings_without_a_mesh_are_a_plan_warning() -> None:
    app = mesh_app(Kubernetes())
    warnings = plan(app, "k").warnings
    assert (
        'service "api": circuit_breaker and connection_pool take effect only in a service mesh, '
        'and environment "k" declares none (kubernetes): nothing of them is rendered; declare '
        'the target with mesh="istio" where the cluster runs Istio'
    ) in warnings
    assert any(w.startswith('service "db": connection_pool takes effect') for w in warnings)
    assert plan(mesh_app(), "k").warnings == ()
    assert not {o["kind"] for o in objects(app)} & MESH_KINDS


def test_the_settings_can_be_given_per_environment() -> None:
    app = Blueprint("acme")
    api = app.service("api", image="api:1", ports={"http": 8000})
    app.environment("k", Kubernetes(mesh="istio"),
                    overrides={api: {"circuit_breaker": CircuitBreaker()}})  # fmt: skip
    rule = find(objects(app), "DestinationRule", "api")
    assert rule["spec"]["trafficPolicy"]["outlierDetection"]["consecutive5xxErrors"] == 5


# ---------------------------------------------------------------- the objects


def test_a_mesh_namespace_injects_sidecars_and_requires_mutual_tls() -> None:
    found = objects(mesh_app())
    namespace = find(found, "Namespace", "acme-k")
    assert namespace["metadata"]["labels"]["istio-injection"] == "enabled"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    peer = find(found, "PeerAuthentication", "default")
    assert peer["apiVersion"] == "security.istio.io/v1"
    assert peer["metadata"]["namespace"] == "acme-k"
    assert peer["spec"] == {"mtls": {"mode": "STRICT"}}
    assert [o["kind"] for o in found].count("PeerAuthentication") == 1


def test_a_revisioned_control_plane_is_named_on_the_namespace() -> None:
    namespace = objects(mesh_app(Kubernetes(mesh=Istio(revision="1-31"))))[0]
    assert namespace["metadata"]["labels"]["istio.io/rev"] == "1-31"
    assert "istio-injection" not in namespace["metadata"]["labels"]


def test_the_virtual_service_has_the_routes_ports_paths_timeouts_and_retries() -> None:
    service = find(objects(mesh_app()), "VirtualService", "api")
    host = "api.acme-k.svc.cluster.local"
    assert service["apiVersion"] == "networking.istio.io/v1"
    assert service["metadata"]["labels"]["app.kubernetes.io/name"] == "api"
    assert service["spec"]["hosts"] == [host]
    to_api = [{"destination": {"host": host, "port": {"number": 8000}}}]
    assert service["spec"]["http"] == [
        {
            "name": "http-1",
            "match": [
                {"uri": {"prefix": "/api"}, "port": 8000},
                {"uri": {"prefix": "/v2"}, "port": 8000},
            ],
            "route": to_api,
            "timeout": "1.5s",
            "retries": {"attempts": 2},
        },
        {"name": "http-2", "match": [{"uri": {"prefix": "/slow"}, "port": 8000}], "route": to_api},
        # calls the routes do not match (another path, the admin port) still reach the service
        {"name": "default", "route": [{"destination": {"host": host}}]},
    ]


def test_a_route_to_another_backend_goes_to_that_service() -> None:
    app = Blueprint("acme")
    app.service("web", image="web:1",
                ports={"http": Port(8080, routes=Route(paths="/old", backend="legacy"))})  # fmt: skip
    app.environment("k", Kubernetes(mesh="istio"))
    service = find(objects(app), "VirtualService", "web")
    assert service["spec"]["http"][0] == {
        "name": "http",
        "match": [{"uri": {"prefix": "/old"}, "port": 8080}],
        "route": [{"destination": {"host": "legacy.acme-k.svc.cluster.local",
                                   "port": {"number": 8080}}}],
    }  # fmt: skip


def test_the_destination_rule_has_the_pool_and_the_circuit_breaker() -> None:
    found = objects(mesh_app())
    rule = find(found, "DestinationRule", "api")
    assert rule["spec"] == {
        "host": "api.acme-k.svc.cluster.local",
        "trafficPolicy": {
            "tls": {"mode": "ISTIO_MUTUAL"},
            "connectionPool": {
                "tcp": {"maxConnections": 100, "connectTimeout": "0.25s"},
                "http": {
                    "http1MaxPendingRequests": 10,
                    "http2MaxRequests": 200,
                    "maxRequestsPerConnection": 20,
                    "maxRetries": 3,
                    "idleTimeout": "300s",
                },
            },
            "outlierDetection": {
                "consecutive5xxErrors": 3,
                "interval": "5s",
                "baseEjectionTime": "60s",
                "maxEjectionPercent": 50,
            },
        },
    }
    assert find(found, "DestinationRule", "db")["spec"]["trafficPolicy"] == {
        "tls": {"mode": "ISTIO_MUTUAL"},
        "connectionPool": {"tcp": {"maxConnections": 10}},
    }


def test_only_services_with_routes_or_traffic_settings_get_mesh_objects() -> None:
    names = {(o["kind"], o["metadata"]["name"]) for o in objects(mesh_app())}
    assert {n for n in names if n[0] in MESH_KINDS} == {
        ("PeerAuthentication", "default"),
        ("VirtualService", "api"),
        ("DestinationRule", "api"),
        ("DestinationRule", "db"),  # a pool, no routes: no VirtualService
    }  # the worker has neither


def test_the_public_entry_stays_the_targets() -> None:
    kinds = {o["kind"] for o in objects(mesh_app(Kubernetes(mesh="istio")))}
    assert {"Ingress", "VirtualService"} <= kinds
    app = Blueprint("acme")
    app.service("api", image="api:1", ports={"http": Port(8000, routes=Route(timeout=3))})
    app.environment("k", Kubernetes(mesh="istio", gateway="edge/public"))
    found = objects(app)
    assert {"HTTPRoute", "VirtualService"} <= {o["kind"] for o in found}
    assert "Ingress" not in {o["kind"] for o in found}
    assert find(found, "VirtualService", "api")["spec"]["http"][0]["timeout"] == "3s"


def test_retries_on_a_gateway_are_still_refused_with_a_mesh() -> None:
    app = Blueprint("acme")
    app.service("api", image="api:1", ports={"http": Port(8000, routes=Route(retries=1))})
    app.environment("k", Kubernetes(mesh="istio", gateway=Gateway(name="public", namespace="edge")))
    with pytest.raises(Exception, match="HTTPRoute retries are not in the Gateway API standard"):
        objects(app)


def test_without_a_mesh_nothing_of_istio_is_rendered() -> None:
    app = Blueprint("acme")
    app.service("api", image="api:1", ports={"http": Port(8000, routes=Route(timeout=5))})
    app.environment("k", Kubernetes())
    found = objects(app)
    assert not {o["kind"] for o in found} & MESH_KINDS
    assert "istio-injection" not in found[0]["metadata"]["labels"]


def test_mesh_objects_come_last_in_apply_order_and_file_names() -> None:
    manifest = render(plan(mesh_app(), "k"))
    assert [o["kind"] for o in manifest.objects][-4:] == [
        "PeerAuthentication", "DestinationRule", "DestinationRule", "VirtualService",
    ]  # fmt: skip
    assert sorted(manifest.files())[-1] == "15-virtualservice-api.yaml"
    assert "11-ingress-api.yaml" in manifest.files()


@pytest.mark.parametrize("version", ["1.25", available_versions()[-1]])
def test_mesh_objects_validate_against_the_istio_crd_schemas(version: str) -> None:
    validate(objects(mesh_app()), resolve(version))  # no SchemaError


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30, "30s"), (1.5, "1.5s"), (0.25, "0.25s"), (0.0001, "0.001s"), (2.0005, "2.001s")],
)
def test_durations_are_protobuf_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text
