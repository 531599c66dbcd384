"""Smoke tests of the Kubernetes testbed: a genuine API server, kubelet, scheduler, kube-proxy and
CoreDNS in a kind node, and kwok's simulated nodes, doing what devkit's Kubernetes paths need."""

from __future__ import annotations

import re
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, dynamic
from kubernetes.stream import stream

from devkit.planning.placement import SPOT_LABELS, SPOT_TAINTS
from tests.k8s.conftest import (
    FAKE_NODE_TAINT,
    FAKE_NODES,
    PYTHON,
    K8sTestbed,
    cluster_sh,
    wait_for,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]  # the testbed runs on the Docker engine

FIELD_MANAGER = "devkit-testbed-test"
SPOT_NODES = {n for n in FAKE_NODES if "-spot-" in n}
ON_DEMAND_NODES = set(FAKE_NODES) - SPOT_NODES
SERVE = (
    "mkdir -p /srv && echo hello from $(hostname) > /srv/hello.txt && echo serving on 8000 "
    "&& exec python3 -m http.server 8000 --directory /srv"
)


@pytest.fixture(scope="module")
def registry_image(testbed: K8sTestbed) -> Iterator[str]:
    """The local python image pushed to the testbed registry; its name as pods give it."""
    tag = f"smoke-{uuid.uuid4().hex[:8]}"
    pushed = f"{testbed.registry_push}/devkit-testbed/python:{tag}"
    _docker("tag", PYTHON, pushed)
    _docker("push", pushed, timeout=300)
    yield f"{testbed.registry}/devkit-testbed/python:{tag}"
    _docker("rmi", pushed)


def _docker(*args: str, timeout: float = 120) -> None:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"docker {' '.join(args)}: {proc.stderr}"


def _deployment(name: str, replicas: int, pod_spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": pod_spec},
        },
    }


def _fake_pod_spec(**extra: Any) -> dict[str, Any]:
    """Pods for kwok's nodes: kwok never runs the image, so any name does."""
    spec: dict[str, Any] = {
        "containers": [{"name": "app", "image": "devkit.invalid/fake:1"}],
        "nodeSelector": {"type": "kwok"},
        "tolerations": [FAKE_NODE_TAINT],
    }
    for key, value in extra.items():
        spec[key] = [*spec[key], *value] if isinstance(value, list) else value
    return spec


def _pod(
    name: str, image: str, *, command: str = SERVE, pull: str = "IfNotPresent"
) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels={"app": name}),
        spec=client.V1PodSpec(
            containers=[
                client.V1Container(
                    name="app",
                    image=image,
                    image_pull_policy=pull,
                    command=["sh", "-c", command],
                    ports=[client.V1ContainerPort(container_port=8000)],
                    readiness_probe=client.V1Probe(
                        tcp_socket=client.V1TCPSocketAction(port=8000), period_seconds=1
                    ),
                )
            ],
            termination_grace_period_seconds=1,
        ),
    )


def _wait_ready(
    core: client.CoreV1Api, namespace: str, name: str, timeout: float = 120
) -> client.V1Pod:
    def ready() -> client.V1Pod | None:
        pod = core.read_namespaced_pod(name, namespace)
        waiting = [
            s.state.waiting.reason
            for s in pod.status.container_statuses or []
            if s.state.waiting
            and s.state.waiting.reason in {"ErrImageNeverPull", "ErrImagePull", "ImagePullBackOff"}
        ]
        assert not waiting, f"pod {name} cannot get its image: {waiting}"
        conditions = pod.status.conditions or []
        return pod if any(c.type == "Ready" and c.status == "True" for c in conditions) else None

    pod: client.V1Pod = wait_for(f"pod {namespace}/{name} to be Ready", ready, timeout)
    return pod


def _rolled_out(apps: client.AppsV1Api, namespace: str, name: str, replicas: int) -> bool:
    status = apps.read_namespaced_deployment_status(name, namespace).status
    return (status.updated_replicas or 0) == replicas and (
        status.available_replicas or 0
    ) == replicas


