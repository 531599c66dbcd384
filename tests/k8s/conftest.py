"""The Kubernetes testbed: a real kind cluster from a node image built from upstream sources
(tests/k8s/testbed/), with kwok's simulated on-demand and spot nodes attached and kube-router's
firewall enforcing NetworkPolicies.

One cluster per session, created or reused by `testbed/cluster.sh up` (reused when it runs the
current node image and answers), and a fresh namespace per test. What the session started (the
cluster, the registry container, kwok and its nodes) is stopped at its end; a cluster that was
already running is left running. `DEVKIT_TESTBED_KEEP=1` keeps a cluster this session created,
for quick reruns. When the testbed is not built or does not come up, the tests fail; they never
skip.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from devkit.planning.images import parse_rules
from tests.conftest import REPO, Run, run_devkit

TESTBED = Path(__file__).resolve().parent / "testbed"
CLUSTER_SH = TESTBED / "cluster.sh"
IMAGE_MAP_FILE = REPO / "tests" / "setup" / "image-map.txt"
# The local stand-in for python:3.11-slim (tests/setup/images.sh); nothing can be pulled here.
PYTHON = parse_rules(IMAGE_MAP_FILE.read_text(), source=str(IMAGE_MAP_FILE))["python:3.11-slim"]
FAKE_NODE_TAINT = {"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}
FAKE_NODES = ("kwok-on-demand-0", "kwok-on-demand-1", "kwok-spot-0", "kwok-spot-1")
TEST_LABEL = "devkit.dev/testbed-test"
SESSION = uuid.uuid4().hex[:12]
"""This session's value of TEST_LABEL on the namespaces it creates: at its end a session deletes
its own, never those of a session running beside it on the same cluster."""


def wait_for(what: str, check: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    """Poll `check` until it returns something truthy (which is returned); fail after `timeout`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")


# The Dockerfile of tests/docker/conftest.py's APP, with a VERSION file beside it.
VERSIONED_APP_DOCKERFILE = """
FROM python:3.11-slim
COPY app.py VERSION /app/
USER 10001:10001
CMD ["python", "/app/app.py"]
"""


def timed_devkit(*args: str, root: Path, env: dict[str, str], timeout: float) -> Run:
    """Run the CLI in `root`; how long it took is printed (pytest -s shows it)."""
    began = time.monotonic()
    run = run_devkit(*args, cwd=root, env=env, timeout=timeout)
    print(f"devkit {' '.join(args)}: exit {run.code} in {time.monotonic() - began:.1f} s")
    return run


def release_rows(api: client.ApiClient, namespace: str) -> list[tuple[int, str, str]]:
    """(number, status, origin) of the releases recorded in `namespace`, newest first, from
    the record ConfigMaps the target keeps (`devkit releases` reads the same)."""
    records = (
        client.CoreV1Api(api)
        .list_namespaced_config_map(namespace, label_selector="devkit.dev/record=release")
        .items
    )
    rows = [
        (json.loads(c.data["release.json"]), c.metadata.annotations["devkit.dev/status"])
        for c in records
    ]
    return sorted(((r["number"], status, r["origin"]) for r, status in rows), reverse=True)


def cluster_sh(*args: str, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run testbed/cluster.sh (with `env` added to the environment); its stdout, or the test
    fails with its stderr."""
    try:
        proc = subprocess.run(
            ["bash", str(CLUSTER_SH), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"testbed/cluster.sh {' '.join(args)} did not finish within {timeout:.0f} s")
    if proc.returncode != 0:
        pytest.fail(
            f"testbed/cluster.sh {' '.join(args)} failed (exit {proc.returncode}):\n"
            f"{proc.stderr[-4000:]}"
        )
    return proc.stdout


@dataclass(frozen=True)
class K8sTestbed:
    """The running testbed cluster and how to reach it."""

    kubeconfig: Path
    cluster: str
    node_image: str
    registry: str
    """The registry's name in pod images (localhost:5001/...): the node pulls it from the
    registry container on the kind network."""
    registry_push: str
    """The same registry from this host (127.0.0.1:5001): `docker push` goes here."""
    kubectl_bin: Path
    api: client.ApiClient
    kind_bin: Path
    docker_shim: bool
    """kind runs through testbed/docker-shim on engines where `docker run --privileged` fails."""

    def path(self) -> str:
        """PATH for processes that run kind (devkit cluster up, kind load): its binary first,
        and the docker shim where this engine needs it."""
        dirs = [str(self.kind_bin.parent)]
        if self.docker_shim:
            dirs.insert(0, str(TESTBED / "docker-shim"))
        return os.pathsep.join([*dirs, os.environ.get("PATH", "")])

    def kubectl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the testbed's kubectl against the cluster; the test fails if it fails."""
        proc = subprocess.run(
            [str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, f"kubectl {' '.join(args)}: {proc.stderr}"
        return proc

    def kubectl_popen(self, *args: str, stdout: IO[str] | int) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(self.kubectl_bin), "--kubeconfig", str(self.kubeconfig), *args],
            stdout=stdout,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def load(self, image: str) -> None:
        """`kind load docker-image` the image into the cluster's node."""
        cluster_sh("load", image, timeout=300)


def _env(output: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in output.splitlines() if "=" in line)


def _node_ready(core: client.CoreV1Api, name: str) -> bool:
    try:
        node = core.read_node(name)
    except ApiException:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])


