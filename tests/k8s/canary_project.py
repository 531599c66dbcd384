"""The canary test project on the kind testbed, shared by the canary tests
(test_canary_releases.py) and the UI's canary panel test (test_ui_canary.py): a web app that
answers its version (and, as `-bad` or `-slow`, 500s or slow answers), its blueprint with a
canary on the testbed's Traefik judged by its Prometheus, requests sent through Traefik and
counted by the version that answered, and a devkit command read as it runs.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import Run, run_devkit
from tests.k8s.conftest import PROMETHEUS_NAMESPACE, Forward, K8sTestbed, wait_for

BLUEPRINT = """
import os
from devkit import (Blueprint, Build, Canary, Cluster, Gateway, Header, Http, Kubernetes, Latency,
                    Port, Route, Step, SuccessRate)

CHECKS = {
    "none": [],
    "success": [SuccessRate(min=0.95, window=10)],
    "latency": [Latency(max=0.25, percentile=90, window=10)],
}[os.environ.get("TEST_CHECKS", "none")]
STEPS = [
    Step(int(w), pause="manual" if p == "manual" else float(p))
    for w, p in (s.split(":") for s in os.environ["TEST_STEPS"].split(","))
]
app = Blueprint("cn")
app.service(
    "web",
    build=Build("web"),
    ports={"http": Port(8000, routes=Route(hosts=os.environ["TEST_HOST"]))},
    health=Http("/healthz", port="http", interval=1, retries=2),
)
GATEWAY = Gateway(name="testbed", namespace="devkit-gateway",
                  controller_namespace="devkit-gateway")
CANARY = Canary(
    service="web",
    steps=STEPS,
    checks=CHECKS,
    interval=float(os.environ.get("TEST_INTERVAL", "5")),
    match=Header(name="x-canary", value="yes") if os.environ.get("TEST_AB") else None,
    prometheus=os.environ.get("TEST_PROMETHEUS") or None,
)
app.environment(
    "staging",
    Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
               namespace=os.environ["TEST_NS"], gateway=GATEWAY),
    rollout_timeout=120,
    canary=CANARY,
)
# the wave path (deploy --continue/--abort finding the cluster that holds the canary): the one
# cluster with a gateway and Prometheus, as the one entry of a cluster list
app.environment(
    "regions",
    Kubernetes(clusters=[Cluster("eu", context="kind-devkit-testbed", registry="REGISTRY")],
               namespace=os.environ["TEST_NS"], gateway=GATEWAY),
    rollout_timeout=120,
    canary=CANARY,
)
"""

APP = """
import http.server, pathlib, time
VERSION = pathlib.Path("/app/VERSION").read_text().strip()
COUNT = [0]
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        COUNT[0] += 1
        status = 200
        if self.path != "/healthz":
            if VERSION.endswith("-bad") and COUNT[0] % 3 == 0:
                status = 500
            if VERSION.endswith("-slow"):
                time.sleep(0.5)
        body = VERSION.encode()
        self.send_response(status)
        self.send_header("X-Version", VERSION)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""


@dataclass
class Hit:
    at: float
    status: int
    version: str


@dataclass
class Load:
    """Requests through Traefik from a few threads on kept-alive connections, bounded in time."""

    port: int
    host: str
    headers: dict[str, str] = field(default_factory=dict)
    hits: list[Hit] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, workers: int = 6, limit: float = 400) -> None:
        deadline = time.monotonic() + limit
        for _ in range(workers):
            thread = threading.Thread(target=self._run, args=(deadline,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def _run(self, deadline: float) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        while not self.stop.is_set() and time.monotonic() < deadline:
            sent = time.monotonic()
            try:
                conn.request("GET", "/", headers={"Host": self.host, **self.headers})
                response = conn.getresponse()
                response.read()
                hit = Hit(sent, response.status, response.getheader("X-Version") or "-")
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                time.sleep(0.05)
                continue
            self.hits.append(hit)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)

    def between(self, start: float, end: float) -> list[Hit]:
        return [h for h in self.hits if start <= h.at < end]


@dataclass
class Project:
    root: Path
    env: dict[str, str]
    namespace: str
    host: str

    def devkit(self, *args: str, timeout: float = 600) -> Run:
        return run_devkit(*args, cwd=self.root, env=self.env, timeout=timeout)

    def version(self, text: str) -> None:
        (self.root / "web" / "VERSION").write_text(text)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "devkit", *args], cwd=self.root, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip


@contextmanager
def own_namespace(testbed: K8sTestbed) -> Iterator[str]:
    """A fresh namespace, deleted afterwards. It does not carry the shared test label: a session
    that ends elsewhere on the shared testbed deletes every namespace with that label
    (tests/k8s/conftest.py before this branch), which cut these tests off."""
    name = f"canary-{uuid.uuid4().hex[:8]}"
    testbed.kubectl("create", "namespace", name)
    try:
        wait_for(
            f"the default ServiceAccount of {name}",
            lambda: subprocess.run(
                [str(testbed.kubectl_bin), "--kubeconfig", str(testbed.kubeconfig), "get",
                 "serviceaccount", "default", "-n", name], capture_output=True, check=False,
            ).returncode == 0,
            30,
        )  # fmt: skip
        yield name
    finally:
        testbed.kubectl("delete", "namespace", name, "--wait=false")


