"""The stack commands on clusters, as on Docker: `status`, `logs [-f]`, `exec`, `watch` (live
sync and stable port-forwards that survive a replaced pod) and `down`, for examples/shop's `dev`
environment on kind and for a plain Kubernetes environment reached with --context/--namespace.
Real kind, no mocks."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

from kubernetes import client

from tests.conftest import REPO, Run, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import K8sTestbed
from tests.k8s.test_dev_loop import get, pytestmark, read_until, wait_until

__all__ = ["pytestmark"]

WEB_APP = """
import http.server, sys
VERSION = "v1"
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        print(f"GET {self.path}", flush=True)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(VERSION.encode())
    def log_message(self, *args):
        pass
print("serving on 8000", flush=True)
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""

PLAIN = """
from devkit import Blueprint, Build, Http, Kubernetes, Port, Restart, Sync

app = Blueprint("NAME")
app.service(
    "web",
    build=Build("web"),
    ports={"http": Port(8000)},
    health=Http("/", port="http", interval=1, retries=2),
    sync=[Sync("web/app", "/app", then=Restart())],
)
app.environment("remote", Kubernetes(context="a-context-this-machine-lacks", registry="REG"))
"""


def web_project(
    root: Path, blueprint: str, testbed: K8sTestbed, tmp_path: Path, app: str = WEB_APP
) -> dict[str, str]:
    """A project in `root` of one service, web (`app`, built from web/), declared by `blueprint`
    (REG: the testbed's registry); the environment devkit runs in for it on the testbed."""
    (root / "web" / "app").mkdir(parents=True)
    text = blueprint.replace("REG", testbed.registry)
    (root / "blueprint.py").write_text(textwrap.dedent(text).lstrip())
    (root / "web" / "app" / "app.py").write_text(textwrap.dedent(app).lstrip())
    (root / "web" / "Dockerfile").write_text(
        "FROM python:3.11-slim\nCOPY --chown=10001:10001 app/ /app/\nUSER 10001:10001\n"
        'CMD ["python", "-u", "/app/app.py"]\n'
    )
    return {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "PATH": testbed.path(),
        "KUBECONFIG": str(testbed.kubeconfig), "DEVKIT_CACHE": str(tmp_path / "cache"),
    }  # fmt: skip


@contextlib.contextmanager
def up_remote(root: Path, env: dict[str, str], testbed: K8sTestbed) -> Iterator[str]:
    """`devkit up -e remote --detach` of the project in `root` (web_project's); yields the
    environment's namespace; at the end `devkit down` and the namespace deleted."""
    namespace = f"{root.name}-remote"
    try:
        up = run_devkit("up", "-e", "remote", "--detach", cwd=root, env=env, timeout=600)
        assert up.code == 0, up.stdout + up.stderr
        yield namespace
    finally:
        run_devkit("down", "-e", "remote", cwd=root, env=env, timeout=300)
        with contextlib.suppress(client.exceptions.ApiException):
            client.CoreV1Api(testbed.api).delete_namespace(namespace)


