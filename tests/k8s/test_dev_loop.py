"""The local dev loop on a cluster: `devkit cluster up`, `devkit up -e dev` on kind (images by
kind load, or through the registry), port-forwards on 127.0.0.1, live sync into pods that survives
a pod being replaced, and `devkit down` removing exactly what `up` created. Real kind, no mocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes import client

from tests.conftest import Run, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import TESTBED, K8sTestbed

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
from devkit import Blueprint, Build, Http, Kind, Port, Restart, Sync

app = Blueprint("NAME")
web = app.service(
    "web",
    build=Build("web"),
    ports={"http": Port(8000)},
    health=Http("/", port="http", interval=1, retries=2),
    sync=[Sync("web/app", "/app", then=Restart())],
)
app.environment("dev", Kind("CLUSTER", namespace="NS"REGISTRY))
"""

APP = """
import http.server
VERSION = "v1"
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(VERSION.encode())
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""


@dataclass
class DevProject:
    root: Path
    env: dict[str, str]
    namespace: str
    testbed: K8sTestbed

    def devkit(self, *args: str, timeout: float = 600) -> Run:
        return run_devkit(*args, cwd=self.root, env=self.env, timeout=timeout)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "devkit", *args], cwd=self.root, env=self.env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip

    def edit(self, version: str) -> None:
        path = self.root / "web" / "app" / "app.py"
        path.write_text(re.sub(r'VERSION = "[^"]*"', f'VERSION = "{version}"', path.read_text()))


def write_project(root: Path, testbed: K8sTestbed, *, registry: bool) -> tuple[str, dict[str, str]]:
    name, namespace = f"dl-{uuid.uuid4().hex[:6]}", f"dl-{uuid.uuid4().hex[:6]}"
    text = BLUEPRINT.replace("NAME", name).replace("CLUSTER", testbed.cluster)
    text = text.replace("NS", namespace)
    text = text.replace("REGISTRY", f', registry="{testbed.registry}"' if registry else "")
    root.mkdir(parents=True)
    (root / "blueprint.py").write_text(textwrap.dedent(text).lstrip())
    (root / "web" / "app").mkdir(parents=True)
    (root / "web" / "app" / "app.py").write_text(textwrap.dedent(APP).lstrip())
    (root / "web" / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        "COPY --chown=10001:10001 app/ /app/\n"
        "USER 10001:10001\n"
        'CMD ["python", "/app/app.py"]\n'
    )
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
        "KUBECONFIG": str(testbed.kubeconfig), "PATH": testbed.path(),
    }  # fmt: skip
    return namespace, env


@pytest.fixture
def dev_project(testbed: K8sTestbed, tmp_path: Path) -> Iterator[Callable[..., DevProject]]:
    made: list[DevProject] = []

    def make(registry: bool = False) -> DevProject:
        root = tmp_path / f"p{len(made)}"
        namespace, env = write_project(root, testbed, registry=registry)
        made.append(DevProject(root, env, namespace, testbed))
        return made[-1]

    yield make
    core = client.CoreV1Api(testbed.api)
    for p in made:
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespace(p.namespace)


def get(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def wait_until(what: str, check: Callable[[], bool], timeout: float) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if check():
            return time.monotonic() - began
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


_OUTPUT: dict[int, list[str]] = {}


def read_until(proc: subprocess.Popen[str], pattern: str, timeout: float) -> re.Match[str]:
    """Wait until a line of the process's output matches (bounded in time). Its output is read
    all along by a thread: a full pipe would stop devkit in the middle of its work."""
    if proc.pid not in _OUTPUT:
        lines: list[str] = []
        _OUTPUT[proc.pid] = lines
        threading.Thread(target=lambda: lines.extend(proc.stdout or []), daemon=True).start()
    seen = _OUTPUT[proc.pid]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in list(seen):
            found = re.search(pattern, line)
            if found:
                return found
        if proc.poll() is not None and not any(re.search(pattern, x) for x in seen):
            break
        time.sleep(0.1)
    proc.kill()
    pytest.fail(f"no line matched {pattern!r}; output:\n{''.join(seen[-40:])}")


def test_up_on_kind_forwards_a_port_syncs_edits_and_survives_a_replaced_pod(
    dev_project: Callable[..., DevProject],
) -> None:
    p = dev_project()
    proc = p.popen("up", "-e", "dev")
    try:
        url = read_until(proc, r"web\.http: (http://127\.0\.0\.1:\d+)", 300).group(1)
        read_until(proc, r"watching \d+ paths", 60)
        assert get(url) == "v1"
        p.edit("v2")
        wait_until("the edit to be served", lambda: get(url) == "v2", 15)
        # The pod is replaced (deleted): the forward follows the new pod, and the synced file
        # is put back into it by a checked sync (its image still holds v1).
        core = client.CoreV1Api(p.testbed.api)
        (pod,) = core.list_namespaced_pod(p.namespace).items
        core.delete_namespaced_pod(pod.metadata.name, p.namespace)
        wait_until(
            "a new pod serving the synced code",
            lambda: get(url) == "v2" and _pods(core, p.namespace) != {pod.metadata.name},
            120,
        )
        p.edit("v3")
        wait_until("an edit after the replacement to be served", lambda: get(url) == "v3", 15)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert proc.returncode == 130
    # The stack keeps running after Ctrl-C; `down` removes what `up` made, and nothing else.
    core = client.CoreV1Api(p.testbed.api)
    core.create_namespaced_config_map(p.namespace, {"metadata": {"name": "hand-made"}})
    down = p.devkit("down", "-e", "dev", "--json")
    assert down.code == 0, down.stderr
    removed = json.loads(down.stdout)["removed"]["objects"]
    assert "Deployment/web" in removed and "Service/web" in removed
    apps = client.AppsV1Api(p.testbed.api)
    assert apps.list_namespaced_deployment(p.namespace).items == []
    assert core.read_namespaced_config_map("hand-made", p.namespace).metadata.name


def _pods(core: client.CoreV1Api, namespace: str) -> set[str]:
    return {
        pod.metadata.name for pod in core.list_namespaced_pod(namespace).items
        if pod.metadata.deletion_timestamp is None
    }  # fmt: skip


def test_up_through_the_environments_registry(dev_project: Callable[..., DevProject]) -> None:
    p = dev_project(registry=True)
    run = p.devkit("up", "-e", "dev", "--detach", "--json")
    assert run.code == 0, run.stdout + run.stderr
    images = json.loads(run.stdout)["images"]
    assert images["web"].startswith(f"{p.testbed.registry}/") and "@sha256:" in images["web"]
    deployment = client.AppsV1Api(p.testbed.api).read_namespaced_deployment("web", p.namespace)
    assert deployment.spec.template.spec.containers[0].image == images["web"]
    assert deployment.status.ready_replicas == 1
    assert "kind load" not in run.stderr


def test_cluster_up_creates_then_reuses_and_down_deletes_a_kind_cluster(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    name = f"dk-{uuid.uuid4().hex[:6]}"
    shutil.copy(TESTBED / "kind-config.yaml", tmp_path / "kind.yaml")
    (tmp_path / "blueprint.py").write_text(
        "from devkit import Blueprint, Kind\n"
        'app = Blueprint("c")\n'
        'app.service("web", image="nginx:1")\n'
        f'app.environment("dev", Kind("{name}", node_image="{testbed.node_image}", '
        'config="kind.yaml"))\n'
        'app.environment("other", Kind("x"))\n'
    )
    kubeconfig = tmp_path / "kubeconfig"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "PATH": testbed.path(), "NO_COLOR": "1"}
    try:
        first = run_devkit("cluster", "up", "dev", "--json", cwd=tmp_path, env=env, timeout=600)
        assert first.code == 0, first.stderr
        assert json.loads(first.stdout) | {"seconds": 0} == {
            "cluster": name, "context": f"kind-{name}", "created": True, "seconds": 0,
        }  # fmt: skip
        again = run_devkit("cluster", "up", "dev", "--json", cwd=tmp_path, env=env, timeout=120)
        assert json.loads(again.stdout)["created"] is False
        assert f"kind-{name}" in kubeconfig.read_text()
    finally:
        down = run_devkit("cluster", "down", "dev", cwd=tmp_path, env=env, timeout=300)
    assert down.code == 0, down.stderr
    assert (
        name
        not in subprocess.run(
            [str(testbed.kind_bin), "get", "clusters"], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    missing = run_devkit("cluster", "down", "dev", cwd=tmp_path, env=env)
    assert missing.code == 0 and "nothing to delete" in missing.stderr
