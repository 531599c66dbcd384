"""devkit's rendered NetworkPolicies, enforced on the testbed by kube-router's firewall.

The testbed runs kube-router v2.1.0 in firewall-only mode beside its bridge CNI
(testbed/kube-router.yaml), so a policy devkit renders is enforced as on a cluster with Calico
or Cilium: a service reaches what it declares in `depends_on` and nothing else in its namespace
does; other namespaces are refused except the entry point's and the metrics scraper's, which the
environment declares; devkit's verify and pre-deploy job pods reach what they need; DNS works.
Egress too: a service's pods reach DNS, their dependencies and the destinations their service
declares (`Egress`), and nothing else, inside the cluster or out.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from devkit import Blueprint, Egress, Ingress, Kubernetes, Port, Scraper, Tcp
from devkit.planning.planner import plan
from devkit.render import labels, render
from devkit.targets.kubernetes.spec import one_off_labels
from tests.conftest import Run, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import PYTHON, SESSION, TEST_LABEL, K8sTestbed, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]  # the testbed runs on the Docker engine

FIELD_MANAGER = "devkit-netpol-test"
UID = 10001
# Serves every port given as an argument (TCP accept and close): what a probe connects to.
SERVE = """
import socket, sys, threading
def serve(port):
    s = socket.create_server(("", port))
    while True:
        s.accept()[0].close()
for port in sys.argv[1:]:
    threading.Thread(target=serve, args=(int(port),)).start()
"""
# Run in a pod: for each "host:port" whether a TCP connection opens, for each "dns:name" whether
# the name resolves; one JSON object.
PROBE = """
import json, socket, sys
found = {}
for target in sys.argv[2:]:
    try:
        if target.startswith("dns:"):
            socket.getaddrinfo(target[4:], None)
        else:
            host, port = target.rsplit(":", 1)
            socket.create_connection((host, int(port)), timeout=float(sys.argv[1])).close()
        found[target] = True
    except OSError:
        found[target] = False
print(json.dumps(found))
"""
# Run in a pod: connect every 50 ms; print "as-before" once an attempt gives argv[3] ("1" =
# open), then the wall-clock time (this machine's clock) of the first attempt that does not.
WATCH = """
import socket, sys, time
host, port, before = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
deadline = time.time() + float(sys.argv[4])
seen = False
while time.time() < deadline:
    at = time.time()
    try:
        socket.create_connection((host, port), timeout=0.3).close()
        now = True
    except OSError:
        now = False
    if now == before and not seen:
        print("as-before", flush=True)
        seen = True
    elif now != before and seen:
        print(at, flush=True)
        break
    time.sleep(0.05)
"""


def _docker(*args: str, timeout: float = 300) -> None:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr}"


@pytest.fixture(scope="module")
def image(testbed: K8sTestbed) -> Iterator[str]:
    """The local python image in the testbed's registry, as pods name it."""
    tag = f"netpol-{uuid.uuid4().hex[:8]}"
    pushed = f"{testbed.registry_push}/devkit-testbed/python:{tag}"
    _docker("tag", PYTHON, pushed)
    _docker("push", pushed)
    yield f"{testbed.registry}/devkit-testbed/python:{tag}"
    _docker("rmi", pushed)