def _pod_nodes(core: client.CoreV1Api, namespace: str, app: str) -> list[str]:
    pods = core.list_namespaced_pod(namespace, label_selector=f"app={app}").items
    return [p.spec.node_name for p in pods]


def test_server_side_apply_creates_and_a_second_apply_changes_nothing(
    testbed: K8sTestbed, namespace: str
) -> None:
    dyn = dynamic.DynamicClient(testbed.api)
    objects = [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "settings"},
            "data": {"MODE": "smoke"},
        },
        _deployment("api", 1, _fake_pod_spec()),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "api"},
            "spec": {
                "selector": {"app": "api"},
                "ports": [{"name": "http", "port": 80, "targetPort": 8000}],
            },
        },
    ]

    def apply_all() -> list[str]:
        versions = []
        for obj in objects:
            resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            applied = resource.server_side_apply(
                body=obj,
                name=obj["metadata"]["name"],
                namespace=namespace,
                field_manager=FIELD_MANAGER,
            )
            managers = {(m.manager, m.operation) for m in applied.metadata.managedFields}
            assert (FIELD_MANAGER, "Apply") in managers, managers
            # spec changes bump a Deployment's generation (its status moves on by itself)
            meta = applied.metadata
            versions.append(
                f"generation {meta.generation}" if meta.generation else meta.resourceVersion
            )
        return versions

    first = apply_all()
    assert apply_all() == first, "a second apply of the same objects must change nothing"
    objects[0]["data"] = {"MODE": "changed"}
    third = apply_all()
    assert third[0] != first[0] and third[1:] == first[1:]
    core = client.CoreV1Api(testbed.api)
    assert core.read_namespaced_config_map("settings", namespace).data == {"MODE": "changed"}
    assert core.read_namespaced_service("api", namespace).spec.cluster_ip


def test_deployment_rolls_out_on_kwok_nodes_and_spot_pods_land_only_on_spot_nodes(
    testbed: K8sTestbed, namespace: str
) -> None:
    apps = client.AppsV1Api(testbed.api)
    core = client.CoreV1Api(testbed.api)
    # on-demand: tolerates only the fake-node taint, so the spot nodes' taints keep it off them
    apps.create_namespaced_deployment(namespace, _deployment("web", 3, _fake_pod_spec()))
    # spot-pinned as devkit places spot services: a spot label of any provider is required, and
    # the providers' spot taints are tolerated
    spot_terms = [
        {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]}
        for key, value in SPOT_LABELS.values()
    ]
    spot_tolerations = [
        {"key": key, "value": value, "effect": "NoSchedule"} for key, value in SPOT_TAINTS.values()
    ]
    spot_spec = _fake_pod_spec(
        affinity={
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": spot_terms}
            }
        },
        tolerations=spot_tolerations,
    )
    apps.create_namespaced_deployment(namespace, _deployment("worker", 4, spot_spec))

    wait_for("web to roll out 3 replicas", lambda: _rolled_out(apps, namespace, "web", 3), 90)
    wait_for("worker to roll out 4 replicas", lambda: _rolled_out(apps, namespace, "worker", 4), 90)
    web_nodes = _pod_nodes(core, namespace, "web")
    worker_nodes = _pod_nodes(core, namespace, "worker")
    assert len(web_nodes) == 3 and set(web_nodes) <= ON_DEMAND_NODES, web_nodes
    assert len(worker_nodes) == 4 and set(worker_nodes) <= SPOT_NODES, worker_nodes


