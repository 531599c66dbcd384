"""Prometheus scrapes what the blueprint declares, on the kind testbed: examples/shop deployed
(once for this module) by `devkit deploy` with its api routed through the testbed's gateway
(Traefik), the testbed's Prometheus as the environment's `Scraper`, and dashboards; traffic
through the gateway; then Prometheus's query API (through the API server's service proxy) holds
the api's own request counts and Traefik's, by service and status code, and every query of the
api's Grafana dashboard returns a series.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from tests.conftest import REPO, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import (
    GATEWAY_NS,
    PROMETHEUS_NAMESPACE,
    TEST_LABEL,
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
        scraper=_Scraper(namespace="PROMETHEUS_NS", dashboards=True),
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


@dataclass(frozen=True)
class Shop:
    root: Path
    env: dict[str, str]
    namespace: str


@pytest.fixture(scope="module")
def shop(
    testbed: K8sTestbed, tmp_path_factory: pytest.TempPathFactory, traefik: Forward
) -> Iterator[Shop]:
    """examples/shop deployed to its own namespace, answering through the gateway."""
    tmp = tmp_path_factory.mktemp("metrics")
    root = tmp / "shop"
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
    namespace = f"test-metrics-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(testbed.api)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels={TEST_LABEL: "1"}))
    )
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
        "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace,
        "TEST_REGISTRY": testbed.registry, "SHOP_DB_PASSWORD": "test-" + uuid.uuid4().hex[:8],
        "DEVKIT_CACHE": str(tmp / "cache"),
    }  # fmt: skip
    try:
        deployed = run_devkit("deploy", "metrics", cwd=root, env=env, timeout=900)
        assert deployed.code == 0, deployed.stderr
        # Traefik may see the route a moment before its Service's endpoints (503 then)
        wait_for("the api through the gateway", lambda: served(traefik.web, HOST, "/version"), 30)
        yield Shop(root, env, namespace)
    finally:
        core.delete_namespace(namespace)


def traffic(traefik: Forward) -> dict[str, int]:
    """Requests through the gateway: 5 answered 200 (/version), 3 answered 404 (no such order)."""
    sent = {"/version": 5, "/orders/987654321": 3}
    for path, times in sent.items():
        for _ in range(times):
            assert http_get(traefik.web, HOST, path)[0] in (200, 404)
    return {"200": 5, "404": 3}


def test_prometheus_counts_the_shops_requests_by_service_and_status_code(
    shop: Shop, testbed: K8sTestbed, traefik: Forward, prometheus: ClusterPrometheus
) -> None:
    namespace = shop.namespace
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

    least = traffic(traefik)
    # the api's own counter, by service and status code
    own = prometheus.wait_for_counts(
        "sum by (service, code) (http_requests_total"
        f'{{namespace="{namespace}", route=~"/version|/orders/.id."}})',
        least,
        30,
    )
    assert {s["metric"]["service"] for s in own} == {"api"}

    # Traefik's, for the api's Service (Traefik's name for a route's backend ends in
    # -svc-<namespace>-<service>-<n>@kubernetesgateway)
    prometheus.wait_for_counts(
        "sum by (code) (traefik_service_requests_total"
        f'{{service=~".*-svc-{namespace}-api-[0-9]+@kubernetesgateway"}})',
        least,
        30,
    )


def test_every_query_of_the_apis_dashboard_returns_a_series_after_traffic(
    shop: Shop, testbed: K8sTestbed, traefik: Forward, prometheus: ClusterPrometheus
) -> None:
    # the dashboard as Grafana's sidecar would find it, in the environment's namespace
    maps = json.loads(
        testbed.kubectl(
            "get", "configmaps", "-n", shop.namespace, "-l", "grafana_dashboard=1", "-o", "json"
        ).stdout
    )
    (found,) = maps["items"]
    (text,) = found["data"].values()
    board = json.loads(text)

    # and as `devkit render --dashboards` writes it: the same dashboard
    folder = shop.root / "dashboards"
    rendered = run_devkit(
        "render", "metrics", "--dashboards", str(folder), cwd=shop.root, env=shop.env
    )
    assert rendered.code == 0, rendered.stderr
    (written,) = folder.glob("*.json")
    assert json.loads(written.read_text()) == board

    traffic(traefik)
    prometheus.wait_for_series(f'http_requests_total{{namespace="{shop.namespace}"}}', 30)
    queries = [
        (panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]
    ]
    assert len(queries) >= 8
    # Grafana's $__rate_interval is at least four scrape intervals (2 s for the api, 5 s for
    # cAdvisor here); 1m is what it gives for Prometheus's default 15 s
    pending = {
        title + ": " + expr: expr.replace("$__rate_interval", "1m") for title, expr in queries
    }

    deadline = time.monotonic() + 45
    while pending and time.monotonic() < deadline:
        for key, promql in list(pending.items()):
            if prometheus.query(promql):
                del pending[key]
        time.sleep(1 if pending else 0)
    assert not pending, f"queries without a series after 45 s: {list(pending)}"


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor"])
def test_the_api_server_accepts_the_rendered_monitors_against_the_operators_crds(
    testbed: K8sTestbed, namespace: str, tmp_path: Path, kind: str
) -> None:
    """The Prometheus Operator's CRDs (v0.85.0, installed by testbed/monitoring.sh; no operator
    runs) validate what devkit renders: server-side dry-run, strict field validation."""
    from devkit import Blueprint, Kubernetes, Metrics, Scraper
    from devkit.planning.planner import plan
    from devkit.render import render
    from devkit.render.emit import dump_all

    app = Blueprint("mon")
    app.service("api", image="api:1", ports={"http": 8000}, metrics=Metrics("http", interval=2))
    scraper = Scraper(namespace="monitoring", discovery=kind, labels={"release": "kps"})
    app.environment("k", Kubernetes(namespace=namespace, scraper=scraper))
    (monitor,) = [o for o in render(plan(app, "k")).objects if o["kind"] == kind]

    def dry_run(obj: dict[str, object]) -> subprocess.CompletedProcess[str]:
        path = tmp_path / "monitor.yaml"
        path.write_text(dump_all([obj], "test"))
        return subprocess.run(
            [str(testbed.kubectl_bin), "--kubeconfig", str(testbed.kubeconfig), "apply",
             "--server-side", "--dry-run=server", "--validate=strict", "--field-manager=devkit",
             "-f", str(path), "-o", "json"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    accepted = dry_run(monitor)
    assert accepted.returncode == 0, accepted.stderr
    echoed = json.loads(accepted.stdout)
    assert echoed["kind"] == kind and echoed["spec"]["selector"] == monitor["spec"]["selector"]

    # a field the CRD does not know is refused, so the check above is the CRD's schema at work
    endpoints = "endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"
    wrong = json.loads(json.dumps(monitor))
    wrong["spec"][endpoints][0]["scrapeEvery"] = "2s"
    refused = dry_run(wrong)
    assert refused.returncode != 0
    assert "scrapeEvery" in refused.stderr, refused.stderr