@dataclass
class Cluster:
    """The testbed seen from one test: its namespaces (all removed at the end) and probes."""

    testbed: K8sTestbed
    core: client.CoreV1Api
    image: str
    namespaces: list[str]

    def create_namespace(self, name: str) -> str:
        self.core.create_namespace(
            client.V1Namespace(
                metadata=client.V1ObjectMeta(name=name, labels={TEST_LABEL: SESSION})
            )
        )
        self.namespaces.append(name)
        return name

    def apply(self, objects: list[dict[str, Any]], path: Path) -> None:
        path.write_text("\n".join(json.dumps(o) for o in objects))
        self.testbed.kubectl(
            "apply", "--server-side", f"--field-manager={FIELD_MANAGER}", "-f", str(path)
        )

    def pod(self, namespace: str, name: str, pod_labels: dict[str, str], *serves: int) -> str:
        """A pod that waits (probes run in it), or serves TCP ports `serves`, restricted as
        devkit's own pods are."""
        command = ["python3", "-c", SERVE, *map(str, serves)] if serves else None
        body: Any = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": pod_labels},
            "spec": {
                "containers": [
                    {
                        "name": "probe",
                        "image": self.image,
                        "command": command or ["python3", "-c", "import time; time.sleep(3600)"],
                        "securityContext": {
                            "allowPrivilegeEscalation": False,
                            "capabilities": {"drop": ["ALL"]},
                            "readOnlyRootFilesystem": True,
                        },
                    }
                ],
                "securityContext": {
                    "runAsNonRoot": True,
                    "runAsUser": UID,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "terminationGracePeriodSeconds": 0,
            },
        }
        self.core.create_namespaced_pod(namespace, body)
        return name

    def running(self, namespace: str, name: str) -> None:
        def ready() -> bool:
            pod = self.core.read_namespaced_pod(name, namespace)
            statuses = (pod.status.container_statuses if pod.status else None) or []
            waiting = [s.state.waiting for s in statuses if s.state and s.state.waiting]
            stuck = [w for w in waiting if w.reason in ("ImagePullBackOff", "CrashLoopBackOff")]
            assert not stuck, f"pod {namespace}/{name}: {stuck[0].reason}: {stuck[0].message}"
            return bool(statuses) and all(s.ready for s in statuses)

        wait_for(f"pod {namespace}/{name} to run", ready, 120)

    def first_pod(self, namespace: str, service: str, instance: str) -> str:
        selector = f"app.kubernetes.io/instance={instance},app.kubernetes.io/name={service}"
        pods = self.core.list_namespaced_pod(namespace, label_selector=selector).items
        assert pods and pods[0].metadata, f"no pod of {service} in {namespace}"
        return str(pods[0].metadata.name)

    def probe(self, where: tuple[str, str], *targets: str, timeout: float = 1.5) -> dict[str, bool]:
        """From pod `where` = (namespace, name): which targets it reaches."""
        out = self.testbed.kubectl(
            "exec", "-n", where[0], where[1], "--", "python3", "-c", PROBE, str(timeout), *targets,
            timeout=60,
        ).stdout  # fmt: skip
        found: dict[str, bool] = json.loads(out)
        return found


@pytest.fixture
def cluster(testbed: K8sTestbed, image: str) -> Iterator[Cluster]:
    found = Cluster(testbed, client.CoreV1Api(testbed.api), image, [])
    yield found
    for name in found.namespaces:
        found.core.delete_namespace(name)


def blueprint(
    image: str,
    namespace: str,
    entry: str,
    scraper: str,
    *,
    outside: str,
    lonely_needs: tuple[str, ...] = (),
) -> Blueprint:
    """back (a public port and a metrics port), front (depends on it, and calls the address
    `outside` on 8080) and lonely (neither, unless `lonely_needs` says so)."""
    app = Blueprint("np")

    def serve(*ports: int) -> tuple[str, ...]:
        return ("python3", "-c", SERVE, *map(str, ports))

    back = app.service(
        "back", image=image, command=serve(8080, 9100), run_as_user=UID,
        ports={"http": Port(8080, public=True), "metrics": Port(9100)},
        health=Tcp("http", interval=1),
    )  # fmt: skip
    for name, deps, egress in (
        ("front", (back.name,), [Egress(outside, 8080)]),
        ("lonely", lonely_needs, []),
    ):
        app.service(
            name, image=image, command=serve(8080), run_as_user=UID, egress=egress,
            ports={"http": Port(8080)}, health=Tcp("http", interval=1), depends_on=deps,
        )  # fmt: skip
    target = Kubernetes(
        namespace=namespace, ingress=Ingress(namespace=entry), scraper=Scraper(namespace=scraper)
    )
    app.environment("np", target)
    return app


class Watch:
    """WATCH running in a pod: `changed_after(apply)` runs `apply` once the watch has seen the
    connection as it was, and returns how many seconds later it changed."""

    def __init__(self, cluster: Cluster, where: tuple[str, str], target: str, before: bool):
        host, port = target.rsplit(":", 1)
        self.proc = cluster.testbed.kubectl_popen(
            "exec", "-n", where[0], where[1], "--", "python3", "-c", WATCH, host, port,
            "1" if before else "0", "30", stdout=subprocess.PIPE,
        )  # fmt: skip
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put("")  # the watch ended

    def changed_after(self, apply: Callable[[], None]) -> float:
        try:
            first = self.lines.get(timeout=60)
            assert first == "as-before", f"the watch did not start: {first!r}"
            apply()
            applied = time.time()
            changed = self.lines.get(timeout=60)
        finally:
            self.proc.kill()
            self.proc.wait(timeout=15)
        assert changed, "the connection did not change within 30 s of the apply"
        return float(changed) - applied


