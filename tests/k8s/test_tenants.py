"""Tenants on the testbed: a namespace each, isolated by the rendered NetworkPolicies (enforced by
kube-router), sized by a ResourceQuota that refuses a deploy over it, released one by one."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from tests.conftest import Run, run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import K8sTestbed, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]  # the testbed runs on the Docker engine

SERVE = """
import socket
s = socket.create_server(("", 8080))
while True:
    s.accept()[0].close()
"""
BLUEPRINT = """
import os
from devkit import Blueprint, Kubernetes, Port, Resources, Tcp
from devkit.model import Tenant, Tier

IMAGE = "python:3.11-slim"  # the image map names the local stand-in
SERVE = ("python3", "-c", SERVE_SOURCE)
SIZE = Resources(cpu="20m", memory="48Mi", memory_limit="64Mi")
app = Blueprint("tn")
back = app.service(
    "back", image=IMAGE, command=SERVE, run_as_user=10001, ports={"http": Port(8080)},
    health=Tcp("http", interval=1), resources=SIZE,
    env={"VERSION": os.environ.get("TEST_VERSION", "1")},
)
app.service(
    "front", image=IMAGE, command=SERVE, run_as_user=10001, ports={"http": Port(8080)},
    health=Tcp("http", interval=1), resources=SIZE, depends_on=[back],
)
TINY = Tier(name="tiny", cpu="1", memory="512Mi", pods=3, container_cpu="200m",
            container_memory="128Mi")
target = dict(context=os.environ["TEST_CONTEXT"], registry=os.environ["TEST_REGISTRY"])
app.environment("staging", Kubernetes(namespace=os.environ["TEST_NS"] + "-stg", **target),
                rollout_timeout=90)
app.environment(
    "prod", Kubernetes(namespace=os.environ["TEST_NS"], **target), rollout_timeout=90,
    tenants=[Tenant("a", tier=TINY, replicas=int(os.environ.get("TEST_A_REPLICAS", "1"))),
             Tenant("b", tier=TINY)],
)
"""
# Run in a pod: for each host, whether a TCP connection to its port 8080 opens.
PROBE = """
import json, socket, sys
found = {}
for host in sys.argv[1:]:
    try:
        socket.create_connection((host, 8080), timeout=2).close()
        found[host] = True
    except OSError:
        found[host] = False
print(json.dumps(found))
"""


def test_tenants_are_isolated_sized_by_their_tier_and_released_one_by_one(
    testbed: K8sTestbed, tmp_path: Path
) -> None:
    base = f"tn-{uuid.uuid4().hex[:6]}"
    ns_a, ns_b = f"{base}-a", f"{base}-b"
    (tmp_path / "blueprint.py").write_text(BLUEPRINT.replace("SERVE_SOURCE", repr(SERVE)))
    env = {
        **os.environ, "NO_COLOR": "1", "KUBECONFIG": str(testbed.kubeconfig),
        "DEVKIT_IMAGE_MAP": IMAGE_MAP, "TEST_NS": base,
        "TEST_CONTEXT": f"kind-{testbed.cluster}", "TEST_REGISTRY": f"{testbed.registry}/tn",
    }  # fmt: skip
    core = client.CoreV1Api(testbed.api)
    apps = client.AppsV1Api(testbed.api)

    def devkit(*args: str, **changes: str) -> Run:
        return run_devkit(*args, cwd=tmp_path, env={**env, **changes}, timeout=300)

    def releases(tenant: str) -> list[dict[str, object]]:
        listed = devkit("releases", "prod", "--tenant", tenant, "--json")
        assert listed.code == 0, listed.stderr
        found: list[dict[str, object]] = json.loads(listed.stdout)["releases"]
        return found

    try:
        # Every tenant in the declared order, the same images to each.
        first = devkit("deploy", "prod", "--json")
        assert first.code == 0, first.stderr
        done = json.loads(first.stdout)
        assert [t["tenant"] for t in done["tenants"]] == ["a", "b"]
        assert {t["release"]["status"] for t in done["tenants"]} == {"healthy"}
        quota = core.read_namespaced_resource_quota("devkit-tenant", ns_a)
        assert quota.spec and quota.spec.hard == {
            "limits.cpu": "1", "limits.memory": "512Mi", "pods": "3",
            "requests.cpu": "1", "requests.memory": "512Mi",
        }  # fmt: skip

        # A pod of tenant a reaches its own dependency, never tenant b's services.
        pods = core.list_namespaced_pod(ns_a, label_selector="app.kubernetes.io/name=front")
        front = pods.items[0].metadata.name
        hosts = ("back", f"back.{ns_b}.svc.cluster.local", f"front.{ns_b}.svc.cluster.local")

        def probe() -> dict[str, bool]:
            probed = testbed.kubectl(
                "exec", "-n", ns_a, front, "--", "python3", "-c", PROBE, *hosts, timeout=60
            )
            found: dict[str, bool] = json.loads(probed.stdout)
            return found

        # The new pods' addresses reach the node's Service rules and kube-router's sets on the
        # cluster's own time (seconds on a loaded machine; a CI-like run once probed first):
        # the allowed path is waited for, then the whole picture checked.
        wait_for("tenant a's front to reach its own back", lambda: probe()[hosts[0]], 30)
        assert probe() == {hosts[0]: True, hosts[1]: False, hosts[2]: False}

        # Over its quota (5 replicas of back and front, 3 pods allowed): the deploy fails with
        # the quota's own message and tenant a is rolled back; b is not touched.
        over = devkit("deploy", "prod", "--tenant", "a", TEST_A_REPLICAS="5")
        assert over.code == 1, over.stderr
        assert "exceeded quota: devkit-tenant" in over.stderr, over.stderr
        assert "rolled back to #1" in over.stderr
        for name in ("back", "front"):
            scale = apps.read_namespaced_deployment(name, ns_a).spec
            assert scale is not None and scale.replicas == 1

        # Promoting one tenant from staging leaves the other where it was.
        staged = devkit("deploy", "staging", TEST_VERSION="2")
        assert staged.code == 0, staged.stderr
        promoted = devkit("promote", "staging", "prod", "--tenant", "b", "--json", TEST_VERSION="2")
        assert promoted.code == 0, promoted.stderr
        assert json.loads(promoted.stdout)["release"]["number"] == 2
        assert [r["number"] for r in releases("b")] == [2, 1]
        assert [(r["number"], r["status"]) for r in releases("a")] == [
            (2, "rolled-back"), (1, "healthy"),
        ]  # fmt: skip
        versions = {
            ns: (core.read_namespaced_config_map("back-env", ns).data or {}).get("VERSION")
            for ns in (ns_a, ns_b)
        }
        assert versions == {ns_a: "1", ns_b: "2"}

        # Without --tenant, commands about one release history ask for it.
        asked = devkit("releases", "prod")
        assert asked.code == 2
        assert "give --tenant NAME" in asked.stderr and "its tenants: a, b" in asked.stderr
    finally:
        for name in (ns_a, ns_b, f"{base}-stg"):
            with contextlib.suppress(client.exceptions.ApiException):
                core.delete_namespace(name)