def _policy_controller_ready(api: client.ApiClient) -> bool:
    """kube-router's DaemonSet (cluster.sh installs it) runs its one pod, ready."""
    try:
        found = client.AppsV1Api(api).read_namespaced_daemon_set("kube-router", "kube-system")
    except ApiException:
        return False
    status = found.status
    if status is None or not status.desired_number_scheduled:
        return False
    return bool(status.number_ready == status.desired_number_scheduled)


def _coredns_available(api: client.ApiClient) -> bool:
    coredns = client.AppsV1Api(api).read_namespaced_deployment("coredns", "kube-system")
    return (coredns.status.available_replicas or 0) > 0


@pytest.fixture(scope="session")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[K8sTestbed]:
    """The cluster, with kwok running its fake nodes; all of it Ready."""
    env = _env(cluster_sh("up", timeout=900))
    created = env["CLUSTER_CREATED"] == "1"
    registry_created = env["REGISTRY_CREATED"] == "1"
    kubeconfig = Path(env["KUBECONFIG"])
    api = config.new_client_from_config(config_file=str(kubeconfig))
    bed = K8sTestbed(
        kubeconfig=kubeconfig,
        cluster=env["CLUSTER"],
        node_image=env["NODE_IMAGE"],
        registry=env["REGISTRY"],
        registry_push=env["REGISTRY"].replace("localhost", "127.0.0.1"),
        kubectl_bin=Path(env["KUBECTL"]),
        api=api,
        kind_bin=Path(env["KIND"]),
        docker_shim=env.get("DOCKER_SHIM") == "1",
    )
    core = client.CoreV1Api(api)
    nodes_created = False
    kwok_log_path = tmp_path_factory.mktemp("kwok") / "kwok.log"
    with kwok_log_path.open("w") as kwok_log:
        kwok = subprocess.Popen(
            ["bash", str(CLUSTER_SH), "kwok"],
            stdout=kwok_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        before = {node.metadata.name for node in core.list_node(label_selector="type=kwok").items}
        nodes_created = not set(FAKE_NODES) <= before  # else someone runs them by hand: keep them
        cluster_sh("nodes", timeout=60)

        def fake_nodes_ready() -> bool:
            if kwok.poll() is not None:
                pytest.fail(
                    f"kwok exited ({kwok.returncode}):\n{kwok_log_path.read_text()[-3000:]}"
                )
            return all(_node_ready(core, name) for name in FAKE_NODES)

        wait_for(
            "the kind node to be Ready",
            lambda: _node_ready(core, f"{bed.cluster}-control-plane"),
            180,
        )
        wait_for("kwok's fake nodes to be Ready", fake_nodes_ready, 90)
        wait_for("CoreDNS to be available", lambda: _coredns_available(api), 180)
        wait_for(
            "kube-router, the NetworkPolicy controller, to be ready",
            lambda: _policy_controller_ready(api),
            60,
        )
        yield bed
    finally:
        # Every step runs even when one before it fails (the API server may be gone already):
        # kwok, the fake nodes and the cluster must never be left behind.
        with contextlib.suppress(Exception):
            for ns in core.list_namespace(label_selector=f"{TEST_LABEL}={SESSION}").items:
                core.delete_namespace(ns.metadata.name)
        if nodes_created:
            with contextlib.suppress(Exception, pytest.fail.Exception):
                cluster_sh("nodes-delete", timeout=60)
        kwok.terminate()
        try:
            kwok.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kwok.kill()
            kwok.wait(timeout=15)
        api.close()
        if created and os.environ.get("DEVKIT_TESTBED_KEEP") != "1":
            cluster_sh("down", timeout=300)
        elif registry_created and not created:
            cluster_sh("registry-down", timeout=60)


REGISTRY_AUTH_SH = TESTBED / "registry-auth.sh"
MANIFEST_TYPES = ", ".join(
    f"application/vnd.{kind}+json"
    for kind in ("docker.distribution.manifest.v2", "docker.distribution.manifest.list.v2",
                 "oci.image.manifest.v1", "oci.image.index.v1")
)  # fmt: skip


@dataclass(frozen=True)
class AuthRegistry:
    """The testbed's second registry, which asks for credentials (testbed/registry-auth.sh)."""

    name: str
    """What the nodes pull it as (its container on the kind network)."""
    from_host: str
    """Where this machine reaches it (the port it publishes on loopback)."""
    user: str
    password: str

    def docker_config(self, folder: Path) -> Path:
        """A DOCKER_CONFIG folder whose config.json logs in to it, as `docker login` would."""
        folder.mkdir(parents=True, exist_ok=True)
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        config = {"auths": {self.from_host: {"auth": token}}}
        (folder / "config.json").write_text(json.dumps(config))
        return folder

    def has(self, image: str) -> bool:
        """Whether it holds `image` (`path@digest`), asked from this machine with its
        credentials."""
        path, _, digest = image.partition("@")
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"http://{self.from_host}/v2/{path}/manifests/{digest}", method="HEAD",
            headers={"Authorization": f"Basic {token}", "Accept": MANIFEST_TYPES},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return bool(answer.status == 200)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return False
            raise

    def pull_secret(self, name: str, namespace: str) -> dict[str, Any]:
        """A kubernetes.io/dockerconfigjson Secret with its credentials under the nodes' name."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        auths = {self.name: {"username": self.user, "password": self.password, "auth": token}}
        data = base64.b64encode(json.dumps({"auths": auths}).encode()).decode()
        return {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": name, "namespace": namespace},
            "data": {".dockerconfigjson": data},
        }  # fmt: skip


@pytest.fixture(scope="session")
def auth_registry(testbed: K8sTestbed) -> Iterator[AuthRegistry]:
    """The authenticated registry, started on demand; removed at the end if this session
    started it (unless DEVKIT_TESTBED_KEEP=1)."""
    try:
        proc = subprocess.run(
            ["bash", str(REGISTRY_AUTH_SH), "up"], capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("testbed/registry-auth.sh up did not finish within 120 s")
    if proc.returncode != 0:
        pytest.fail(f"testbed/registry-auth.sh up failed:\n{proc.stderr[-4000:]}")
    env = _env(proc.stdout)
    yield AuthRegistry(
        env["REGISTRY_AUTH"], env["REGISTRY_AUTH_FROM_HOST"], env["REGISTRY_AUTH_USER"],
        env["REGISTRY_AUTH_PASSWORD"],
    )  # fmt: skip
    if env["REGISTRY_AUTH_CREATED"] == "1" and os.environ.get("DEVKIT_TESTBED_KEEP") != "1":
        subprocess.run(["bash", str(REGISTRY_AUTH_SH), "down"], timeout=60, check=False)


@pytest.fixture
def namespace(testbed: K8sTestbed, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test (its default ServiceAccount exists), deleted afterwards."""
    core = client.CoreV1Api(testbed.api)
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{slug}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: SESSION}))
    )

    def default_sa() -> bool:
        try:
            core.read_namespaced_service_account("default", name)
        except ApiException:
            return False
        return True

    wait_for(f"the default ServiceAccount of {name}", default_sa, 30)
    yield name
    core.delete_namespace(name)


