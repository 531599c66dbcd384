"""Canary and A/B releases on the kind testbed, with real traffic through the real gateway
(Traefik, port-forwarded to 127.0.0.1 as in test_gateway.py): `devkit deploy` shifts the weights
of the web app's HTTPRoute step by step while this test sends requests and counts the version
that answered each (by its X-Version header); a release killed mid-step is found and resolved by
the next command from the cluster and the release record.
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
from itertools import pairwise
from pathlib import Path

import pytest

from tests.conftest import Run, run_devkit
from tests.k8s.conftest import (
    PROMETHEUS_NAMESPACE,
    ClusterPrometheus,
    Forward,
    K8sTestbed,
    wait_for,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
import os
from devkit import (Blueprint, Build, Canary, Gateway, Header, Http, Kubernetes, Latency, Port,
                    Route, Step, SuccessRate)

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
app.environment(
    "staging",
    Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
               namespace=os.environ["TEST_NS"],
               gateway=Gateway(name="testbed", namespace="devkit-gateway",
                               controller_namespace="devkit-gateway")),
    rollout_timeout=120,
    canary=Canary(
        service="web",
        steps=STEPS,
        checks=CHECKS,
        interval=float(os.environ.get("TEST_INTERVAL", "5")),
        match=Header(name="x-canary", value="yes") if os.environ.get("TEST_AB") else None,
        prometheus=os.environ.get("TEST_PROMETHEUS") or None,
    ),
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


@pytest.fixture
def own_namespace(testbed: K8sTestbed) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards. It does not carry the shared test
    label: a session that ends elsewhere on the shared testbed deletes every namespace with
    that label (tests/k8s/conftest.py before this branch), which cut these tests off."""
    name = f"canary-{uuid.uuid4().hex[:8]}"
    testbed.kubectl("create", "namespace", name)
    wait_for(
        f"the default ServiceAccount of {name}",
        lambda: subprocess.run(
            [str(testbed.kubectl_bin), "--kubeconfig", str(testbed.kubeconfig), "get",
             "serviceaccount", "default", "-n", name], capture_output=True, check=False,
        ).returncode == 0,
        30,
    )  # fmt: skip
    yield name
    testbed.kubectl("delete", "namespace", name, "--wait=false")


@pytest.fixture
def project(testbed: K8sTestbed, own_namespace: str, tmp_path: Path) -> Project:
    namespace = own_namespace
    from tests.docker.conftest import IMAGE_MAP

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
    return p


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


def test_a_good_release_goes_10_50_100_with_each_steps_share_within_5_points(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))  # v1: nothing to stand beside, out at once
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version("v2")
    with load(traefik.web, project.host) as running:
        run = watched(project, "deploy", "staging")
    assert run.code == 0, run.stderr
    marks = [run.when(f"step {n}/3") for n in (1, 2, 3)] + [run.when("promoting")]
    measured: list[tuple[int, int, float]] = []  # weight, requests, share of v2
    for (start, end), weight in zip(pairwise(marks), (10, 50, 100), strict=True):
        hits = running.between(start + 1.0, end)  # Traefik applies a weight in 0.4-0.7 s
        measured.append((weight, len(hits), round(share(hits, "v2"), 2)))
        assert len(hits) >= 400, f"{weight}%: only {len(hits)} requests"
        assert abs(share(hits, "v2") - weight) <= 5, f"{weight}%: {share(hits, 'v2'):.1f}% v2"
        assert all(h.status == 200 for h in hits)
    after = running.between(run.lines[-1][0] + 1.0, time.monotonic())
    assert all(h.version == "v2" for h in after)
    failed = [h for h in running.hits if h.status != 200]
    assert not failed, f"{len(failed)} of {len(running.hits)} requests failed, first {failed[0]}"
    print(f"canary shares: {measured}")
    assert "web-canary" not in deployments(testbed, project.namespace)
    newest = releases(project)[0]
    assert newest["status"] == "healthy"
    canary = newest["canary"]
    assert isinstance(canary, dict)
    assert [(s["weight"], s["status"]) for s in canary["steps"]] == [
        (10, "passed"), (50, "passed"), (100, "passed"),
    ]  # fmt: skip
    text = ok(project.devkit("releases", "staging")).stdout
    assert "canary of web beside #1" in text and "step 2: 50% passed" in text


