"""A staging deploy with the spot profile on the testbed: the real kind node labelled and tainted
as an AKS spot node runs the spot-pinned pods (and the verify gate reaches them); at scale, on
kwok's fake nodes across two zones, the scheduler puts the same rendered placement only on spot
capacity, spread over zones and nodes within the rendered maxSkew.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections import Counter
from pathlib import Path

import pytest
import yaml
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
    finally:
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


SCALE_BLUEPRINT = """
from devkit import Blueprint, Kubernetes, Resources
from devkit.profiles import spot

app = Blueprint("spread")
app.service("web", image="spread-web:1", resources=Resources(cpu="10m", memory="16Mi"))
app.environment("staging", Kubernetes(namespace="NS"), profile=spot(), replicas=12)
"""


def test_rendered_spread_constraints_spread_the_services_own_pods_over_zones_and_nodes(
    testbed: K8sTestbed, namespace: str, tmp_path: Path
) -> None:
    """The objects `devkit render` writes for a spot environment, applied as they are (only a
    toleration of kwok's fake-node taint added), on kwok's spot nodes: kwok-spot-0 in zone-a,
    kwok-spot-1 in zone-b (tests/k8s/testbed/kwok-nodes.yaml). kwok runs nothing, so the image
    need not exist; the kind node is no spot node, so the required spot affinity keeps pods off
    it without touching it."""
    (tmp_path / "blueprint.py").write_text(SCALE_BLUEPRINT.replace("NS", namespace).lstrip())
    env = {**os.environ, "NO_COLOR": "1", "KUBECONFIG": str(testbed.kubeconfig)}
    rendered = run_devkit("render", "staging", cwd=tmp_path, env=env, timeout=120)
    assert rendered.code == 0, rendered.stderr
    objects = [o for o in yaml.safe_load_all(rendered.stdout) if o and o["kind"] != "Namespace"]
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]
    constraints = pod["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in constraints] == [
        "topology.kubernetes.io/zone", "kubernetes.io/hostname",
    ]  # fmt: skip
    own = deployment["spec"]["selector"]["matchLabels"]
    for constraint in constraints:  # they count the service's own pods, which carry these labels
        assert constraint["labelSelector"] == {"matchLabels": own}
        assert own.items() <= pod["metadata"]["labels"].items()
    pod["spec"]["tolerations"].append({"key": "kwok.x-k8s.io/node", "operator": "Equal",
                                       "value": "fake", "effect": "NoSchedule"})  # fmt: skip
    (tmp_path / "objects.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                       "items": objects}))  # fmt: skip
    testbed.kubectl("apply", "-n", namespace, "-f", str(tmp_path / "objects.json"))

    core = client.CoreV1Api(testbed.api)
    zones = {n: core.read_node(n).metadata.labels["topology.kubernetes.io/zone"]
             for n in ("kwok-spot-0", "kwok-spot-1")}  # fmt: skip
    assert sorted(zones.values()) == ["zone-a", "zone-b"]
    selector = ",".join(f"{k}={v}" for k, v in own.items())

    def placed() -> Counter[str] | None:
        found = core.list_namespaced_pod(namespace, label_selector=selector).items
        nodes = Counter(p.spec.node_name for p in found if p.spec.node_name)
        return nodes if sum(nodes.values()) == 12 else None

    try:
        nodes = wait_for("12 pods placed", placed, 60)
        assert set(nodes) <= set(zones), nodes  # spot capacity only, never on-demand
        per_zone = Counter({zones[n]: count for n, count in nodes.items()})
        print(f"placement: per node {dict(nodes)}, per zone {dict(per_zone)}")
        max_skew = constraints[0]["maxSkew"]
        assert max(per_zone.values()) - min(per_zone.get(z, 0) for z in zones.values()) <= max_skew
        assert per_zone == {"zone-a": 6, "zone-b": 6}
        assert nodes == {"kwok-spot-0": 6, "kwok-spot-1": 6}
    finally:  # no shutdown grace for kwok's pods; the fixture deletes the namespace
        apps = client.AppsV1Api(testbed.api)
        apps.delete_collection_namespaced_deployment(namespace)
        core.delete_collection_namespaced_pod(namespace, grace_period_seconds=0)
