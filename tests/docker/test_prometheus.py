"""The stock Prometheus scrapes what the blueprint declares, on the real engine: a service with
`metrics` and `blueprints.prometheus()` in one stack, started by devkit.testing and by `devkit up`
(the Docker target itself, hardened: read-only root, tmpfs scratch, no capabilities), and
Prometheus's own query API says the service's target is up and holds its samples.
"""

from __future__ import annotations

import json
import textwrap
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import docker
import pytest

from blueprints import prometheus, web_service
from devkit import Blueprint, Docker
from devkit.testing import start_stack
from tests.docker.conftest import Project

pytestmark = pytest.mark.docker

# A service that counts its requests and serves the count in Prometheus's text format on
# /metrics (standard library only; the shop's api does the same with prometheus-client).
COUNTER = """
import http.server, threading
hits, lock = {}, threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/metrics":
            with lock:
                lines = [f'app_requests_total{{path="{p}"}} {n}' for p, n in sorted(hits.items())]
            body = ("# TYPE app_requests_total counter\\n" + "\\n".join(lines) + "\\n").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
        else:
            with lock:
                hits[self.path] = hits.get(self.path, 0) + 1
            body = b"ok"
            self.send_response(200)
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
"""


def query(base: str, promql: str) -> list[dict[str, Any]]:
    """An instant query through Prometheus's HTTP API: its result vector."""
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        answer = json.loads(reply.read())
    assert answer["status"] == "success", answer
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


def wait_for_series(base: str, promql: str, seconds: float = 60) -> list[dict[str, Any]]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = query(base, promql)
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"no series for {promql} within {seconds:.0f} s")


def test_stock_prometheus_scrapes_every_service_that_declares_metrics() -> None:
    app = Blueprint("metrics")
    app.use(
        web_service(
            "api",
            image="python:3.11-slim",
            command=["python3", "-c", COUNTER],
            health="/",
            metrics="/metrics",
        )
    )
    app.use(web_service("quiet", image="python:3.11-slim", command=["python3", "-c", COUNTER]))
    app.use(prometheus(interval=1))
    app.environment("local", Docker())
    with start_stack(app, timeout=120) as stack:
        base = stack.url("prometheus")
        for _ in range(3):
            with urllib.request.urlopen(stack.url("api") + "/orders", timeout=10) as reply:
                assert reply.read() == b"ok"

        up = wait_for_series(base, 'up{job="api"} == 1')
        assert up[0]["metric"]["service"] == "api"
        assert up[0]["metric"]["instance"] == "api:8000"  # by name on the stack's network
        samples = wait_for_series(base, 'app_requests_total{job="api",path="/orders"} >= 3')
        assert samples[0]["metric"]["service"] == "api"
        # only what declares metrics is scraped (and Prometheus itself)
        wait_for_series(base, 'up{job="prometheus"} == 1')
        jobs = {s["metric"]["job"] for s in query(base, "up")}
        assert jobs == {"api", "prometheus"}


BLUEPRINT = """
from blueprints import prometheus, web_service
from devkit import Blueprint, Docker

app = Blueprint("NAME")
app.use(web_service("api", image="python:3.11-slim", command=["python3", "-c", COUNTER],
                    health="/", metrics="/metrics"))
app.use(prometheus(interval=1))
app.environment("local", Docker())
"""


def test_devkit_up_runs_the_stock_prometheus_hardened_and_it_scrapes_the_stack(
    project: Callable[[str], Project], docker_client: docker.DockerClient
) -> None:
    p = project("prom")
    p.write(
        "blueprint.py",
        f"COUNTER = {COUNTER!r}\n" + textwrap.dedent(BLUEPRINT).replace("NAME", p.name),
    )
    up = p.devkit("up", "--detach", "--json", timeout=300)
    assert up.code == 0, up.stderr
    ports = {s["service"]: s["ports"] for s in json.loads(up.stdout)["services"]}
    base = f"http://{ports['prometheus']['9090/tcp']}"
    for _ in range(3):
        with urllib.request.urlopen(f"http://{ports['api']['8000/tcp']}/orders", timeout=10) as r:
            assert r.read() == b"ok"
    up_series = wait_for_series(base, 'up{job="api"} == 1')
    assert up_series[0]["metric"]["instance"] == "api:8000"
    wait_for_series(base, 'app_requests_total{job="api",path="/orders"} >= 3')

    attrs = docker_client.containers.get(f"{p.name}-local-prometheus").attrs
    assert attrs["Config"]["User"].startswith("65534")
    assert attrs["Config"]["Entrypoint"][:2] == ["sh", "-c"]
    assert attrs["HostConfig"]["ReadonlyRootfs"] is True
    assert {"/prometheus", "/tmp"} <= set(attrs["HostConfig"]["Tmpfs"])
    assert attrs["HostConfig"]["CapDrop"] == ["ALL"]
