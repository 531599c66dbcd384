"""Prometheus scrapes what the blueprint declares, on the kind testbed: examples/shop deployed by
`devkit deploy` with its api routed through the testbed's gateway (Traefik) and the testbed's
Prometheus as the environment's `Scraper`; traffic through the gateway; then Prometheus's query
API (through the API server's service proxy) holds the api's own request counts and Traefik's,
by service and status code.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import (
    GATEWAY_NS,
    PROMETHEUS_NAMESPACE,
    ClusterPrometheus,
    Forward,
    K8sTestbed,
    http_get,
    served,
    wait_for,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

HOST = "shop.metrics.test"

# Appended to a copy of examples/shop/blueprint.py: an environment on the testbed, the api routed
# through the shared Gateway, Prometheus's namespace admitted to the metrics port.
ENVIRONMENT = """

import os as _os
from devkit import Gateway as _Gateway, Route as _Route, Scraper as _Scraper

app.environment(
    "metrics",
    Kubernetes(
        context="kind-devkit-testbed",
        registry=_os.environ["TEST_REGISTRY"],
        namespace=_os.environ["TEST_NS"],
        gateway=_Gateway(name="testbed", namespace="GATEWAY_NS", controller_namespace="GATEWAY_NS"),
        scraper=_Scraper(namespace="PROMETHEUS_NS"),
    ),
    # the testbed's node is shared: small CPU requests, so the shop fits beside other tests
    overrides={
        **{name: {"resources": Resources(cpu="10m", memory="64Mi", memory_limit="512Mi")}
           for name in ("worker", "postgres", "redis")},
        "api": {
            "ports": {"http": Port(8000, routes=_Route(hosts="HOST"))},
            "resources": Resources(cpu="10m", memory="64Mi", memory_limit="512Mi"),
        },
    },
    rollout_timeout=300,
)
"""


def test_prometheus_counts_the_shops_requests_by_service_and_status_code(
    testbed: K8sTestbed,
    namespace: str,
    traefik: Forward,
    prometheus: ClusterPrometheus,
    tmp_path: Path,
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(
        REPO / "examples" / "shop", root, ignore=shutil.ignore_patterns("__pycache__", ".env")
    )
    project = f"shop{uuid.uuid4().hex[:5]}"
    text = (
        (root / "blueprint.py").read_text().replace('Blueprint("shop")', f'Blueprint("{project}")')
    )
    extra = (
        ENVIRONMENT.replace("GATEWAY_NS", GATEWAY_NS)
        .replace("PROMETHEUS_NS", PROMETHEUS_NAMESPACE)
        .replace("HOST", HOST)
    )
    (root / "blueprint.py").write_text(text + extra)
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
        "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace,
        "TEST_REGISTRY": testbed.registry, "SHOP_DB_PASSWORD": "test-" + uuid.uuid4().hex[:8],
        "DEVKIT_CACHE": str(tmp_path / "cache"),
    }  # fmt: skip

    deployed = run_devkit("deploy", "metrics", cwd=root, env=env, timeout=900)
    assert deployed.code == 0, deployed.stderr

    # what devkit rendered for the api (and only for it): the scrape annotations
    pods = json.loads(testbed.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)
    annotated = {
        p["metadata"]["labels"]["app.kubernetes.io/name"]: p["metadata"].get("annotations", {})
        for p in pods["items"]
    }
    assert annotated["api"]["prometheus.io/scrape"] == "true"
    assert annotated["api"]["prometheus.io/port"] == "8000"
    assert annotated["api"]["prometheus.io/path"] == "/metrics"
    assert "prometheus.io/scrape" not in annotated["postgres"]

    # Prometheus reaches the api through its NetworkPolicies (kube-router enforces them)
    up = prometheus.wait_for_series(f'up{{namespace="{namespace}", service="api"}} == 1', 60)
    assert up[0]["metric"]["job"] == "api"

    # Traefik may see the route a moment before its Service's endpoints (it answers 503 then)
    wait_for(
        "the api to answer through the gateway", lambda: served(traefik.web, HOST, "/version"), 30
    )
    sent = {"/version": 5, "/orders/987654321": 3}
    for path, times in sent.items():
        for _ in range(times):
            assert http_get(traefik.web, HOST, path)[0] in (200, 404)

    # the api's own counter, by service and status code
    own = prometheus.wait_for_counts(
        "sum by (service, code) (http_requests_total"
        f'{{namespace="{namespace}", route=~"/version|/orders/.id."}})',
        {"200": 5, "404": 3},
        30,
    )
    assert {s["metric"]["service"] for s in own} == {"api"}

    # Traefik's, for the api's Service (Traefik's name for a route's backend ends in
    # -svc-<namespace>-<service>-<n>@kubernetesgateway)
    prometheus.wait_for_counts(
        "sum by (code) (traefik_service_requests_total"
        f'{{service=~".*-svc-{namespace}-api-[0-9]+@kubernetesgateway"}})',
        {"200": 5, "404": 3},
        30,
    )
