"""`diff(a, b)`: how two environments' objects differ."""

from __future__ import annotations

from devkit.model.blueprint import Blueprint
from devkit.planning.planner import plan
from devkit.render import diff, render


def test_staging_to_prod(shop: Blueprint) -> None:
    changes = diff(render(plan(shop, "staging")), render(plan(shop, "prod")))
    by_key = {(c.kind, c.name): c for c in changes}
    assert by_key[("HorizontalPodAutoscaler", "api")].change == "added"
    api = by_key[("Deployment", "api")]
    assert api.change == "changed"
    assert "-  replicas: 2\n" in api.diff
    assert "+                operator: NotIn\n" in api.diff
    assert "-      terminationGracePeriodSeconds: 25\n" in api.diff
    assert api.diff.startswith("--- staging/Deployment/api\n+++ prod/Deployment/api\n")
    assert set(by_key) == {
        ("Deployment", "api"),
        ("Deployment", "worker"),
        ("HorizontalPodAutoscaler", "api"),
        ("Ingress", "api"),  # prod's route has a timeout and retries
        ("Namespace", "<namespace>"),  # prod runs Istio: sidecar injection
        ("PeerAuthentication", "default"),
        ("DestinationRule", "api"),
        ("VirtualService", "api"),
        *[
            ("NetworkPolicy", f"{name}{suffix}")  # prod's sidecars reach istiod
            for name in ("api", "postgres", "redis", "worker")
            for suffix in ("", "-one-off")
        ],
    }  # the rest differ only in namespace and instance label
    namespace = by_key[("Namespace", "<namespace>")]
    assert namespace.change == "changed"
    assert "+    istio-injection: enabled\n" in namespace.diff
    assert {
        by_key[("VirtualService", "api")].change,
        by_key[("PeerAuthentication", "default")].change,
    } == {"added"}


def test_an_environment_against_itself_is_empty(shop: Blueprint) -> None:
    assert diff(render(plan(shop, "prod")), render(plan(shop, "prod"))) == []