def test_rendered_policies_admit_dependents_one_off_pods_entry_and_scraper_only(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    entry = cluster.create_namespace(f"{namespace}-entry")
    monitoring = cluster.create_namespace(f"{namespace}-metrics")
    other = cluster.create_namespace(f"{namespace}-other")
    # A listener in a namespace without policies stands for an address outside the environment.
    cluster.pod(other, "outside", {"app": "outside"}, 8080)
    cluster.running(other, "outside")
    listener = cluster.core.read_namespaced_pod("outside", other)
    outside_ip = str(listener.status.pod_ip if listener.status else "")
    assert outside_ip, "the outside listener has no address"
    outside = f"{outside_ip}:8080"
    environment = plan(
        blueprint(cluster.image, namespace, entry, monitoring, outside=outside_ip), "np"
    )
    instance = labels.instance(environment)
    objects = [dict(o) for o in render(environment).objects]
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    assert {p["metadata"]["name"] for p in policies} == {
        "back", "front", "lonely", "back-one-off", "front-one-off", "lonely-one-off",
        "default-deny-ingress", "default-deny-egress",
    }  # fmt: skip

    # Everything but the policies first: with nothing enforced every pod reaches every other.
    cluster.apply([o for o in objects if o["kind"] != "NetworkPolicy"], tmp_path / "app.json")
    probes = {
        "verify-back": (namespace, one_off_labels(instance, "verify", "back")),
        "job-front": (namespace, one_off_labels(instance, "job", "front")),
        "job-lonely": (namespace, one_off_labels(instance, "job", "lonely")),
        "entry": (entry, {"app": "ingress-controller"}),
        "scraper": (monitoring, {"app": "prometheus"}),
        "other": (other, {"app": "stranger"}),
    }
    for name, (ns, pod_labels) in probes.items():
        cluster.pod(ns, name, pod_labels)
    for name, (ns, _) in probes.items():
        cluster.running(ns, name)
    apps = client.AppsV1Api(cluster.testbed.api)
    services = ("back", "front", "lonely")

    def ready(service: str) -> bool:
        status = apps.read_namespaced_deployment(service, namespace).status
        return bool(status and status.ready_replicas)

    wait_for("back, front and lonely to be ready", lambda: all(map(ready, services)), 120)
    front = (namespace, cluster.first_pod(namespace, "front", instance))
    lonely = (namespace, cluster.first_pod(namespace, "lonely", instance))
    back = f"back.{namespace}.svc.cluster.local"
    # Before any policy the namespace is open (each listener answers once it has started: a
    # Deployment is ready by its first port's probe, so the second may take a moment longer).
    wait_for(
        "back's two ports to answer lonely before any policy",
        lambda: all(cluster.probe(lonely, f"{back}:8080", f"{back}:9100").values()),
        30,
    )
    wait_for(
        "the outside address to answer lonely before any policy",
        lambda: cluster.probe(lonely, outside)[outside],
        30,
    )
    wait_for(
        "back to answer another namespace before any policy",
        lambda: cluster.probe((other, "other"), f"{back}:8080")[f"{back}:8080"],
        30,
    )

    # The policies: an undeclared pod is refused within a second or so of the apply.
    latency = Watch(cluster, lonely, f"{back}:8080", before=True).changed_after(
        lambda: cluster.apply(policies, tmp_path / "policies.json")
    )
    print(f"kube-router refused lonely -> back {latency:.2f} s after the apply returned")
    assert latency < 10

    ports = (f"{back}:8080", f"{back}:9100")

    def reach(where: tuple[str, str], *targets: str) -> dict[str, bool]:
        return cluster.probe(where, *targets)

    assert reach(front, *ports) == dict.fromkeys(ports, True), "a declared dependency"
    assert reach(lonely, *ports) == dict.fromkeys(ports, False), "an undeclared pod"
    assert reach(front, f"lonely.{namespace}.svc.cluster.local:8080") == {
        f"lonely.{namespace}.svc.cluster.local:8080": False
    }
    back_pod = (namespace, cluster.first_pod(namespace, "back", instance))
    assert not reach(back_pod, "front:8080")["front:8080"], "dependencies are not symmetric"
    assert reach((namespace, "verify-back"), *ports) == dict.fromkeys(ports, True)
    assert reach((namespace, "job-front"), *ports) == dict.fromkeys(ports, True)
    assert reach((namespace, "job-lonely"), *ports) == dict.fromkeys(ports, False)
    assert reach((entry, "entry"), *ports) == {ports[0]: True, ports[1]: False}, "public only"
    assert reach((monitoring, "scraper"), *ports) == {ports[0]: False, ports[1]: True}
    assert reach((other, "other"), *ports) == dict.fromkeys(ports, False)
    names = ("dns:back", "dns:kubernetes.default.svc.cluster.local", f"dns:{back}")
    assert reach(front, *names) == dict.fromkeys(names, True), "DNS"
    assert reach(lonely, *names) == dict.fromkeys(names, True), "DNS"
    assert reach((other, "other"), *names[1:]) == dict.fromkeys(names[1:], True), "DNS"
    for name in ("job-front", "verify-back", "job-lonely"):
        assert reach((namespace, name), *names) == dict.fromkeys(names, True), "DNS"

    # Egress: only front declares the outside address; its one-off pods inherit it.
    assert reach(front, outside) == {outside: True}, "a declared destination"
    assert reach((namespace, "job-front"), outside) == {outside: True}
    for where in (lonely, back_pod, (namespace, "job-lonely"), (namespace, "verify-back")):
        assert reach(where, outside) == {outside: False}, f"{where[1]}: undeclared destination"
    assert reach((entry, "entry"), outside) == {outside: True}, "other namespaces are untouched"

    # A dependency declared later is admitted as fast.
    changed = plan(
        blueprint(
            cluster.image, namespace, entry, monitoring, outside=outside_ip, lonely_needs=("back",)
        ),
        "np",
    )
    policy = [
        dict(o) for o in render(changed).objects
        if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] in ("back", "lonely")
    ]  # fmt: skip
    latency = Watch(cluster, lonely, f"{back}:8080", before=False).changed_after(
        lambda: cluster.apply(policy, tmp_path / "back-policy.json")
    )
    print(f"kube-router admitted lonely -> back {latency:.2f} s after the apply returned")
    assert latency < 10
    assert reach(lonely, *ports) == dict.fromkeys(ports, True)


