"""How a cluster's Prometheus finds the services that declare metrics.

Without a `Scraper`, or with `Scraper(discovery="annotations")`, the pods carry the
`prometheus.io/scrape`, `prometheus.io/port` and `prometheus.io/path` annotations that the usual
`kubernetes_sd_configs` pod job keeps and follows. With `discovery="ServiceMonitor"` or
`"PodMonitor"` (the Prometheus Operator), one such object per service selects its Service or pods
and names the port and path; the pods then carry no annotations, so a cluster that runs both an
annotation job and the operator does not scrape a service twice.
"""

from __future__ import annotations

from typing import Any

from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels
from devkit.render.network import scraper_settings

MONITORING_API = "monitoring.coreos.com/v1"


def discovery(plan: Plan) -> str:
    """How the environment's scraper discovers services: annotations, unless it says otherwise."""
    scraper = scraper_settings(plan)
    return scraper.discovery if scraper else "annotations"


def scrape_annotations(plan: Plan, service: PlannedService) -> dict[str, str]:
    """The pod annotations that ask an annotation-following Prometheus to scrape the service."""
    metrics = service.metrics
    if metrics is None or discovery(plan) != "annotations":
        return {}
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(service.ports[metrics.port].container),
        "prometheus.io/path": metrics.path,
    }


def monitor(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any] | None:
    """The ServiceMonitor or PodMonitor of a service that declares metrics, when the
    environment's scraper is the Prometheus Operator."""
    metrics = service.metrics
    kind = discovery(plan)
    if metrics is None or kind == "annotations":
        return None
    scraper = scraper_settings(plan)
    extra = dict(scraper.labels) if scraper else {}
    endpoint: dict[str, Any] = {"port": metrics.port, "path": metrics.path}
    if metrics.duration:
        endpoint["interval"] = metrics.duration
        if metrics.interval is not None and metrics.interval < 10:
            endpoint["scrapeTimeout"] = metrics.duration  # the default (10 s) must not exceed it
    spec: dict[str, Any] = {
        "selector": {"matchLabels": labels.selector(plan, service.name)},
        "namespaceSelector": {"matchNames": [namespace]},
        # `job` is the service's name (the value of this label on its Service, or its pods),
        # as on Docker and with the annotations
        "jobLabel": "app.kubernetes.io/name",
    }
    if kind == "ServiceMonitor":
        spec["endpoints"] = [endpoint]
    else:
        spec["podMetricsEndpoints"] = [endpoint]
    return {
        "apiVersion": MONITORING_API,
        "kind": kind,
        "metadata": labels.metadata(
            service.name, namespace, {**labels.of_service(plan, service.name), **extra}
        ),
        "spec": spec,
    }