@contextmanager
def canary_project(testbed: K8sTestbed, tmp_path: Path) -> Iterator[Project]:
    """The web app in a namespace of its own, its environment `staging` releasing it as a
    canary on the testbed's Traefik (steps, checks, interval: the TEST_* variables of `env`)."""
    from tests.docker.conftest import IMAGE_MAP

    with own_namespace(testbed) as namespace:
        host = f"{namespace}.canary.test"
        env = {
            **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
            "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace, "TEST_HOST": host,
            "TEST_STEPS": "10:15,50:15,100:15",
            "TEST_PROMETHEUS": f"{PROMETHEUS_NAMESPACE}/prometheus:9090",
        }  # fmt: skip
        root = tmp_path / "cn"
        (root / "web").mkdir(parents=True)
        (root / "blueprint.py").write_text(
            textwrap.dedent(BLUEPRINT).replace("REGISTRY", testbed.registry)
        )
        (root / "web" / "Dockerfile").write_text(
            "FROM python:3.11-slim\nCOPY app.py VERSION /app/\nUSER 10001:10001\n"
            'CMD ["python", "/app/app.py"]\n'
        )
        (root / "web" / "app.py").write_text(APP)
        p = Project(root, env, namespace, host)
        p.version("v1")
        yield p


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


@dataclass
class Watched:
    """A devkit command whose stderr lines were read as they came, each with its time."""

    code: int
    lines: list[tuple[float, str]]
    stdout: str

    @property
    def stderr(self) -> str:
        return "\n".join(line for _, line in self.lines)

    def when(self, text: str) -> float:
        found = [at for at, line in self.lines if text in line]
        assert found, f"{text!r} not in:\n{self.stderr}"
        return found[0]


def watched(
    project: Project, *args: str, kill_at: str | None = None, limit: float = 600
) -> Watched:
    """Run devkit, reading its stderr as it comes; SIGKILL it when a line has `kill_at`."""
    proc = project.popen(*args)
    lines: list[tuple[float, str]] = []
    assert proc.stderr is not None
    deadline = time.monotonic() + limit
    for line in proc.stderr:
        lines.append((time.monotonic(), line.rstrip("\n")))
        if kill_at is not None and kill_at in line:
            proc.send_signal(signal.SIGKILL)
            break
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"devkit {' '.join(args)} ran over {limit:.0f}s")
    stdout = proc.stdout.read() if proc.stdout else ""
    return Watched(proc.wait(timeout=60), lines, stdout)


@contextmanager
def load(port: int, host: str, **headers: str) -> Iterator[Load]:
    running = Load(port, host, dict(headers))
    running.start()
    try:
        yield running
    finally:
        running.finish()


def serves(port: int, host: str, version: str, headers: dict[str, str] | None = None) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/", headers={"Host": host, **(headers or {})})
        response = conn.getresponse()
        response.read()
        return response.getheader("X-Version") == version
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def releases(project: Project) -> list[dict[str, object]]:
    found: list[dict[str, object]] = json.loads(
        ok(project.devkit("releases", "staging", "--json")).stdout
    )["releases"]
    return found


def deployments(testbed: K8sTestbed, namespace: str) -> set[str]:
    out = testbed.kubectl("get", "deployments", "-n", namespace, "-o", "name").stdout
    return {line.split("/", 1)[1] for line in out.split()}


def share(hits: list[Hit], version: str) -> float:
    return 100.0 * sum(h.version == version for h in hits) / len(hits)


ABORTED_BY_A_CHECK = {"TEST_INTERVAL": "2", "TEST_STEPS": "10:30,50:30,100:30"}
"""The canary `aborted_by_a_check` runs: three 30 s steps, checks every 2 s."""


def aborted_by_a_check(
    project: Project, traefik: Forward, testbed: K8sTestbed, version: str, checks: str
) -> tuple[Watched, Load, float]:
    """Deploy v1, then `version` as a canary judged by `checks` under load: the run (exit 1),
    the load, and when the abort took effect (all traffic to stable applied by Traefik)."""
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version(version)
    project.env.update({**ABORTED_BY_A_CHECK, "TEST_CHECKS": checks})
    with load(traefik.web, project.host) as running:
        run = watched(project, "deploy", "staging", "--json")
        time.sleep(3)
    assert run.code == 1, run.stderr
    decided = run.when("aborting the canary")
    # When the abort took effect at the gateway, as the requests saw it: the first request sent
    # after the last one the canary answered. Traefik applies a route change 0.4-0.7 s after it
    # is written, and at most one configuration per 2 s (its providers' throttle).
    last_canary = max(h.at for h in running.hits if h.version != "v1")
    took_effect = min(h.at for h in running.hits if h.at > last_canary)
    assert took_effect - decided <= 4.0, f"took effect {took_effect - decided:.2f}s after"
    assert "web-canary" not in deployments(testbed, project.namespace)
    return run, running, took_effect
