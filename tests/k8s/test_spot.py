"""A staging deploy with the spot profile on the testbed: the real kind node labelled and tainted
as an AKS spot node runs the spot-pinned pods (and the verify gate reaches them); at scale, on
kwok's fake nodes, the scheduler puts the same rendered placement only on spot capacity.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import Counter
from pathlib import Path

import pytest
from kubernetes import client

from tests.conftest import run_devkit
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import K8sTestbed, wait_for

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

SPOT_LABEL = ("kubernetes.azure.com/scalesetpriority", "spot")  # AKS: a label and a taint

BLUEPRINT = """
from devkit import Blueprint, Build, Http, Kubernetes, Port, Verify
from devkit.profiles import spot

app = Blueprint("spotty")
app.service("web", build=Build("web"), ports={"http": Port(8000)},
            health=Http("/", port="http", interval=1, retries=2))
smoke = Verify(["python", "-c", "import urllib.request; urllib.request.urlopen('http://web:8000/')"],
               service="web", timeout=60)
app.environment("staging", Kubernetes(context="kind-CLUSTER", registry="REGISTRY", namespace="NS"),
                profile=spot(), verify=smoke, rollout_timeout=120)
"""

APP = """
import http.server
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"on spot")
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""


def _taint(core: client.CoreV1Api, node: str, on: bool) -> None:
    key, value = SPOT_LABEL
    current = core.read_node(node)
    taints = [t for t in current.spec.taints or [] if t.key != key]
    if on:
        taints.append(client.V1Taint(key=key, value=value, effect="NoSchedule"))
    core.patch_node(node, {"metadata": {"labels": {key: value if on else None}},
                           "spec": {"taints": [t.to_dict() for t in taints] or None}})  # fmt: skip


def test_spot_staging_runs_on_spot_nodes_only(testbed: K8sTestbed, tmp_path: Path) -> None:
    namespace = f"spot-{uuid.uuid4().hex[:6]}"
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "app.py").write_text(APP.lstrip())
    (tmp_path / "web" / "Dockerfile").write_text(
        'FROM python:3.11-slim\nCOPY app.py /app/\nUSER 10001:10001\nCMD ["python", "/app/app.py"]\n'
    )
    text = BLUEPRINT.replace("CLUSTER", testbed.cluster).replace("REGISTRY", testbed.registry)
    (tmp_path / "blueprint.py").write_text(text.replace("NS", namespace).lstrip())
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
           "KUBECONFIG": str(testbed.kubeconfig)}  # fmt: skip
    core = client.CoreV1Api(testbed.api)
    node = f"{testbed.cluster}-control-plane"
    _taint(core, node, on=True)
    try:
        run = run_devkit("deploy", "staging", "--json", cwd=tmp_path, env=env, timeout=600)
        assert run.code == 0, run.stderr
        assert json.loads(run.stdout)["release"]["status"] == "healthy"  # verify reached them
        pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=web")
        assert len(pods.items) == 2  # the spot profile's replica floor
        assert {p.spec.node_name for p in pods.items} == {node}

        # At scale: the rendered Deployment, allowed onto kwok's fake nodes too (and the kind
        # node cordoned, so the fleet decides), lands on spot capacity only, never on-demand.
        core.patch_node(node, {"spec": {"unschedulable": True}})
        apps = client.AppsV1Api(testbed.api)
        rendered = apps.read_namespaced_deployment("web", namespace)
        template = rendered.spec.template  # its placement, security context and all
        template.metadata = client.V1ObjectMeta(labels={"scale": "web"})
        # Fake nodes run nothing: ask for little, so the kind node's CPU is not what decides.
        template.spec.containers[0].resources = client.V1ResourceRequirements(
            requests={"cpu": "10m", "memory": "16Mi"}
        )
        template.spec.tolerations = [
            *(template.spec.tolerations or []),
            client.V1Toleration(key="kwok.x-k8s.io/node", value="fake", effect="NoSchedule"),
        ]
        scale = client.V1Deployment(
            metadata=client.V1ObjectMeta(name="web-at-scale", namespace=namespace),
            spec=client.V1DeploymentSpec(
                replicas=12,
                selector=client.V1LabelSelector(match_labels={"scale": "web"}),
                template=template,
            ),
        )
        apps.create_namespaced_deployment(namespace, scale)

        def placed() -> Counter[str] | None:
            found = core.list_namespaced_pod(namespace, label_selector="scale=web").items
            nodes = Counter(p.spec.node_name for p in found if p.spec.node_name)
            waiting = [c.message for p in found for c in p.status.conditions or []
                       if c.type == "PodScheduled" and c.status == "False"]  # fmt: skip
            placed.why = f"{len(found)} pods, {dict(nodes)}, {waiting[:1]}"  # type: ignore[attr-defined]
            return nodes if sum(nodes.values()) == 12 else None

        try:
            nodes = wait_for("12 pods placed", placed, 60)
        except BaseException:
            print("placement:", getattr(placed, "why", ""))
            raise
        assert set(nodes) <= {"kwok-spot-0", "kwok-spot-1"}, nodes  # none on kwok-on-demand-*
    finally:
        core.patch_node(node, {"spec": {"unschedulable": None}})
        _taint(core, node, on=False)
        _delete_now(testbed, namespace)


def _delete_now(testbed: K8sTestbed, namespace: str) -> None:
    """Remove the namespace without the spot profile's long shutdown grace, so its pods do not
    hold the node's CPU for the tests that follow."""
    apps, core = client.AppsV1Api(testbed.api), client.CoreV1Api(testbed.api)
    with contextlib.suppress(client.exceptions.ApiException):
        apps.delete_collection_namespaced_deployment(namespace)
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
        core.delete_namespace(namespace)