def test_pods_from_the_registry_and_from_kind_load_run_on_the_kind_node(
    testbed: K8sTestbed, namespace: str, registry_image: str
) -> None:
    core = client.CoreV1Api(testbed.api)
    core.create_namespaced_pod(namespace, _pod("from-registry", registry_image))
    pulled = _wait_ready(core, namespace, "from-registry")
    # the same image ID again, put into the node by `kind load`: the kubelet must not refuse it
    # (imagePullCredentialsVerificationPolicy in testbed/kind-config.yaml)
    loaded = f"devkit-testbed/kind-load:{uuid.uuid4().hex[:8]}"
    _docker("tag", PYTHON, loaded)
    try:
        testbed.load(loaded)
        core.create_namespaced_pod(namespace, _pod("from-kind-load", loaded, pull="Never"))
        local = _wait_ready(core, namespace, "from-kind-load")
    finally:
        _docker("rmi", loaded)
    node = f"{testbed.cluster}-control-plane"
    assert pulled.spec.node_name == node and local.spec.node_name == node


def test_a_service_is_reached_by_name_from_another_pod(
    testbed: K8sTestbed, namespace: str, registry_image: str
) -> None:
    core = client.CoreV1Api(testbed.api)
    core.create_namespaced_pod(namespace, _pod("echo", registry_image))
    core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="echo"),
            spec=client.V1ServiceSpec(
                selector={"app": "echo"}, ports=[client.V1ServicePort(port=80, target_port=8000)]
            ),
        ),
    )
    _wait_ready(core, namespace, "echo")
    fetch = (
        "import time, urllib.request\n"
        "for attempt in range(30):\n"
        "    try:\n"
        "        print(urllib.request.urlopen('http://echo/hello.txt', timeout=2).read().decode()); break\n"
        "    except OSError as exc:\n"
        "        print('retry', attempt, exc, flush=True); time.sleep(1)\n"
        "else:\n"
        "    raise SystemExit(1)\n"
    )
    client_pod = _pod("client", registry_image)
    client_pod.spec.containers[0].command = ["python3", "-c", fetch]
    client_pod.spec.containers[0].readiness_probe = None
    client_pod.spec.restart_policy = "Never"
    core.create_namespaced_pod(namespace, client_pod)

    def finished() -> str | None:
        phase: str = core.read_namespaced_pod("client", namespace).status.phase
        return phase if phase in {"Succeeded", "Failed"} else None

    phase = wait_for("the client pod to finish", finished, 90)
    log = core.read_namespaced_pod_log("client", namespace)
    assert phase == "Succeeded", log
    assert "hello from echo" in log


