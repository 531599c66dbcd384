"""Routes: an Ingress per service, or HTTPRoutes on the target's Gateway (render/routes.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from devkit import TLS, Blueprint, Gateway, Ingress, Kind, Kubernetes, Port, Route
from devkit.errors import RenderError
from devkit.planning.planner import plan
from devkit.render import render
from devkit.render.routes import duration
from devkit.schemas import available_versions, resolve, validate
from tests.unit.render.conftest import find

SHOP_GATEWAY = Gateway(name="public", namespace="edge")


def app_with(
    target: Kind | Kubernetes, *, web: dict[str, Port] | None = None, api: Port | None = None
) -> Blueprint:
    app = Blueprint("acme")
    app.service("web", image="web:1", ports=web or {"http": Port(8080)})
    if api is not None:
        app.service("api", image="api:1", ports={"http": api})
    app.environment("k", target)
    return app


def objects(app: Blueprint, env: str = "k") -> tuple[dict[str, Any], ...]:
    return render(plan(app, env)).objects


def kinds(app: Blueprint) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objects(app)]


# ---------------------------------------------------------------- the model


def test_a_gateway_is_given_as_namespace_slash_name() -> None:
    target = Kubernetes(gateway="edge/public")
    assert target.gateway == SHOP_GATEWAY
    assert target.gateway.ref == "edge/public"


@pytest.mark.parametrize("text", ["public", "/public", "edge/", "a/b/c", "Edge/public"])
def test_a_gateway_that_is_not_namespace_slash_name_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        Kubernetes(gateway=text)


def test_routes_make_a_port_public_and_take_one_route_or_several() -> None:
    one = Port(8000, routes=Route(hosts="api.acme.dev", paths="/api"))
    assert one.public
    assert one.routes == (Route(hosts=("api.acme.dev",), paths=("/api",)),)
    several = Port(8000, routes=[Route(paths="/a"), Route(paths="/b", hosts=("b.acme.dev",))])
    assert [r.paths for r in several.routes] == [("/a",), ("/b",)]
    with pytest.raises(ValidationError, match="a port with routes is public"):
        Port(8000, public=False, routes=Route())


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"hosts": ("API.acme.dev",)}, "is not a host name"),
        ({"paths": ("api",)}, 'must start with "/"'),
        ({"paths": ()}, "at least one path prefix"),
        ({"timeout": 0}, "greater than 0"),
        ({"retries": 11}, "less than or equal to 10"),
        ({"tls": {}}, "give secret= .* or issuer="),
        ({"tls": {"secret": "x", "cluster_issuer": True}}, "needs issuer="),
    ],
)
def test_a_wrong_route_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Route(**fields)


def test_a_port_without_routes_serialises_as_before() -> None:
    assert "routes" not in Port(8000, public=True).model_dump()
    assert Port(8000, routes=Route()).model_dump()["routes"][0]["paths"] == ("/",)


# ---------------------------------------------------------------- Ingress (no gateway)


def test_without_a_gateway_the_ingress_has_the_routes_hosts_and_paths() -> None:
    route = Route(hosts=("shop.acme.dev", "www.acme.dev"), paths=("/api", "/v2"))
    spec = find(objects(app_with(Kubernetes(), api=Port(8000, routes=route))), "Ingress", "api")
    backend = {"service": {"name": "api", "port": {"name": "http"}}}
    paths = [
        {"path": "/api", "pathType": "Prefix", "backend": backend},
        {"path": "/v2", "pathType": "Prefix", "backend": backend},
    ]
    assert spec["spec"] == {
        "ingressClassName": "nginx",
        "rules": [
            {"host": "shop.acme.dev", "http": {"paths": paths}},
            {"host": "www.acme.dev", "http": {"paths": paths}},
        ],
    }
    assert "annotations" not in spec["metadata"]


def test_an_ingress_route_timeout_and_retries_are_nginx_annotations() -> None:
    route = Route(hosts="api.acme.dev", timeout=2.5, retries=2)
    ingress = find(objects(app_with(Kubernetes(), api=Port(8000, routes=route))), "Ingress", "api")
    assert ingress["metadata"]["annotations"] == {
        "nginx.ingress.kubernetes.io/proxy-read-timeout": "3",
        "nginx.ingress.kubernetes.io/proxy-send-timeout": "3",
        "nginx.ingress.kubernetes.io/proxy-next-upstream-tries": "3",
    }


def test_timeouts_on_an_ingress_of_another_class_are_refused() -> None:
    target = Kubernetes(ingress=Ingress(class_name="haproxy"))
    app = app_with(target, api=Port(8000, routes=Route(timeout=5)))
    with pytest.raises(RenderError, match='this Ingress class is "haproxy"') as info:
        objects(app)
    assert "Kubernetes(gateway=...)" in info.value.render()


def test_an_ingress_host_names_its_certificate_secret_or_a_cert_manager_issuer() -> None:
    app = Blueprint("acme")
    app.service(
        "api", image="api:1",
        ports={"http": Port(8000, routes=Route(hosts="api.acme.dev", tls=TLS(secret="api-cert")))},
    )  # fmt: skip
    app.service(
        "web", image="web:1",
        ports={"http": Port(80, routes=Route(hosts="acme.dev", tls=TLS(issuer="letsencrypt",
                                                                         cluster_issuer=True)))},
    )  # fmt: skip
    app.environment("k", Kubernetes())
    found = objects(app)
    api = find(found, "Ingress", "api")
    assert api["spec"]["tls"] == [{"hosts": ["api.acme.dev"], "secretName": "api-cert"}]
    assert "annotations" not in api["metadata"]
    web = find(found, "Ingress", "web")
    assert web["spec"]["tls"] == [{"hosts": ["acme.dev"], "secretName": "web-tls"}]
    assert web["metadata"]["annotations"] == {"cert-manager.io/cluster-issuer": "letsencrypt"}


def test_tls_without_a_host_is_refused() -> None:
    app = app_with(Kubernetes(), api=Port(8000, routes=Route(tls=TLS(secret="cert"))))
    with pytest.raises(RenderError, match="TLS but no host"):
        objects(app)


def test_a_route_to_another_backend_names_its_port_by_number() -> None:
    route = Route(hosts="shop.acme.dev", paths="/old", backend="legacy-shop")
    ingress = find(objects(app_with(Kubernetes(), api=Port(8000, routes=route))), "Ingress", "api")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]
    assert backend == {"service": {"name": "legacy-shop", "port": {"number": 8000}}}


def test_two_routes_on_the_same_host_and_path_are_refused() -> None:
    app = app_with(
        Kubernetes(),
        web={"http": Port(80, routes=Route(hosts="acme.dev"))},
        api=Port(8000, routes=Route(hosts="acme.dev")),
    )
    with pytest.raises(
        RenderError, match=r"2 public ports \(api.http, web.http\) would share the path / of host"
    ):
        objects(app)


def test_the_same_host_with_different_paths_is_served() -> None:
    app = app_with(
        Kubernetes(),
        web={"http": Port(80, routes=Route(hosts="acme.dev"))},
        api=Port(8000, routes=Route(hosts="acme.dev", paths="/api")),
    )
    assert ("Ingress", "api") in kinds(app)
    assert ("Ingress", "web") in kinds(app)


# ---------------------------------------------------------------- HTTPRoute (gateway)


def test_with_a_gateway_an_http_route_replaces_the_ingress() -> None:
    gateway = Gateway(name="public", namespace="edge", domain="acme.dev")
    app = app_with(Kubernetes(gateway=gateway), api=Port(8000, public=True))
    found = objects(app)
    assert [k for k in kinds(app) if k[0] in ("Ingress", "HTTPRoute")] == [("HTTPRoute", "api")]
    route = find(found, "HTTPRoute", "api")
    assert route["apiVersion"] == "gateway.networking.k8s.io/v1"
    assert route["metadata"]["labels"]["app.kubernetes.io/name"] == "api"
    assert route["spec"] == {
        "parentRefs": [
            {
                "group": "gateway.networking.k8s.io",
                "kind": "Gateway",
                "name": "public",
                "namespace": "edge",
            }
        ],
        "hostnames": ["api.acme.dev"],
        "rules": [
            {
                "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                "backendRefs": [{"name": "api", "port": 8000}],
            }
        ],
    }


def test_an_http_route_has_the_routes_paths_timeouts_and_listener() -> None:
    gateway = Gateway(name="public", namespace="edge", listener="https")
    port = Port(
        8000,
        routes=[
            Route(hosts="shop.acme.dev", paths=("/api", "/v2"), timeout=1.5),
            Route(hosts="shop.acme.dev", paths="/old", backend="legacy-shop", timeout=30),
        ],
    )
    route = find(objects(app_with(Kubernetes(gateway=gateway), api=port)), "HTTPRoute", "api")
    assert route["spec"]["parentRefs"][0]["sectionName"] == "https"
    assert route["spec"]["hostnames"] == ["shop.acme.dev"]
    assert route["spec"]["rules"] == [
        {
            "matches": [
                {"path": {"type": "PathPrefix", "value": "/api"}},
                {"path": {"type": "PathPrefix", "value": "/v2"}},
            ],
            "backendRefs": [{"name": "api", "port": 8000}],
            "timeouts": {"request": "1s500ms"},
        },
        {
            "matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
            "backendRefs": [{"name": "legacy-shop", "port": 8000}],
            "timeouts": {"request": "30s"},
        },
    ]


def test_routes_with_different_hosts_are_http_routes_of_their_own() -> None:
    port = Port(8000, routes=[Route(hosts="a.acme.dev"), Route(hosts="b.acme.dev")])
    app = app_with(Kubernetes(gateway=SHOP_GATEWAY), api=port)
    found = objects(app)
    assert find(found, "HTTPRoute", "api-1")["spec"]["hostnames"] == ["a.acme.dev"]
    assert find(found, "HTTPRoute", "api-2")["spec"]["hostnames"] == ["b.acme.dev"]


def test_without_a_host_or_domain_an_http_route_takes_any_host() -> None:
    app = app_with(Kind("dev", gateway=SHOP_GATEWAY), api=Port(8000, public=True))
    assert "hostnames" not in find(objects(app), "HTTPRoute", "api")["spec"]


def test_retries_on_a_gateway_are_refused_as_not_in_the_standard_channel() -> None:
    app = app_with(Kubernetes(gateway=SHOP_GATEWAY), api=Port(8000, routes=Route(retries=2)))
    with pytest.raises(RenderError, match="not in the Gateway API standard channel") as info:
        objects(app)
    assert info.value.exit_code == 2


def test_tls_on_a_gateway_route_is_refused_and_says_where_the_certificate_goes() -> None:
    route = Route(hosts="api.acme.dev", tls=TLS(secret="api-cert"))
    app = app_with(Kubernetes(gateway=SHOP_GATEWAY), api=Port(8000, routes=route))
    with pytest.raises(RenderError, match="the certificate belongs to the Gateway edge/public"):
        objects(app)


def test_network_policies_admit_the_gateways_controller_namespace() -> None:
    gateway = Gateway(name="public", namespace="edge", controller_namespace="traefik")
    app = app_with(Kubernetes(gateway=gateway), api=Port(8000, public=True))
    policy = find(objects(app), "NetworkPolicy", "api")["spec"]["ingress"]
    # the first rule admits the service's own one-off pods; the last, the gateway's controller
    assert policy[-1] == {
        "from": [
            {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik"}}}
        ],
        "ports": [{"port": 8000, "protocol": "TCP"}],
    }
    plain = app_with(Kubernetes(gateway=SHOP_GATEWAY), api=Port(8000, public=True))
    peer = find(objects(plain), "NetworkPolicy", "api")["spec"]["ingress"][-1]["from"][0]
    assert peer == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "edge"}}}


def test_http_routes_come_last_in_apply_order_and_file_names() -> None:
    manifest = render(
        plan(app_with(Kubernetes(gateway=SHOP_GATEWAY), api=Port(8000, public=True)), "k")
    )
    assert manifest.objects[-1]["kind"] == "HTTPRoute"
    assert sorted(manifest.files())[-1] == "12-httproute-api.yaml"


def test_http_routes_are_validated_against_the_gateway_api_crd_schema() -> None:
    manifest = render(
        plan(app_with(Kubernetes(gateway=SHOP_GATEWAY), api=Port(8000, public=True)), "k")
    )
    validate(manifest.objects, resolve(available_versions()[-1]))  # no SchemaError


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "30s"), (1.5, "1s500ms"), (0.25, "250ms"), (86400, "86400s")]
)
def test_durations_are_gateway_api_durations(seconds: float, text: str) -> None:
    assert duration(seconds) == text