DEPLOYED = '''
import os
from devkit import Blueprint, Job, Kubernetes, Port, Tcp, Verify

IMAGE = "python:3.11-slim"  # the image map names the local stand-in
SERVE = ("python3", "-c", SERVE_SOURCE, "8080")
# Connects to port 8080 of each host, trying again for up to 8 s: the policy controller admits
# a new pod's traffic only once it has seen the pod (about a second after it starts here).
CONNECT = """
import socket, sys, time
for host in sys.argv[1:]:
    deadline = time.time() + 8
    while True:
        try:
            socket.create_connection((host, 8080), timeout=2).close()
            break
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.2)
print("reached", *sys.argv[1:])
"""
app = Blueprint("npd")
back = app.service(
    "back", image=IMAGE, command=SERVE, run_as_user=10001, ports={"http": Port(8080)},
    health=Tcp("http", interval=1), env={"VERSION": os.environ.get("TEST_VERSION", "1")},
)
front = app.service(
    "front", image=IMAGE, command=SERVE, run_as_user=10001, ports={"http": Port(8080)},
    health=Tcp("http", interval=1), depends_on=[back],
)
verify_in = os.environ.get("TEST_VERIFY_SERVICE", "front")
app.environment(
    "np",
    Kubernetes(context=os.environ["TEST_CONTEXT"], namespace=os.environ["TEST_NS"],
               registry=os.environ["TEST_REGISTRY"]),
    jobs=[Job("migrate", ["python3", "-c", CONNECT, "back"], service="front", timeout=60)]
    if os.environ.get("TEST_JOB") else [],
    verify=Verify(["python3", "-c", CONNECT, "back", "front"], service=verify_in, timeout=60),
    rollout_timeout=90,
)
'''


def test_devkit_deploys_its_verify_and_job_pods_through_the_policies_and_only_those(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    """A deploy whose verify step reaches the service and its dependency is healthy, as is one
    whose pre-deploy job reaches the dependency; a verify step run in a service that does not
    depend on what it connects to is refused, and the deploy fails on it."""
    namespace = f"npd-{uuid.uuid4().hex[:6]}"
    (tmp_path / "blueprint.py").write_text(DEPLOYED.replace("SERVE_SOURCE", repr(SERVE)))
    env = {
        **os.environ, "NO_COLOR": "1", "KUBECONFIG": str(testbed.kubeconfig),
        "DEVKIT_IMAGE_MAP": IMAGE_MAP, "TEST_NS": namespace,
        "TEST_CONTEXT": f"kind-{testbed.cluster}", "TEST_REGISTRY": f"{testbed.registry}/npd",
    }  # fmt: skip

    core = client.CoreV1Api(testbed.api)

    def deploy(**changes: str) -> Run:
        env.update(changes)
        return run_devkit("deploy", "np", "--json", cwd=tmp_path, env=env, timeout=300)

    try:
        first = deploy()
        assert first.code == 0, first.stderr
        assert json.loads(first.stdout)["release"]["status"] == "healthy"  # verify reached both

        # A pre-deploy job runs in front's template before front's rollout: it reaches back.
        second = deploy(TEST_JOB="1", TEST_VERSION="2")
        assert second.code == 0, second.stderr
        assert json.loads(second.stdout)["jobs"][0]["logs"][-1] == "reached back"

        # The same verify step run in back reaches back, but not front: back does not depend on
        # front. The release fails its verify step and is rolled back.
        third = deploy(TEST_JOB="", TEST_VERSION="3", TEST_VERIFY_SERVICE="back")
        assert third.code == 1, third.stderr
        assert "verify failed" in third.stderr and "rolled back to #2" in third.stderr
        assert "ConnectionRefusedError" in third.stderr  # its log: kube-router's REJECT
    finally:
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespace(namespace)