def _popen(root: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devkit", *args], cwd=root, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip


def _stop(proc: subprocess.Popen[str]) -> int:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.wait(timeout=10)


def _replace_pod(core: client.CoreV1Api, namespace: str, service: str) -> str:
    """Delete the service's pod (its Deployment makes a new one); the deleted pod's name."""
    pods = core.list_namespaced_pod(namespace, label_selector=f"app.kubernetes.io/name={service}")
    (pod,) = [p for p in pods.items if p.metadata.deletion_timestamp is None]
    core.delete_namespaced_pod(pod.metadata.name, namespace)
    return str(pod.metadata.name)


def _status(run: Run) -> dict[str, dict[str, object]]:
    assert run.code == 0, run.stderr
    return {row["service"]: row for row in json.loads(run.stdout)["services"]}


def test_stack_commands_on_the_shop_dev_environment_on_kind(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    root = tmp_path / "shop"
    shutil.copytree(
        REPO / "examples" / "shop", root, ignore=shutil.ignore_patterns("__pycache__", ".env")
    )
    project = f"shop{uuid.uuid4().hex[:5]}"
    text = (root / "blueprint.py").read_text()
    (root / "blueprint.py").write_text(text.replace('Blueprint("shop")', f'Blueprint("{project}")'))
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "PATH": testbed.path(),
        "KUBECONFIG": str(testbed.kubeconfig), "SHOP_KIND_CLUSTER": testbed.cluster,
        "SHOP_DB_PASSWORD": "test-" + uuid.uuid4().hex[:8],
        "DEVKIT_CACHE": str(tmp_path / "cache"),
    }  # fmt: skip
    namespace = f"{project}-dev"
    core = client.CoreV1Api(testbed.api)

    def devkit(*args: str, timeout: float = 120) -> Run:
        return run_devkit(*args, cwd=root, env=env, timeout=timeout)

    watch = logs = None
    try:
        up = devkit("up", "-e", "dev", "--detach", "--json", timeout=900)
        assert up.code == 0, up.stdout + up.stderr
        assert json.loads(up.stdout)["namespace"] == namespace

        rows = _status(devkit("status", "-e", "dev", "--json"))
        assert set(rows) == {"api", "worker", "postgres", "redis"}
        for row in rows.values():
            assert row["ready"] == row["total"] == 1 and row["health"] == "healthy", row
            (pod,) = row["pods"]  # type: ignore[misc]
            assert pod["node"] == f"{testbed.cluster}-control-plane"
            assert pod["capacity"] in ("on-demand", "-")
        table = devkit("status", "-e", "dev")
        assert "1/1" in table.stdout and f"{testbed.cluster}-control-plane" in table.stdout

        watch = _popen(root, env, "watch", "-e", "dev")
        url = read_until(watch, r"api\.http: (http://127\.0\.0\.1:\d+)", 120).group(1)
        read_until(watch, r"watching \d+ paths", 120)
        assert json.loads(get(f"{url}/healthz")) == {"status": "ok"}
        forwarded = _status(devkit("status", "-e", "dev", "--json"))["api"]["ports"]
        assert forwarded == {"http": url.removeprefix("http://")}

        logs = _popen(root, env, "logs", "-e", "dev", "-f", "api")
        wait_until("the api's access log line", lambda: bool(get(f"{url}/version")), 10)
        read_until(logs, r"api\s*│.*GET /version", 60)

        ran = devkit("exec", "-e", "dev", "api", "--", "python", "-c", "print(6 * 7)")
        assert ran.code == 0 and ran.stdout.strip() == "42", ran.stderr
        failed = devkit("exec", "-e", "dev", "api", "--", "sh", "-c", "echo nope >&2; exit 3")
        assert failed.code == 3 and "nope" in failed.stderr
        # Much output on both channels at once, to the last line (the stream's final frames
        # arrive together with its close).
        many = devkit("exec", "-e", "dev", "api", "--", "sh", "-c",
                      "seq 1 100000; seq 1 3000 >&2; echo done")  # fmt: skip
        assert many.code == 0, many.stderr
        assert many.stdout.split() == [*map(str, range(1, 100001)), "done"]
        assert many.stderr.split()[-3000:] == [str(n) for n in range(1, 3001)]

        # A replaced pod: the forward follows it, the synced code is put back, and a later
        # edit is served by the new pod.
        old = _replace_pod(core, namespace, "api")
        version = root / "services" / "api" / "app" / "version.py"
        version.write_text('"""The api\'s version."""\n\nVERSION = "after-replace"\n')
        wait_until(
            "the new api pod serving the edit through the same forward",
            lambda: '"after-replace"' in get(f"{url}/version"), 300,
        )  # fmt: skip
        pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=api")
        assert old not in {p.metadata.name for p in pods.items if not p.metadata.deletion_timestamp}
        get(f"{url}/version?after-replace=1")  # logged by the new pod, which logs -f follows
        read_until(logs, r"api\s*│.*GET /version\?after-replace=1", 60)
        assert _stop(watch) == 130
        assert _status(devkit("status", "-e", "dev", "--json"))["api"]["ports"] == {}
    finally:
        for proc in (watch, logs):
            if proc is not None and proc.poll() is None:
                _stop(proc)
        down = devkit("down", "-e", "dev", "--volumes", "--json", timeout=300)
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespace(namespace)
    assert down.code == 0, down.stderr
    assert "Deployment/api" in json.loads(down.stdout)["removed"]["objects"]
    # down deletes the objects; their pods then terminate (status shows them until they are gone)
    wait_until(
        "status to show no service after down",
        lambda: devkit("status", "-e", "dev", "--json").stdout.count('"service"') == 0, 120,
    )  # fmt: skip


def test_stack_commands_on_a_kubernetes_environment_by_context_and_namespace(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    root = tmp_path / "plain"
    name, namespace = f"pl-{uuid.uuid4().hex[:6]}", f"pl-{uuid.uuid4().hex[:6]}"
    env = web_project(root, PLAIN.replace("NAME", name), testbed, tmp_path)
    where = ["-e", "remote", "--context", f"kind-{testbed.cluster}", "--namespace", namespace]
    core = client.CoreV1Api(testbed.api)

    def devkit(*args: str, timeout: float = 120) -> Run:
        return run_devkit(*args, cwd=root, env=env, timeout=timeout)

    # Without --context, the blueprint's context is used, and this kubeconfig lacks it.
    missing = devkit("status", "-e", "remote")
    assert missing.code == 2 and "a-context-this-machine-lacks" in missing.stderr
    watch = None
    try:
        up = devkit("up", *where, "--detach", "--json", timeout=600)
        assert up.code == 0, up.stdout + up.stderr
        assert json.loads(up.stdout)["namespace"] == namespace
        assert core.read_namespaced_service("web", namespace).metadata.name == "web"

        row = _status(devkit("status", *where, "--json"))["web"]
        assert row["ready"] == row["total"] == 1

        logged = devkit("logs", *where, "web")
        assert logged.code == 0 and "serving on 8000" in logged.stdout, logged.stderr

        ran = devkit("exec", *where, "web", "--", "python", "-c", "import os; print(os.getuid())")
        assert ran.code == 0 and ran.stdout.strip() == "10001", ran.stderr

        watch = _popen(root, env, "watch", *where)
        url = read_until(watch, r"web\.http: (http://127\.0\.0\.1:\d+)", 120).group(1)
        read_until(watch, r"watching \d+ paths", 120)
        assert get(url) == "v1"
        app = root / "web" / "app" / "app.py"
        app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
        wait_until("the edit served through the forward", lambda: get(url) == "v2", 30)
        _replace_pod(core, namespace, "web")
        wait_until("the replaced pod serving the synced code", lambda: get(url) == "v2", 300)
        follow = _popen(root, env, "logs", *where, "-f", "web")
        get(f"{url}/after-replace")
        read_until(follow, r"web\s*│.*GET /after-replace", 60)
        _stop(follow)
        assert _stop(watch) == 130
    finally:
        if watch is not None and watch.poll() is None:
            _stop(watch)
        down = devkit("down", *where, "--json", timeout=300)
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespace(namespace)
    assert down.code == 0, down.stderr
    assert "Deployment/web" in json.loads(down.stdout)["removed"]["objects"]
