"""Autoscaling for real: the HorizontalPodAutoscaler devkit renders for `Autoscale(min=1, max=3,
cpu=50, scale_down_window=15)` acts on the testbed, whose metrics-server (v0.8.0, built from its
Go module: tests/k8s/testbed/metrics-server.sh) serves the resource metrics API. A bounded
CPU-burning request to the one pod scales the service out, never above its maximum; once the
burn stops it scales back in to its minimum. Real kind, real metrics-server, no mocks."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.conftest import run_devkit
from tests.k8s.conftest import K8sTestbed, wait_for
from tests.k8s.test_stack_commands import up_remote, web_project

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

# /burn/N burns CPU in a thread for N seconds (at most 240), /stop ends it; the
# container's CPU limit (200m, twice its request) bounds what the burn takes from the machine.
BURN_APP = """
import http.server, threading, time
stop = threading.Event()
def burn(seconds):
    until = time.monotonic() + min(seconds, 240)
    while time.monotonic() < until and not stop.is_set():
        sum(range(1000))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/burn/"):
            stop.clear()
            threading.Thread(target=burn, args=(float(self.path[6:]),), daemon=True).start()
        elif self.path == "/stop":
            stop.set()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""

BLUEPRINT = """
from devkit import Autoscale, Blueprint, Build, Http, Kubernetes, Port, Resources
app = Blueprint("NAME")
app.service("web", build=Build("web"), ports={"http": Port(8000)},
            health=Http("/", port="http", interval=1, retries=2),
            resources=Resources(cpu="100m", memory="64Mi", cpu_limit="200m"),
            autoscale=Autoscale(min=1, max=3, cpu=50, scale_down_window=15))
app.environment("remote", Kubernetes(context="CONTEXT", registry="REG"))
"""


class Watch:
    """The service's replica counts as the autoscaler and the Deployment say, polled every 2 s;
    the most ever asked for is kept, so a count above the maximum at any poll is seen."""

    def __init__(self, testbed: K8sTestbed, namespace: str) -> None:
        self.apps = client.AppsV1Api(testbed.api)
        self.scaling = client.AutoscalingV2Api(testbed.api)
        self.namespace = namespace
        self.most = 0

    def hpa(self) -> Any:
        return self.scaling.read_namespaced_horizontal_pod_autoscaler("web", self.namespace)

    def replicas(self) -> tuple[int, int]:
        """(the Deployment's desired count, its ready pods)."""
        deployment = self.apps.read_namespaced_deployment("web", self.namespace)
        desired = int(deployment.spec.replicas or 0)
        self.most = max(self.most, desired, int(self.hpa().status.desired_replicas or 0))
        return desired, int(deployment.status.ready_replicas or 0)

    def utilisation(self) -> int | None:
        """The CPU utilisation (% of the request) the autoscaler last read; None before any."""
        for metric in self.hpa().status.current_metrics or []:
            if metric.resource is not None and metric.resource.name == "cpu":
                return metric.resource.current.average_utilization  # type: ignore[no-any-return]
        return None

    def until(self, what: str, check: Callable[[int, int], bool], timeout: float) -> float:
        """Seconds until check(desired, ready) holds (bounded)."""
        began = time.monotonic()
        wait_for(what, lambda: check(*self.replicas()), timeout, interval=2)
        return time.monotonic() - began


def test_the_autoscaler_scales_out_under_cpu_load_within_its_maximum_and_back_in(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    root = tmp_path / f"hpa-{uuid.uuid4().hex[:6]}"
    text = BLUEPRINT.replace("NAME", root.name).replace("CONTEXT", f"kind-{testbed.cluster}")
    env = web_project(root, text, testbed, tmp_path, app=BURN_APP)
    core = client.CoreV1Api(testbed.api)
    with up_remote(root, env, testbed) as namespace:
        watch = Watch(testbed, namespace)
        spec = watch.hpa().spec
        assert (spec.min_replicas, spec.max_replicas) == (1, 3)
        assert spec.behavior.scale_down.stabilization_window_seconds == 15

        began = time.monotonic()  # the autoscaler reads the pod's CPU from metrics-server
        wait_for("the autoscaler's first CPU reading",
                 lambda: watch.utilisation() is not None, 120, interval=2)  # fmt: skip
        print(f"\n[autoscale] first CPU reading after {time.monotonic() - began:.0f} s")
        assert watch.replicas() == (1, 1)
        (pod,) = [p.metadata.name for p in core.list_namespaced_pod(
            namespace, label_selector="app.kubernetes.io/name=web").items]  # fmt: skip

        def ask(path: str) -> None:  # the one pod, through the API server's pod proxy
            core.connect_get_namespaced_pod_proxy_with_path(f"{pod}:8000", namespace, path)

        ask("burn/240")
        try:
            out = watch.until("a scale-out", lambda desired, ready: desired > 1, 180)
            print(f"[autoscale] scaled out to {watch.replicas()[0]} in {out:.0f} s")
            full = watch.until("3 ready pods", lambda desired, ready: ready == 3, 120)
            print(f"[autoscale] 3 pods ready {full:.0f} s later")
            # `devkit status` reports the burn, summed over the service's pods, from the same API
            status = run_devkit("status", "-e", "remote", "--json", cwd=root, env=env)
            assert status.code == 0, status.stderr
            report = json.loads(status.stdout)
            assert report["usage_unavailable"] is None
            (web,) = report["usage"]
            assert web["service"] == "web" and web["cpu"] > 0.1 and web["memory"] > 2**20, web
            table = run_devkit("status", "-e", "remote", cwd=root, env=env).stdout
            assert re.search(r"^web .* \d+\.\d+ CPU +\d+\.\d MiB ", table, re.MULTILINE), table
        finally:
            ask("stop")
        back = watch.until("the scale-in to 1", lambda desired, ready: desired == 1, 240)
        print(f"[autoscale] back to 1 replica {back:.0f} s after the burn stopped")
        assert watch.most == 3, f"the autoscaler asked for {watch.most} replicas (max 3)"
