"""The canary's objects and route weights on Kubernetes, decided from a release's objects."""

from __future__ import annotations

from typing import Any

from devkit import Blueprint, Cookie, Gateway, Header, Kubernetes, Port, Route
from devkit.planning.planner import plan
from devkit.render import render
from devkit.schemas import available_versions, resolve, validate
from devkit.targets.base import LiveCanary, Traffic
from devkit.targets.kubernetes import canary


def _objects(replicas: int = 2) -> list[dict[str, Any]]:
    app = Blueprint("shop")
    app.service("db", image="postgres:15", ports={"pg": 5432}, stateful=True)
    app.service(
        "api", image="shop/api:2", env={"MODE": "fast"}, replicas=replicas, depends_on=["db"],
        ports={"http": Port(8000, routes=[Route(paths="/api"), Route(paths="/old", backend="legacy")])},
    )  # fmt: skip
    app.environment("prod", Kubernetes(gateway=Gateway(name="public", namespace="edge")))
    return [dict(o) for o in render(plan(app, "prod")).objects]


def _of(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def test_the_canary_runs_the_new_version_under_its_own_name_and_selector() -> None:
    made = canary.canary_objects(_objects(), "api", 7)
    assert sorted((o["kind"], o["metadata"]["name"]) for o in made) == [
        ("ConfigMap", "api-canary-env"), ("Deployment", "api-canary"),
        ("NetworkPolicy", "api-canary"), ("Service", "api-canary"),
    ]  # fmt: skip
    deployment = _of(made, "Deployment", "api-canary")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "api-canary"
    assert pod_labels["app.kubernetes.io/name"] == "api-canary"
    # the label of api's one-off pods: db's NetworkPolicy admits the canary as it admits api
    assert pod_labels["devkit.dev/service"] == "api"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"][0]["configMapRef"]["name"] == "api-canary-env"
    assert deployment["metadata"]["labels"]["devkit.dev/canary-release"] == "7"
    service = _of(made, "Service", "api-canary")
    assert service["spec"]["selector"]["app.kubernetes.io/name"] == "api-canary"
    policy = _of(made, "NetworkPolicy", "api-canary")
    assert policy["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "api-canary"
    # the release's own objects are untouched
    assert _of(_objects(), "Deployment", "api")["metadata"]["name"] == "api"


def test_weights_split_every_rule_to_the_service_and_leave_other_backends() -> None:
    (route,) = canary.weighted_routes(_objects(), Traffic("api", 10))
    to_api, to_legacy = route["spec"]["rules"]
    assert to_api["backendRefs"] == [
        {"name": "api", "port": 8000, "weight": 90}, {"name": "api-canary", "port": 8000, "weight": 10},
    ]  # fmt: skip
    assert to_legacy["backendRefs"] == [{"name": "legacy", "port": 8000}]


def test_a_header_match_sends_matching_requests_to_the_canary_alone() -> None:
    (route,) = canary.weighted_routes(_objects(), Traffic("api", 0, Header(name="x-ab", value="b")))
    ab, split, _ = route["spec"]["rules"]
    assert ab["matches"] == [{
        "path": {"type": "PathPrefix", "value": "/api"},
        "headers": [{"type": "Exact", "name": "x-ab", "value": "b"}],
    }]  # fmt: skip
    assert ab["backendRefs"] == [{"name": "api-canary", "port": 8000, "weight": 1}]
    assert [r["weight"] for r in split["backendRefs"]] == [100, 0]


def test_a_cookie_match_is_a_regular_expression_on_the_cookie_header() -> None:
    (route,) = canary.weighted_routes(_objects(), Traffic("api", 0, Cookie(name="ab", value="b.1")))
    header = route["spec"]["rules"][0]["matches"][0]["headers"][0]
    assert header == {
        "type": "RegularExpression",
        "name": "Cookie",
        "value": r"(^|;\s*)ab=b\.1(;|$)",
    }


def test_the_stack_with_a_canary_keeps_stable_and_adds_the_canary() -> None:
    stable, new = _objects(), _objects(replicas=3)
    held = canary.with_canary(stable, new, Traffic("api", 50), 7)
    assert _of(held, "Deployment", "api") == _of(stable, "Deployment", "api")
    assert _of(held, "Deployment", "api-canary")["spec"]["replicas"] == 3
    weights = [
        r.get("weight") for r in _of(held, "HTTPRoute", "api")["spec"]["rules"][0]["backendRefs"]
    ]
    assert weights == [50, 50]
    assert canary.live_canary(
        [o for o in held if o["kind"] == "Deployment"],
        [o for o in held if o["kind"] == "HTTPRoute"],
    ) == LiveCanary("api", 7, 50)
    assert canary.differs(stable, new, "api") and not canary.differs(stable, _objects(), "api")


def _mesh_objects() -> list[dict[str, Any]]:
    app = Blueprint("shop")
    app.service("api", image="shop/api:2", ports={"http": Port(8000, routes=Route(paths="/api"))})
    app.environment("prod", Kubernetes(mesh="istio", gateway="edge/public"))
    return [dict(o) for o in render(plan(app, "prod")).objects]


def test_with_istio_the_virtual_service_carries_the_weights_and_the_match_too() -> None:
    stable = _mesh_objects()
    held = canary.with_canary(stable, stable, Traffic("api", 20, Header(name="X-AB", value="b")), 3)
    virtual = _of(held, "VirtualService", "api")
    first, split = virtual["spec"]["http"][:2]
    api, api_canary = "api.shop-prod.svc.cluster.local", "api-canary.shop-prod.svc.cluster.local"
    assert first["match"] == [
        {"uri": {"prefix": "/api"}, "port": 8000, "headers": {"x-ab": {"exact": "b"}}}
    ]
    assert [r["destination"]["host"] for r in first["route"]] == [api_canary]
    assert [(r["destination"]["host"], r["weight"]) for r in split["route"]] == [
        (api, 80), (api_canary, 20),
    ]  # fmt: skip
    assert _of(held, "DestinationRule", "api-canary")["spec"]["host"] == api_canary
    assert {o["kind"] for o in canary.route_objects(held, "api")} == {"HTTPRoute", "VirtualService"}
    validate(held, resolve(available_versions()[-1]))  # the Istio CRD schemas accept them
