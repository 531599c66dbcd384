"""CRD objects (Gateway API, Istio, Prometheus Operator) validate against their CRDs' schemas,
vendored in devkit/schemas/crds/ by tests/setup/vendor_crd_schemas.py."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from devkit import Blueprint, CircuitBreaker, ConnectionPool, Kubernetes, Port, Route, schemas
from devkit.errors import SchemaError
from devkit.planning.planner import plan
from devkit.render import render
from tests.conftest import REPO
from tests.unit.render.conftest import find

VERSION = schemas.resolve("1.33")
CRDS = REPO / "devkit" / "schemas" / "crds"


def service_monitor() -> dict[str, Any]:
    """A ServiceMonitor with the fields devkit's metrics render writes (the render is another
    branch's; the schema is what this test is about)."""
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "api", "namespace": "shop-prod", "labels": {"release": "prom"}},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "api"}},
            "namespaceSelector": {"matchNames": ["shop-prod"]},
            "jobLabel": "app.kubernetes.io/name",
            "endpoints": [
                {"port": "metrics", "path": "/metrics", "interval": "5s", "scrapeTimeout": "5s"}
            ],
        },
    }


def pod_monitor() -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": {"name": "worker", "namespace": "shop-prod"},
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "worker"}},
            "namespaceSelector": {"matchNames": ["shop-prod"]},
            "jobLabel": "app.kubernetes.io/name",
            "podMetricsEndpoints": [{"port": "metrics", "path": "/metrics", "interval": "30s"}],
        },
    }


def rendered() -> tuple[dict[str, Any], ...]:
    """An HTTPRoute environment and an Istio one: every CRD kind devkit renders."""
    app = Blueprint("acme")
    api = app.service(
        "api",
        image="api:1",
        ports={"http": Port(8000, routes=Route(hosts="acme.dev", paths="/api", timeout=2))},
        circuit_breaker=CircuitBreaker(max_ejected_percent=50),
        connection_pool=ConnectionPool(max_connections=10, idle_timeout=60),
    )
    app.environment("gw", Kubernetes(gateway="edge/public"))
    app.environment("mesh", Kubernetes(mesh="istio"),
                    overrides={api: {"ports": {"http": Port(8000, routes=Route(retries=2))}}})  # fmt: skip
    return render(plan(app, "gw")).objects + render(plan(app, "mesh")).objects


def test_every_vendored_file_names_its_upstream_version_and_licence() -> None:
    files = sorted(p.name for p in CRDS.glob("*.json"))
    assert files == ["gateway-api.json", "istio.json", "prometheus-operator.json"]
    for path in CRDS.glob("*.json"):
        vendored = json.loads(path.read_text())
        upstream = vendored["upstream"]
        assert upstream["license"] == "Apache-2.0"
        assert upstream["version"] in vendored["licence"]
        assert "Licensed under the Apache License, Version 2.0" in vendored["licence"]
        assert "tests/setup/vendor_crd_schemas.py" in vendored["licence"]
    found = {key: (s.module, s.version) for key, s in schemas.crd_schemas().items()}
    assert found == {
        "gateway.networking.k8s.io/v1/HTTPRoute": ("sigs.k8s.io/gateway-api", "v1.6.3"),
        "networking.istio.io/v1/VirtualService": ("istio.io/istio", ISTIO),
        "networking.istio.io/v1/DestinationRule": ("istio.io/istio", ISTIO),
        "security.istio.io/v1/PeerAuthentication": ("istio.io/istio", ISTIO),
        "monitoring.coreos.com/v1/ServiceMonitor": (PROMETHEUS_OPERATOR, "v0.85.0"),
        "monitoring.coreos.com/v1/PodMonitor": (PROMETHEUS_OPERATOR, "v0.85.0"),
    }


ISTIO = "v0.0.0-20260827124520-eed52ebb66ad"
PROMETHEUS_OPERATOR = "github.com/prometheus-operator/prometheus-operator"


def test_the_testbed_installs_the_istio_crds_the_schemas_come_from() -> None:
    script = (REPO / "tests" / "k8s" / "testbed" / "build-istio.sh").read_text()
    match = re.search(r"^ISTIO_VERSION=\$\{ISTIO_VERSION:-(\S+)\}$", script, re.MULTILINE)
    assert match is not None
    assert (
        match[1] == ISTIO == schemas.crd_schemas()["networking.istio.io/v1/VirtualService"].version
    )


def test_the_vendored_files_are_compact() -> None:
    assert sum(p.stat().st_size for p in CRDS.glob("*.json")) < 100_000