PROMETHEUS_NAMESPACE = "devkit-monitoring"
PROMETHEUS_IN_CLUSTER = f"http://prometheus.{PROMETHEUS_NAMESPACE}.svc:9090"
"""The testbed Prometheus's address for pods (testbed/monitoring.sh installs it at `cluster.sh
up`): a Scraper(namespace=PROMETHEUS_NAMESPACE) lets it through an environment's
NetworkPolicies."""
PROMETHEUS_SCRAPE_INTERVAL = 2.0
"""Seconds between its scrapes (testbed/monitoring/prometheus.yaml)."""


@dataclass(frozen=True)
class ClusterPrometheus:
    """The testbed's Prometheus, queried from this host through the API server's service proxy
    (no port-forward to start or stop). It scrapes, every 2 s, the pods annotated
    `prometheus.io/scrape` (what devkit renders for a service that declares metrics) with labels
    `namespace`, `pod`, `service` and `job` (both the devkit service's name), Traefik's metrics
    (`job="traefik"`, e.g. `traefik_service_requests_total{exported_service=...}`) and itself."""

    api: client.ApiClient
    namespace: str = PROMETHEUS_NAMESPACE
    in_cluster: str = PROMETHEUS_IN_CLUSTER
    scrape_interval: float = PROMETHEUS_SCRAPE_INTERVAL

    def get(self, path: str, **params: str) -> Any:
        """GET an API path of Prometheus (e.g. "/api/v1/targets"): its `data`, or the test
        fails with Prometheus's error."""
        method, url, headers, _, _ = self.api.param_serialize(
            method="GET",
            resource_path=f"/api/v1/namespaces/{self.namespace}/services/prometheus:9090/proxy{path}",
            query_params=list(params.items()),
            auth_settings=["BearerToken"],
        )
        response = self.api.call_api(method, url, header_params=headers, _request_timeout=15)
        response.read()
        answer = json.loads(response.data)
        assert answer.get("status") == "success", f"Prometheus {path} {params}: {answer}"
        return answer["data"]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query: the result vector (each item's `metric` labels and `value`)."""
        data = self.get("/api/v1/query", query=promql)
        assert data["resultType"] == "vector", data
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for_series(self, promql: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Query until the result holds a series (returned); the test fails after `timeout`."""
        found: list[dict[str, Any]] = wait_for(
            f"a series for {promql}", lambda: self.query(promql), timeout, interval=1
        )
        return found

    def wait_for_counts(
        self, promql: str, least: dict[str, float], timeout: float = 60
    ) -> list[dict[str, Any]]:
        """Query until, among the series by `code`, each code in `least` counts at least that
        much; the series then. The test fails after `timeout` with the last answer."""

        def enough() -> list[dict[str, Any]] | None:
            found = self.query(promql)
            counts = {s["metric"].get("code"): float(s["value"][1]) for s in found}
            return found if all(counts.get(c, 0) >= n for c, n in least.items()) else None

        result: list[dict[str, Any]] = wait_for(f"{least} in {promql}", enough, timeout, interval=1)
        return result


@pytest.fixture(scope="session")
def prometheus(testbed: K8sTestbed) -> ClusterPrometheus:
    """The testbed's Prometheus (installed by cluster.sh up), answering queries."""
    bed = ClusterPrometheus(testbed.api)
    wait_for("the testbed Prometheus to answer", lambda: bed.query("up"), 60)
    return bed


GATEWAY_NS = "devkit-gateway"
"""Where the testbed's Traefik runs (testbed/gateway.sh), serving the Gateway `testbed`."""


@dataclass(frozen=True)
class Forward:
    """Traefik's entrypoints on 127.0.0.1: web (8000), websecure (8443), metrics (9100)."""

    web: int
    websecure: int
    metrics: int


@pytest.fixture(scope="module")
def traefik(testbed: K8sTestbed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Forward]:
    """The testbed's Traefik, serving the Gateway devkit-gateway/testbed, port-forwarded."""
    gateway = json.loads(
        testbed.kubectl("get", "gateway", "testbed", "-n", GATEWAY_NS, "-o", "json").stdout
    )
    programmed = {c["type"]: c["status"] for c in gateway["status"]["conditions"]}
    assert programmed.get("Programmed") == "True", gateway["status"]
    log_path = tmp_path_factory.mktemp("traefik") / "port-forward.log"
    with log_path.open("w") as log:
        proc = testbed.kubectl_popen(
            "port-forward", "-n", GATEWAY_NS, "svc/traefik", "--address", "127.0.0.1",
            ":8000", ":8443", ":9100", stdout=log,
        )  # fmt: skip
    try:

        def forwarded() -> dict[int, int] | None:
            if proc.poll() is not None:
                pytest.fail(f"kubectl port-forward exited:\n{log_path.read_text()}")
            pairs = re.findall(r"127\.0\.0\.1:(\d+) -> (\d+)", log_path.read_text())
            ports = {int(remote): int(local) for local, remote in pairs}
            return ports if len(ports) == 3 else None

        ports = wait_for("the port-forward to Traefik", forwarded, 30)
        yield Forward(ports[8000], ports[8443], ports[9100])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def http_get(
    port: int, host: str, path: str, *, tls: ssl.SSLContext | None = None
) -> tuple[int, str]:
    """GET through Traefik on 127.0.0.1:port with a Host header (and SNI for TLS)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        conn: socket.socket = tls.wrap_socket(raw, server_hostname=host) if tls else raw
        conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())  # no chunks
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


def served(port: int, host: str, path: str, **kw: Any) -> tuple[int, str] | None:
    with contextlib.suppress(OSError):
        status, body = http_get(port, host, path, **kw)
        return (status, body) if status == 200 else None
    return None


SECOND_CLUSTER = "devkit-testbed-2"
"""The second kind cluster of the multi-cluster tests: the same node image, no NetworkPolicy
controller, gateway or Istio CRDs (DEVKIT_TESTBED_PLATFORM=0)."""


@dataclass(frozen=True)
class SecondCluster:
    """The second testbed cluster, its registry (the authenticated one, which the nodes pull as
    `registry.name`), and a kubeconfig that holds both clusters' contexts."""

    bed: K8sTestbed
    registry: AuthRegistry
    kubeconfig: str
    """KUBECONFIG for both clusters: kind-devkit-testbed and kind-devkit-testbed-2."""
    seconds: float
    """How long `cluster.sh up` took in this session (creating or reusing it)."""


@pytest.fixture(scope="session")
def second_cluster(testbed: K8sTestbed, auth_registry: AuthRegistry) -> Iterator[SecondCluster]:
    """A second kind cluster, created on demand (or reused), with the authenticated registry as
    its own: `registry-auth.sh up` teaches its node that registry's name. Deleted at the end of
    the session when this session created it, unless DEVKIT_TESTBED_KEEP=1."""
    which = {"DEVKIT_TESTBED_CLUSTER": SECOND_CLUSTER, "DEVKIT_TESTBED_PLATFORM": "0"}
    began = time.monotonic()
    env = _env(cluster_sh("up", timeout=600, env=which))
    seconds = time.monotonic() - began
    created = env["CLUSTER_CREATED"] == "1"
    print(f"second cluster {SECOND_CLUSTER}: up in {seconds:.1f} s (created: {created})")
    api = config.new_client_from_config(config_file=env["KUBECONFIG"])
    try:
        bed = K8sTestbed(
            kubeconfig=Path(env["KUBECONFIG"]), cluster=env["CLUSTER"],
            node_image=env["NODE_IMAGE"], registry=env["REGISTRY"],
            registry_push=env["REGISTRY"].replace("localhost", "127.0.0.1"),
            kubectl_bin=Path(env["KUBECTL"]), api=api, kind_bin=Path(env["KIND"]),
            docker_shim=env.get("DOCKER_SHIM") == "1",
        )  # fmt: skip
        core = client.CoreV1Api(api)
        wait_for(
            "the second cluster's node to be Ready",
            lambda: _node_ready(core, f"{SECOND_CLUSTER}-control-plane"), 180,
        )  # fmt: skip
        wait_for("CoreDNS of the second cluster", lambda: _coredns_available(api), 180)
        proc = subprocess.run(
            ["bash", str(REGISTRY_AUTH_SH), "up"], capture_output=True, text=True, timeout=120,
            check=False, env={**os.environ, **which},
        )  # fmt: skip
        if proc.returncode != 0:
            pytest.fail(f"registry-auth.sh up for {SECOND_CLUSTER} failed:\n{proc.stderr[-4000:]}")
        both = os.pathsep.join([str(testbed.kubeconfig), env["KUBECONFIG"]])
        yield SecondCluster(bed, auth_registry, both, seconds)
    finally:
        core = client.CoreV1Api(api)
        with contextlib.suppress(Exception):
            for ns in core.list_namespace(label_selector=f"{TEST_LABEL}={SESSION}").items:
                core.delete_namespace(ns.metadata.name)
        api.close()
        if created and os.environ.get("DEVKIT_TESTBED_KEEP") != "1":
            began = time.monotonic()
            cluster_sh("down", timeout=300, env=which)
            print(f"second cluster {SECOND_CLUSTER}: deleted in {time.monotonic() - began:.1f} s")
