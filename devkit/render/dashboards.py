"""A Grafana dashboard per service that declares metrics, built with grafana-foundation-sdk.

Panels (each a Prometheus query on a `${datasource}` variable):
- requests per second by status code, and the share of 5xx answers, from the service's own
  `http_requests_total{code}`; latency percentiles (50, 90, 99) from its
  `http_request_duration_seconds` histogram: the names Prometheus's client libraries use for HTTP
  servers, selected by `job` (the service's name, as devkit's discovery labels it) and namespace;
- CPU and memory per pod (cAdvisor's `container_cpu_usage_seconds_total` and
  `container_memory_working_set_bytes`, as the kubelet serves them) against the service's
  requests and limits from the plan, drawn as constant lines;
- restarts in the last hour per pod, from cAdvisor (each container a pod starts is a series of
  `container_start_time_seconds`; without kube-state-metrics there is no restart counter).

Rendered as plain JSON (`devkit render ENV --dashboards DIR`) and, with
`Scraper(dashboards=True)`, as ConfigMaps labelled `grafana_dashboard: "1"` for Grafana's
dashboard sidecar. Pure: the same plan gives the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planning.planner import Plan, PlannedService
from devkit.render import labels
from devkit.render.network import scraper_settings

SIDECAR_LABEL = "grafana_dashboard"
"""The label Grafana's dashboard sidecar (kiwigrid k8s-sidecar, as the Grafana chart runs it)
watches ConfigMaps for, by default."""


@dataclass(frozen=True)
class PanelSpec:
    """One panel: its title, unit and queries (legend, PromQL)."""

    title: str
    unit: str
    queries: tuple[tuple[str, str], ...]


def panels(namespace: str, service: PlannedService) -> list[PanelSpec]:
    """What the service's dashboard shows (its PromQL uses Grafana's `$__rate_interval`)."""
    own = f'namespace="{namespace}", job="{service.name}"'
    pods = f'namespace="{namespace}", container="{service.name}"'
    rate = "[$__rate_interval]"
    requests = f"sum(rate(http_requests_total{{{own}}}{rate}))"
    errors = f'(sum(rate(http_requests_total{{{own}, code=~"5.."}}{rate})) or vector(0))'
    latency = f"sum by (le) (rate(http_request_duration_seconds_bucket{{{own}}}{rate}))"
    resources = service.resources
    cpu_lines: list[tuple[str, str]] = []
    memory_lines: list[tuple[str, str]] = []
    if resources is not None:
        for legend, value in (("request", resources.cpu), ("limit", resources.cpu_limit)):
            if value:
                cpu_lines.append((legend, f"vector({cpu_millicores(value) / 1000:g})"))
        for legend, value in (("request", resources.memory), ("limit", resources.memory_limit)):
            if value:
                memory_lines.append((legend, f"vector({memory_bytes(value)})"))
    cpu = f"sum by (pod) (rate(container_cpu_usage_seconds_total{{{pods}}}{rate}))"
    memory = f"sum by (pod) (container_memory_working_set_bytes{{{pods}}})"
    started = f"count by (pod) (last_over_time(container_start_time_seconds{{{pods}}}[1h]))"
    by_code = f"sum by (code) (rate(http_requests_total{{{own}}}{rate}))"
    return [
        PanelSpec("Requests per second by status code", "reqps", (("{{code}}", by_code),)),
        PanelSpec("Share of 5xx answers", "percentunit", (("5xx", f"{errors} / {requests}"),)),
        PanelSpec(
            "Latency",
            "s",
            tuple((f"p{q}", f"histogram_quantile(0.{q}, {latency})") for q in ("50", "90", "99")),
        ),
        PanelSpec("CPU (cores) against request and limit", "short", (("{{pod}}", cpu), *cpu_lines)),
        PanelSpec(
            "Memory (working set) against request and limit",
            "bytes",
            (("{{pod}}", memory), *memory_lines),
        ),
        PanelSpec("Restarts in the last hour", "short", (("{{pod}}", f"{started} - 1"),)),
    ]


def uid(plan: Plan, service: str) -> str:
    """A stable dashboard uid (Grafana allows 40 characters)."""
    return labels.fit(f"devkit-{plan.project}-{plan.environment}-{service}", 40)


def dashboard(plan: Plan, namespace: str, service: PlannedService) -> dict[str, Any]:
    """The service's dashboard as Grafana's JSON model (a plain dict)."""
    # loaded only when dashboards are rendered (0.2 s): `devkit render` keeps its start-up budget
    from grafana_foundation_sdk.builders import dashboard as grafana  # noqa: PLC0415
    from grafana_foundation_sdk.builders import prometheus, timeseries  # noqa: PLC0415
    from grafana_foundation_sdk.cog.encoder import JSONEncoder  # noqa: PLC0415
    from grafana_foundation_sdk.models.dashboard import DataSourceRef  # noqa: PLC0415

    source = DataSourceRef(type_val="prometheus", uid="${datasource}")
    board = (
        grafana.Dashboard(f"{plan.project} {plan.environment}: {service.name}")
        .uid(uid(plan, service.name))
        .tags(["devkit", plan.project, plan.environment])
        .time("now-1h", "now")
        .refresh("30s")
        .readonly()
        .with_variable(
            grafana.DatasourceVariable("datasource").label("Prometheus").type("prometheus")
        )
    )
    for spec in panels(namespace, service):
        panel = timeseries.Panel().title(spec.title).unit(spec.unit).datasource(source)
        for ref, (legend, expr) in zip("ABCDEFGH", spec.queries, strict=False):
            panel = panel.with_target(
                prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref)
            )
        board = board.with_panel(panel)
    found: dict[str, Any] = json.loads(json.dumps(board.build(), cls=JSONEncoder))
    return found


def dashboards(plan: Plan, namespace: str) -> dict[str, dict[str, Any]]:
    """A dashboard per service that declares metrics, by service name."""
    return {s.name: dashboard(plan, namespace, s) for s in plan.services if s.metrics is not None}


def file_name(plan: Plan, service: str) -> str:
    return f"{plan.project}-{plan.environment}-{service}.json"


def to_json(board: dict[str, Any]) -> str:
    """A dashboard's JSON text: sorted keys, so the same plan gives the same bytes."""
    return json.dumps(board, indent=2, sort_keys=True) + "\n"


def config_maps(plan: Plan, namespace: str) -> list[dict[str, Any]]:
    """The dashboards as ConfigMaps for Grafana's sidecar, when the target's Scraper asks."""
    scraper = scraper_settings(plan)
    if scraper is None or not scraper.dashboards:
        return []
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": labels.metadata(
                labels.fit(f"{name}-dashboard"),
                namespace,
                {**labels.of_service(plan, name), SIDECAR_LABEL: "1"},
            ),
            "data": {file_name(plan, name): to_json(board)},
        }
        for name, board in dashboards(plan, namespace).items()
    ]