def test_rendered_crd_objects_and_monitors_are_valid() -> None:
    objects = [*rendered(), service_monitor(), pod_monitor()]
    kinds = {o["kind"] for o in objects}
    assert {"HTTPRoute", "VirtualService", "DestinationRule", "PeerAuthentication"} <= kinds
    for obj in objects:
        assert schemas.problems(obj, VERSION) == [], obj["kind"]
    schemas.validate(objects, VERSION)


def broken(kind: str, name: str, mutate: Any) -> dict[str, Any]:
    obj = copy.deepcopy(find([*rendered(), service_monitor(), pod_monitor()], kind, name))
    mutate(obj)
    return obj


@pytest.mark.parametrize(
    ("kind", "name", "mutate", "problem"),
    [
        (
            "VirtualService", "api",
            lambda o: o["spec"]["http"][0].update(timeoutz="3s"),
            "spec.http[0]: Additional properties are not allowed ('timeoutz' was unexpected)",
        ),
        (
            "VirtualService", "api",
            lambda o: o["spec"]["http"][0]["retries"].update(attempts="two"),
            "spec.http[0].retries.attempts: 'two' is not of type 'integer'",
        ),
        (
            "DestinationRule", "api",
            lambda o: o["spec"]["trafficPolicy"]["outlierDetection"].update(
                consecutive5xxErrors="five"
            ),
            "spec.trafficPolicy.outlierDetection.consecutive5xxErrors: 'five' is not of type "
            "'integer', 'null'",
        ),
        (
            "PeerAuthentication", "default",
            lambda o: o["spec"]["mtls"].update(mode="STRICTEST"),
            "spec.mtls.mode: 'STRICTEST' is not one of ['UNSET', 'DISABLE', 'PERMISSIVE', "
            "'STRICT']",
        ),
        (
            "HTTPRoute", "api",
            lambda o: o["spec"]["rules"][0]["backendRefs"][0].update(port="8000"),
            "spec.rules[0].backendRefs[0].port: '8000' is not of type 'integer'",
        ),
        (
            "ServiceMonitor", "api",
            lambda o: o["spec"]["endpoints"][0].update(scrapeInterval="30s"),
            "spec.endpoints[0]: Additional properties are not allowed ('scrapeInterval' was "
            "unexpected)",
        ),
        (
            "PodMonitor", "worker",
            lambda o: o["spec"].update(podMetricsEndpoints={"port": "metrics"}),
            "spec.podMetricsEndpoints: {'port': 'metrics'} is not of type 'array'",
        ),
        (
            "DestinationRule", "api",
            lambda o: o["metadata"]["labels"].update(team=7),  # the core ObjectMeta schema
            "metadata.labels.team: 7 is not of type 'string', 'null'",
        ),
        (
            "VirtualService", "api",
            lambda o: o.update(status={}),  # devkit never writes status
            "(object): Additional properties are not allowed ('status' was unexpected)",
        ),
    ],
)  # fmt: skip
def test_a_wrong_field_or_type_is_reported_with_the_object_and_its_field(
    kind: str, name: str, mutate: Any, problem: str
) -> None:
    obj = broken(kind, name, mutate)
    assert schemas.problems(obj, VERSION) == [problem]
    with pytest.raises(SchemaError) as info:
        schemas.validate([obj], VERSION)
    text = info.value.render()
    assert f"{kind}/{name}: {problem}" in text
    assert "1 rendered field(s) fail their schemas" in text and "nothing was written" in text


def test_the_compiled_validator_and_the_reporting_one_agree_on_crd_objects() -> None:
    objects = [*rendered(), service_monitor(), pod_monitor()]
    wrong = [
        broken("VirtualService", "api", lambda o: o["spec"].update(hostz=["x"])),
        broken("DestinationRule", "api", lambda o: o["spec"].update(host=7)),
        broken("ServiceMonitor", "api", lambda o: o["spec"].pop("selector")),
        broken("HTTPRoute", "api", lambda o: o["spec"]["rules"][0].update(matches="all")),
    ]
    for obj in [*objects, *wrong]:
        compiled = schemas._compiled(VERSION, obj["kind"], obj["apiVersion"]).is_valid(obj)
        reporting = schemas._validator(VERSION, obj["kind"], obj["apiVersion"])
        assert compiled == (not list(reporting.iter_errors(obj))), obj
    assert all(schemas.problems(obj, VERSION) for obj in wrong)


def test_a_crd_kind_without_a_vendored_schema_is_a_schema_error() -> None:
    obj = {"apiVersion": "networking.istio.io/v1", "kind": "Gateway", "metadata": {"name": "x"}}
    with pytest.raises(SchemaError, match=r"no Kubernetes 1.33 schema for Gateway") as info:
        schemas.validate([obj], VERSION)
    assert "devkit/schemas/crds/" in info.value.render()
