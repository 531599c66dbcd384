"""Prometheus, scraping every service of the environment that declares `metrics`."""

from __future__ import annotations

from devkit.errors import BlueprintError
from devkit.model.blueprint import declare_service
from devkit.model.health import Http
from devkit.model.metrics import ScrapeTargets
from devkit.model.resources import Resources
from devkit.model.service import Service
from devkit.source import caller_location

PORT = 9090

RUNTIME_DIR = "/tmp"  # noqa: S108 - a path in the container, not on this machine
CONFIG_FILE = f"{RUNTIME_DIR}/devkit-prometheus.yml"
TARGETS_FILE = f"{RUNTIME_DIR}/devkit-targets.json"
DATA_DIR = "/prometheus"
"""The official image's database directory; scratch here (not kept by `devkit down`)."""


def config(interval: float) -> str:
    """prometheus.yml: itself, and the services in TARGETS_FILE (file-based discovery: the
    planner writes one target group per service that declares metrics, its name as `job`)."""
    seconds = f"{interval:g}s"
    return f"""\
global:
  scrape_interval: {seconds}
  evaluation_interval: {seconds}
  scrape_timeout: {seconds if interval < 10 else "10s"}
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["localhost:{PORT}"]
  - job_name: services
    file_sd_configs:
      - files: ["{TARGETS_FILE}"]
"""


# The image's entrypoint is prometheus itself, so the blueprint replaces it with sh, which writes
# the configuration and the targets (both given in env, resolved per environment) and then runs
# prometheus on them. Only sh and printf are needed besides prometheus (the official image is
# busybox-based and has both).
_START = (
    f'printf "%s\\n" "$PROMETHEUS_CONFIG" >{CONFIG_FILE} '
    f'&& printf "%s\\n" "$PROMETHEUS_TARGETS" >{TARGETS_FILE} '
    f"&& exec /bin/prometheus --config.file={CONFIG_FILE} --storage.tsdb.path={DATA_DIR} "
    '--storage.tsdb.retention.time="$PROMETHEUS_RETENTION" --web.listen-address=:9090'
)


def prometheus(
    *,
    version: str = "v2.42.0",
    name: str = "prometheus",
    interval: float = 15,
    retention: str = "1d",
    host_port: int | None = None,
    resources: Resources | None = None,
) -> Service:
    """Prometheus (the official `prom/prometheus` image) on port `http` (9090), scraping every
    `interval` seconds itself and each service of the environment that declares `metrics`, by
    the service's name and metrics port on the stack's network; the service's name is the
    `job` and `service` label of its series.

    Its query API and UI are at `url` (`http://NAME:9090`), published on 127.0.0.1 like any
    port (`host_port` pins it). The database keeps `retention` ("1d", "12h") of samples in
    scratch space: `devkit down` (or a restart) starts it empty. It runs as the image's user
    nobody (65534) on a read-only root filesystem. Tested with Prometheus 2.42.

    A service with several replicas is scraped through its name, one replica per scrape. On a
    cluster, use the cluster's Prometheus instead: devkit renders what it discovers (see
    docs/metrics.md), and the NetworkPolicies admit only the target's `Scraper` namespace.
    """
    location = caller_location()
    if interval <= 0:
        raise BlueprintError(
            f'prometheus "{name}": interval must be a positive number of seconds, not {interval}',
            location=location,
        )
    return declare_service(
        {
            "name": name,
            "image": f"prom/prometheus:{version}",
            "entrypoint": ("sh", "-c", _START),
            "ports": {"http": {"container": PORT, "host": host_port}},
            "env": {
                "PROMETHEUS_CONFIG": config(interval),
                "PROMETHEUS_TARGETS": ScrapeTargets(),
                "PROMETHEUS_RETENTION": retention,
            },
            "health": Http("/-/ready", port="http"),
            "resources": resources or Resources(cpu="200m", memory="256Mi", memory_limit="512Mi"),
            "run_as_user": 65534,  # the official image's nobody
            "scratch": (DATA_DIR, RUNTIME_DIR),
            "url_template": "http://{host}:{port.http}",
        },
        location,
    )