def test_the_ab_header_reaches_only_the_canary_while_everyone_else_stays_on_stable(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version("v2")
    project.env.update({"TEST_AB": "1", "TEST_STEPS": "0:manual"})
    paused = ok(project.devkit("deploy", "staging", "--json"))
    document = json.loads(paused.stdout)
    assert document["status"] == "paused" and document["ok"] is True
    # Traefik applies the route 0.4-0.7 s after it is written, at most one configuration per 2 s
    wait_for(
        "the A/B rule", lambda: serves(traefik.web, project.host, "v2", {"x-canary": "yes"}), 10
    )
    with (
        load(traefik.web, project.host, **{"x-canary": "yes"}) as chosen,
        load(traefik.web, project.host) as everyone,
    ):
        time.sleep(4)
    assert len(chosen.hits) >= 100 and len(everyone.hits) >= 100
    assert {h.version for h in chosen.hits} == {"v2"}
    assert {h.version for h in everyone.hits} == {"v1"}
    refused = project.devkit("deploy", "staging")
    assert refused.code == 3, refused.stderr
    assert "is paused" in refused.stderr and "--continue" in refused.stderr
    ok(project.devkit("deploy", "staging", "--continue"))
    wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
    assert "web-canary" not in deployments(testbed, project.namespace)
    assert releases(project)[0]["status"] == "healthy"

    # paused again, then rolled back with --abort: v2 keeps serving, v3 is gone
    project.version("v3")
    assert (
        json.loads(ok(project.devkit("deploy", "staging", "--json")).stdout)["status"] == "paused"
    )
    assert "web-canary" in deployments(testbed, project.namespace)
    aborted = ok(project.devkit("deploy", "staging", "--abort"))
    assert "rolled-back" in aborted.stderr
    assert "web-canary" not in deployments(testbed, project.namespace)
    newest = releases(project)[0]
    assert newest["status"] == "rolled-back" and "aborted with --abort at 0%" in str(
        newest["reason"]
    )
    assert serves(traefik.web, project.host, "v2")


def test_a_canary_killed_mid_step_is_resumed_with_continue_or_rolled_back_by_the_next_deploy(
    project: Project, traefik: Forward, testbed: K8sTestbed
) -> None:
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)

    # killed at its second step: --continue resumes there
    project.version("v2")
    project.env["TEST_STEPS"] = "20:3,60:60,100:3"
    killed = watched(project, "deploy", "staging", kill_at="step 2/3")
    assert killed.code == -signal.SIGKILL
    assert "web-canary" in deployments(testbed, project.namespace)
    assert releases(project)[0]["status"] == "deploying"
    project.env["TEST_STEPS"] = "20:3,60:3,100:3"
    resumed = ok(project.devkit("deploy", "staging", "--continue"))
    assert "continuing its canary at step 2" in resumed.stderr
    assert "step 1/3" not in resumed.stderr
    wait_for("v2 for everyone", lambda: serves(traefik.web, project.host, "v2"), 10)
    second = releases(project)[0]
    assert second["number"] == 2 and second["status"] == "healthy"

    # killed again: the next plain deploy rolls it back (recorded interrupted), then deploys
    project.version("v3")
    project.env["TEST_STEPS"] = "20:3,60:60,100:3"
    killed = watched(project, "deploy", "staging", kill_at="step 2/3")
    assert killed.code == -signal.SIGKILL
    wait_for(
        "the stable or the canary to answer",
        lambda: serves(traefik.web, project.host, "v3") or serves(traefik.web, project.host, "v2"),
        10,
    )
    project.env["TEST_STEPS"] = "100:0"
    project.version("v4")
    after = ok(project.devkit("deploy", "staging"))
    assert "release #3: its canary is unfinished; rolling back to #2" in after.stderr
    history = {r["number"]: r for r in releases(project)}
    assert history[3]["status"] == "interrupted"
    assert "its canary was interrupted at 60%" in str(history[3]["reason"])
    assert history[4]["status"] == "healthy"
    wait_for("v4 for everyone", lambda: serves(traefik.web, project.host, "v4"), 10)
    assert "web-canary" not in deployments(testbed, project.namespace)


def _aborted_by_a_check(
    project: Project, traefik: Forward, testbed: K8sTestbed, version: str, checks: str
) -> tuple[Watched, Load, float]:
    """Deploy v1, then `version` as a canary judged by `checks` under load: the run (exit 1),
    the load, and when the abort took effect (all traffic to stable applied by Traefik)."""
    ok(project.devkit("deploy", "staging"))
    wait_for("v1 through Traefik", lambda: serves(traefik.web, project.host, "v1"), 30)
    project.version(version)
    project.env.update({"TEST_CHECKS": checks, "TEST_INTERVAL": "2",
                        "TEST_STEPS": "10:30,50:30,100:30"})  # fmt: skip
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


def test_a_bad_release_is_aborted_at_its_first_step_by_the_success_rate(
    project: Project, traefik: Forward, testbed: K8sTestbed, prometheus: ClusterPrometheus
) -> None:
    run, running, took_effect = _aborted_by_a_check(project, traefik, testbed, "v2-bad", "success")
    assert "step 1 (10%): success-rate" in run.stderr and "FAILED" in run.stderr
    assert "step 2/3" not in run.stderr
    after = running.between(took_effect, time.monotonic())
    assert len(after) >= 100
    assert [h for h in after if h.status == 500] == []
    assert {h.version for h in after} == {"v1"}
    errors = [h for h in running.hits if h.status == 500]
    assert errors, "the bad version answered no 500 before the abort"
    error = json.loads(run.stdout)["error"]
    assert error["type"] == "CanaryAbortedError" and error["exit_code"] == 1
    (failing,) = error["failing"]
    assert failing["name"] == "success-rate" and failing["value"] < 0.95
    newest = releases(project)[0]
    assert newest["status"] == "failed" and "success-rate" in str(newest["reason"])
    text = ok(project.devkit("releases", "staging")).stdout
    assert "step 1: 10% failed" in text and "success-rate (>= 0.95):" in text
    decided = run.when("aborting the canary")
    print(
        f"abort: took effect {took_effect - decided:.2f}s after devkit decided; success rate "
        f"{failing['value']:.3f}; {len(after)} requests after it, all v1, no 500"
    )


def test_a_latency_regression_is_aborted_by_the_latency_check(
    project: Project, traefik: Forward, testbed: K8sTestbed, prometheus: ClusterPrometheus
) -> None:
    run, running, took_effect = _aborted_by_a_check(project, traefik, testbed, "v2-slow", "latency")
    assert "latency-p90" in run.stderr and "FAILED" in run.stderr
    (failing,) = json.loads(run.stdout)["error"]["failing"]
    assert failing["name"] == "latency-p90" and failing["value"] > 0.25
    after = running.between(took_effect, time.monotonic())
    assert len(after) >= 100 and {h.version for h in after} == {"v1"}
    assert releases(project)[0]["status"] == "failed"
    decided = run.when("aborting the canary")
    print(
        f"latency abort: p90 {failing['value']:.3f}s; took effect {took_effect - decided:.2f}s "
        "after devkit decided"
    )