def test_logs_exec_and_port_forward_to_loopback(
    testbed: K8sTestbed, namespace: str, registry_image: str, tmp_path: Any
) -> None:
    core = client.CoreV1Api(testbed.api)
    core.create_namespaced_pod(namespace, _pod("web", registry_image))
    _wait_ready(core, namespace, "web")

    assert "serving on 8000" in core.read_namespaced_pod_log("web", namespace)
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "web",
        namespace,
        command=["cat", "/srv/hello.txt"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _request_timeout=30,
    )
    assert out.strip() == "hello from web"

    log_path = tmp_path / "port-forward.log"
    with log_path.open("w") as log:
        forward = testbed.kubectl_popen(
            "port-forward",
            "--address",
            "127.0.0.1",
            "-n",
            namespace,
            "pod/web",
            ":8000",
            stdout=log,
        )
    try:

        def local_port() -> int | None:
            assert forward.poll() is None, f"kubectl port-forward exited: {log_path.read_text()}"
            found = re.search(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8000", log_path.read_text())
            return int(found.group(1)) if found else None

        port = wait_for("kubectl port-forward to listen", local_port, 30)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/hello.txt", timeout=10) as response:
            assert response.read().decode().strip() == "hello from web"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


def test_the_fake_nodes_are_applied_again_over_taints_another_manager_set(
    testbed: K8sTestbed,
) -> None:
    """Nodes left from an earlier run carry the node controller's taints (NotReady while no kwok
    ran); the fixture's `cluster.sh nodes` must still put the file's taints back, not stop on a
    conflict over the taints list (a CI run on a machine that kept its cluster did)."""
    core = client.CoreV1Api(testbed.api)
    node = FAKE_NODES[0]
    left_over = {"key": "devkit.test/left-over", "value": "yes", "effect": "NoSchedule"}
    core.patch_node(
        node,
        {"spec": {"taints": [FAKE_NODE_TAINT, left_over]}},
        field_manager="node-controller-stand-in",
    )
    managers = {m.manager for m in core.read_node(node).metadata.managed_fields or []}
    assert "node-controller-stand-in" in managers
    try:
        cluster_sh("nodes", timeout=60)
    finally:
        current = core.read_node(node).spec.taints or []
        if any(t.key == left_over["key"] for t in current):  # leave the node as the file has it
            core.patch_node(node, {"spec": {"taints": [FAKE_NODE_TAINT]}})
    taints = [(t.key, t.value, t.effect) for t in core.read_node(node).spec.taints or []]
    assert taints == [tuple(FAKE_NODE_TAINT.values())]


def test_claimed_volumes_are_writable_by_any_pod_user_at_once_and_deleted_on_the_node(
    testbed: K8sTestbed, namespace: str, registry_image: str
) -> None:
    """kind's local-path provisioner opens every volume to all users; the testbed's hostPath one
    must too (node/devkit-hostpath-volumes.service), for volumes made together (a stack's first
    `up`) and for as many as a whole run makes, and must delete a volume's folder on the node."""
    core = client.CoreV1Api(testbed.api)
    count = 8
    for i in range(count):
        core.create_namespaced_persistent_volume_claim(
            namespace,
            client.V1PersistentVolumeClaim(
                metadata=client.V1ObjectMeta(name=f"data-{i}"),
                spec=client.V1PersistentVolumeClaimSpec(
                    access_modes=["ReadWriteOnce"],
                    resources=client.V1VolumeResourceRequirements(requests={"storage": "1Mi"}),
                ),
            ),
        )
        pod = _pod(f"writer-{i}", registry_image, command=f"echo {i} > /data/written")
        pod.spec.restart_policy = "Never"
        pod.spec.containers[0].readiness_probe = None
        pod.spec.containers[0].volume_mounts = [
            client.V1VolumeMount(name="data", mount_path="/data")
        ]
        pod.spec.security_context = client.V1PodSecurityContext(
            run_as_user=1000 + i, run_as_group=1000 + i, fs_group=1000 + i
        )
        pod.spec.volumes = [
            client.V1Volume(
                name="data",
                persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(
                    claim_name=f"data-{i}"
                ),
            )
        ]
        core.create_namespaced_pod(namespace, pod)

    def finished() -> dict[str, str] | None:
        pods = core.list_namespaced_pod(namespace).items
        phases = {p.metadata.name: p.status.phase for p in pods}
        return phases if all(p in {"Succeeded", "Failed"} for p in phases.values()) else None

    phases = wait_for("the writers to finish", finished, 120)
    failed = {
        n: core.read_namespaced_pod_log(n, namespace) for n, p in phases.items() if p != "Succeeded"
    }
    assert not failed, f"a pod could not write to its own volume on its first start: {failed}"

    node = f"{testbed.cluster}-control-plane"
    claims = core.list_namespaced_persistent_volume_claim(namespace).items
    folders = [core.read_persistent_volume(c.spec.volume_name).spec.host_path.path for c in claims]
    listed = subprocess.run(
        ["docker", "exec", node, "cat", *(f"{f}/written" for f in folders)],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert sorted(listed.stdout.split()) == sorted(str(i) for i in range(count)), listed.stderr

    core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
    core.delete_collection_namespaced_persistent_volume_claim(namespace)

    def deleted_on_the_node() -> bool:
        ls = ["docker", "exec", node, "ls", "-d", *folders]
        left = subprocess.run(ls, capture_output=True, text=True, timeout=30, check=False)
        return left.stdout.strip() == ""

    wait_for("the provisioner to delete the volumes' folders on the node", deleted_on_the_node, 60)
