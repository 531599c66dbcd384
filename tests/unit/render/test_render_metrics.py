"""What a service's `metrics` renders: scrape annotations, or Prometheus Operator monitors; the
NetworkPolicy admission of the scraper; the stock Prometheus's scrape targets on Docker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from blueprints import prometheus
from devkit import Blueprint, Docker, Kind, Kubernetes, Metrics, Scraper, schemas
from devkit.errors import BlueprintError
from devkit.planning.planner import plan
from devkit.render import render
from devkit.render.composefile import compose
from devkit.render.version import DEFAULT
from tests.unit.render.conftest import container, find


def shop(scraper: Scraper | None = None) -> Blueprint:
    app = Blueprint("shop")
    app.service(
        "api",
        image="shop/api:1",
        ports={"http": 8000, "admin": 9000},
        metrics=Metrics("admin", path="/prom", interval=2),
    )
    app.service("worker", image="shop/worker:1", ports={"http": 8001})
    app.environment("local", Docker())
    app.environment("k", Kubernetes(scraper=scraper))
    return app


def objects(app: Blueprint, env: str = "k") -> list[dict[str, Any]]:
    return list(render(plan(app, env)).objects)


def pod_annotations(objs: list[dict[str, Any]], name: str) -> dict[str, str]:
    found: dict[str, str] = find(objs, "Deployment", name)["spec"]["template"]["metadata"].get(
        "annotations", {}
    )
    return found


def test_without_a_scraper_the_pods_carry_the_scrape_annotations() -> None:
    objs = objects(shop())
    assert pod_annotations(objs, "api") == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9000",
        "prometheus.io/path": "/prom",
    }
    assert pod_annotations(objs, "worker") == {}  # declares no metrics
    assert not [o for o in objs if o["kind"] in ("ServiceMonitor", "PodMonitor")]


@pytest.mark.parametrize("kind", ["ServiceMonitor", "PodMonitor"])
def test_an_operator_scraper_gets_a_monitor_per_service_and_no_annotations(kind: str) -> None:
    scraper = Scraper(namespace="monitoring", discovery=kind, labels={"release": "kps"})
    objs = objects(shop(scraper))
    monitor = find(objs, kind, "api")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert monitor["metadata"]["namespace"] == "shop-k"
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["selector"] == {
        "matchLabels": {"app.kubernetes.io/instance": "shop-k", "app.kubernetes.io/name": "api"}
    }
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["shop-k"]}
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    endpoints = monitor["spec"]["endpoints" if kind == "ServiceMonitor" else "podMetricsEndpoints"]
    assert endpoints == [
        {"port": "admin", "path": "/prom", "interval": "2s", "scrapeTimeout": "2s"}
    ]
    assert pod_annotations(objs, "api") == {}
    assert [o["metadata"]["name"] for o in objs if o["kind"] == kind] == ["api"]
    # the Service names the port the ServiceMonitor refers to
    assert "admin" in [p["name"] for p in find(objs, "Service", "api")["spec"]["ports"]]
    # valid against the operator's CRD schema (vendored in devkit/schemas/crds)
    schemas.validate([monitor], schemas.resolve(DEFAULT))


def test_the_scraper_namespace_is_admitted_to_the_metrics_port_only() -> None:
    objs = objects(shop(Scraper(namespace="monitoring")))
    rules = find(objs, "NetworkPolicy", "api")["spec"]["ingress"]
    scraper_rules = [r for r in rules if "namespaceSelector" in r["from"][0]]
    assert scraper_rules == [
        {
            "from": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                    }
                }
            ],
            "ports": [{"port": 9000, "protocol": "TCP"}],
        }
    ]
    worker_rules = find(objs, "NetworkPolicy", "worker")["spec"]["ingress"]
    assert all("namespaceSelector" not in r["from"][0] for r in worker_rules)


def test_metrics_on_an_undeclared_port_is_refused_at_the_declaration() -> None:
    app = Blueprint("shop")
    with pytest.raises(BlueprintError) as err:
        app.service("api", image="api:1", ports={"http": 8000}, metrics=Metrics("metrics"))
    assert 'metrics uses port "metrics", which the service does not declare' in str(err.value)
    assert "declared ports: http" in str(err.value)


def test_metrics_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match='must start with "/"'):
        Metrics("http", path="metrics")


def test_the_stock_prometheus_is_given_every_service_that_declares_metrics() -> None:
    app = shop()
    app.use(prometheus(interval=5))
    app.environment(
        "other",
        Docker(),
        overrides={"worker": {"metrics": Metrics("http")}, "api": {"metrics": None}},
    )
    targets = json.loads(plan(app, "local").service("prometheus").env["PROMETHEUS_TARGETS"])
    assert targets == [
        {
            "targets": ["api:9000"],  # by name and container port on the stack's network
            "labels": {
                "job": "api",
                "service": "api",
                "__metrics_path__": "/prom",
                "__scrape_interval__": "2s",
                "__scrape_timeout__": "2s",
            },
        }
    ]
    overridden = json.loads(plan(app, "other").service("prometheus").env["PROMETHEUS_TARGETS"])
    assert [g["targets"] for g in overridden] == [["worker:8001"]]
    config = plan(app, "local").service("prometheus").env["PROMETHEUS_CONFIG"]
    assert "scrape_interval: 5s" in config and "file_sd_configs" in config


def test_the_stock_prometheus_replaces_the_images_entrypoint() -> None:
    app = shop()
    app.use(prometheus())
    service = plan(app, "k").service("prometheus")
    assert service.entrypoint is not None and service.entrypoint[:2] == ("sh", "-c")
    main = container(find(objects(app), "Deployment", "prometheus"))
    assert main["command"] == list(service.entrypoint)
    assert "args" not in main
    exported = compose(plan(app, "local"))["services"]["prometheus"]
    # compose would interpolate the shell's own variables: they are escaped
    assert exported["entrypoint"] == [a.replace("$", "$$") for a in service.entrypoint]
    assert "$$PROMETHEUS_CONFIG" in exported["entrypoint"][2]


def test_services_without_metrics_or_entrypoint_keep_their_plan_form_and_hash() -> None:
    """Plans made before these fields existed hash the same: unset, they are left out."""
    form = plan(shop(), "k").service("worker").model_dump(mode="json")
    assert "metrics" not in form and "entrypoint" not in form
    assert "metrics" in plan(shop(), "k").service("api").model_dump(mode="json")


def test_a_dashboard_per_service_with_metrics_as_configmaps_only_when_the_scraper_asks() -> None:
    assert not [o for o in objects(shop(Scraper(namespace="m"))) if o["kind"] == "ConfigMap"]
    objs = objects(shop(Scraper(namespace="m", dashboards=True)))
    (config,) = [o for o in objs if o["kind"] == "ConfigMap"]
    assert config["metadata"]["name"] == "api-dashboard"
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    board = json.loads(config["data"]["shop-k-api.json"])
    assert board["uid"] == "devkit-shop-k-api"
    assert board["templating"]["list"][0]["type"] == "datasource"
    titles = [p["title"] for p in board["panels"]]
    assert titles == [
        "Requests per second by status code",
        "Share of 5xx answers",
        "Latency",
        "CPU (cores) against request and limit",
        "Memory (working set) against request and limit",
        "Restarts in the last hour",
    ]
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        for target in panel["targets"]:
            assert 'namespace="shop-k"' in target["expr"]


def test_resource_panels_draw_the_planned_requests_and_limits() -> None:
    from devkit import Resources
    from devkit.render.dashboards import panels

    app = shop()
    app.environment(
        "sized",
        Kubernetes(),
        overrides={"api": {"resources": Resources(cpu="250m", memory="256Mi", memory_limit="1Gi")}},
    )
    service = plan(app, "sized").service("api")
    by_title = {p.title: dict(p.queries) for p in panels("ns", service)}
    cpu = by_title["CPU (cores) against request and limit"]
    assert cpu["request"] == "vector(0.25)" and "limit" not in cpu
    memory = by_title["Memory (working set) against request and limit"]
    assert memory == {
        "{{pod}}": 'sum by (pod) (container_memory_working_set_bytes{namespace="ns", container="api"})',
        "request": f"vector({256 * 2**20})",
        "limit": f"vector({2**30})",
    }


def test_metrics_on_a_cluster_without_a_scraper_is_warned_about() -> None:
    app = shop()
    app.environment("dev", Kind("dev"))
    (warning,) = plan(app, "k").warnings
    assert 'service "api" declares metrics, but environment "k" names no scraper' in warning
    assert 'Kubernetes(scraper=Scraper(namespace="monitoring"))' in warning
    assert plan(shop(Scraper(namespace="monitoring")), "k").warnings == ()
    assert plan(app, "local").warnings == ()  # Docker: the stock Prometheus reaches it
    assert plan(app, "dev").warnings == ()  # a local kind cluster is left alone
