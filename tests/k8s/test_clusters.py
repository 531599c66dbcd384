"""An environment on two clusters, promoted wave by wave, on two real kind clusters.

staging runs in its own namespace on the first cluster (the shared testbed, its registry
localhost:5001). prod spans two clusters: eu on the first (the same registry as staging) and
us on the second (`second_cluster`: its own kind cluster, whose registry is the authenticated
one; its pods pull with a dockerconfigjson Secret). A promotion goes eu first (apply, wait,
verify), then us (copy by digest into its registry, apply, wait, verify); re-running it has
nothing to do. A failure in the second wave is provoked as it happens in practice: us's pull
credentials stop working, so its new pods cannot pull the new image; us is rolled back, eu keeps
the new release (`after_failure="keep"`, the default), and the command exits 1 naming the wave.
`--cluster us` then promotes us alone once its credentials work again. Last, with
`after_failure="rollback"`, a deploy (built once, pushed to eu's registry, copied into us's)
whose second wave fails rolls the first cluster back too.
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import Run
from tests.docker.conftest import APP, IMAGE_MAP
from tests.k8s.conftest import (
    SECOND_CLUSTER,
    VERSIONED_APP_DOCKERFILE,
    K8sTestbed,
    SecondCluster,
    release_rows,
    timed_devkit,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
import os
from devkit import Blueprint, Build, Cluster, Http, Kubernetes, Port, Verify

NS = os.environ["TEST_NS"]
app = Blueprint("waves")
web = app.service(
    "web", build=Build("web"), ports={"http": Port(8000)}, env={"GREETING": "hello"},
    health=Http("/healthz", port="http", interval=1, retries=2),
)
# In each cluster, in the new image: the service answers (retried while the NetworkPolicy
# controller of the first cluster learns the new pod).
smoke = Verify(["python", "-c", SMOKE], service="web", timeout=60)
app.environment("staging", Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
                                      namespace=f"{NS}-staging"), rollout_timeout=60)
app.environment(
    "prod",
    Kubernetes(namespace=f"{NS}-prod", clusters=[
        Cluster("eu", context="kind-devkit-testbed", registry="REGISTRY"),
        Cluster("us", context="kind-SECOND", registry="AUTH_NAME",
                registry_from_host="AUTH_FROM_HOST", image_pull_secrets=("prod-registry",)),
    ], after_failure=os.environ.get("TEST_AFTER_FAILURE", "keep")),
    verify=smoke, rollout_timeout=60,
)
"""

SMOKE = """
import time, urllib.request
for attempt in range(20):
    try:
        print(urllib.request.urlopen("http://web:8000/", timeout=2).read().decode())
        break
    except OSError:
        time.sleep(0.5)
else:
    raise SystemExit("web did not answer")
"""


@dataclass
class Waves:
    root: Path
    env: dict[str, str]
    namespace: str
    first: K8sTestbed
    second: SecondCluster

    def devkit(self, *args: str, timeout: float = 400) -> Run:
        return timed_devkit(*args, root=self.root, env=self.env, timeout=timeout)

    def api(self, cluster: str) -> Any:
        return self.first.api if cluster == "eu" else self.second.bed.api

    def image(self, cluster: str, env: str = "prod") -> str:
        apps = client.AppsV1Api(self.api(cluster))
        found = apps.read_namespaced_deployment("web", f"{self.namespace}-{env}")
        return str(found.spec.template.spec.containers[0].image)

    def records(self, cluster: str) -> list[tuple[int, str, str]]:
        """(number, status, origin) of prod's releases in that cluster, newest first."""
        return release_rows(self.api(cluster), f"{self.namespace}-prod")

    def pull_secret(self, password: str) -> None:
        """prod's pull Secret in the second cluster, with these credentials."""
        registry = self.second.registry
        body = registry.pull_secret("prod-registry", f"{self.namespace}-prod")
        if password != registry.password:
            wrong = type(registry)(registry.name, registry.from_host, registry.user, password)
            body = wrong.pull_secret("prod-registry", f"{self.namespace}-prod")
        core = client.CoreV1Api(self.second.bed.api)
        with contextlib.suppress(ApiException):
            core.delete_namespaced_secret("prod-registry", f"{self.namespace}-prod")
        core.create_namespaced_secret(f"{self.namespace}-prod", body)

    def build(self, version: str) -> tuple[str, str]:
        """Build and push a version for staging: its image, and the images file naming it."""
        (self.root / "web" / "VERSION").write_text(version)
        file = f"{version}.json"
        ok(self.devkit("build", "staging", "--push", "--images-file", file))
        images = json.loads((self.root / file).read_text())["images"]
        return str(images["web"]), file


@pytest.fixture
def waves(testbed: K8sTestbed, second_cluster: SecondCluster, tmp_path: Path) -> Iterator[Waves]:
    namespace = f"waves-{uuid.uuid4().hex[:6]}"
    registry = second_cluster.registry
    docker_config = registry.docker_config(tmp_path / "docker-config")
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "TEST_NS": namespace,
           "KUBECONFIG": second_cluster.kubeconfig, "DOCKER_CONFIG": str(docker_config)}  # fmt: skip
    root = tmp_path / "waves"
    (root / "web").mkdir(parents=True)
    blueprint = (
        BLUEPRINT.replace("REGISTRY", testbed.registry)
        .replace("SECOND", SECOND_CLUSTER)
        .replace("AUTH_NAME", registry.name)
        .replace("AUTH_FROM_HOST", registry.from_host)
        .replace("SMOKE", repr(SMOKE))
    )
    (root / "blueprint.py").write_text(textwrap.dedent(blueprint).lstrip())
    (root / "web" / "Dockerfile").write_text(textwrap.dedent(VERSIONED_APP_DOCKERFILE).lstrip())
    (root / "web" / "app.py").write_text(APP)
    # The pushes to 127.0.0.1:5001 need no credentials; the docker config has only the
    # authenticated registry's, as `docker login 127.0.0.1:5003` would write them.
    made = Waves(root, env, namespace, testbed, second_cluster)
    core = client.CoreV1Api(second_cluster.bed.api)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=f"{namespace}-prod"))
    )
    made.pull_secret(registry.password)
    yield made
    for api, env_name in ((testbed.api, "staging"), (testbed.api, "prod"),
                          (second_cluster.bed.api, "prod")):  # fmt: skip
        with contextlib.suppress(ApiException):
            client.CoreV1Api(api).delete_namespace(f"{namespace}-{env_name}")


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def test_prod_on_two_clusters_is_promoted_wave_by_wave_and_a_failed_second_wave_stops(
    waves: Waves,
) -> None:
    # Versions no other run built: their digests are new to the nodes, which must pull them.
    v1, v1_file = waves.build(f"v1-{uuid.uuid4().hex[:8]}")
    digest1 = v1.partition("@")[2]
    ok(waves.devkit("deploy", "staging", "--images", v1_file))
    assert waves.image("eu", "staging") == v1

    # Two waves: eu (the same registry as staging: no copy), then us (a copy by digest).
    began = time.monotonic()
    promoted = ok(waves.devkit("promote", "staging", "prod", "--json"))
    two_waves = time.monotonic() - began
    print(f"two-wave promotion: {two_waves:.1f} s")
    document = json.loads(promoted.stdout)
    copy1 = f"{waves.second.registry.name}/waves-web@{digest1}"
    assert [(w["cluster"], w["status"], w["release"]) for w in document["waves"]] == [
        ("eu", "healthy", 1),
        ("us", "healthy", 1),
    ]
    assert document["waves"][0]["copies"] == {}
    assert document["waves"][1]["copies"] == {"web": {"from": v1, "to": copy1}}
    # eu was applied, waited for and verified before us started
    text = promoted.stderr
    assert text.index("wave 1/2: cluster eu") < text.index("release #1: verifying")
    assert text.index("wave 1/2: cluster eu healthy") < text.index("wave 2/2: cluster us")
    assert waves.image("eu") == v1 and waves.image("us") == copy1
    assert waves.records("eu") == [(1, "healthy", "promote from staging #1")]
    assert waves.records("us") == [(1, "healthy", "promote from staging #1")]

    # The same promotion again: nothing to do in either cluster, exit 0.
    again = json.loads(ok(waves.devkit("promote", "staging", "prod", "--json")).stdout)
    assert again["nothing_to_do"] is True
    assert [(w["cluster"], w["status"]) for w in again["waves"]] == [
        ("eu", "nothing-to-do"),
        ("us", "nothing-to-do"),
    ]
    assert len(waves.records("us")) == 1

    # v2 reaches staging; us's pull credentials stop working (rotated, say): its new pods
    # cannot pull the copy, so the second wave fails and us is rolled back; eu keeps v2.
    v2, v2_file = waves.build(f"v2-{uuid.uuid4().hex[:8]}")
    ok(waves.devkit("deploy", "staging", "--images", v2_file))
    waves.pull_secret("not-the-password")
    failed = waves.devkit("promote", "staging", "prod", "--json")
    assert failed.code == 1, failed.stderr
    error = json.loads(failed.stdout)["error"]
    assert error["type"] == "WaveFailedError"
    assert error["message"].startswith("wave 2 of 2 (us) of prod failed: release #2 of prod")
    assert [(w["cluster"], w["status"]) for w in error["waves"]] == [
        ("eu", "healthy"),
        ("us", "rolled-back"),
    ]
    said = " ".join(failed.stderr.split())
    assert "error: wave 2 of 2 (us) of prod failed" in said
    assert "wave eu: healthy release #2" in said and "wave us: rolled-back release #2" in said
    assert waves.image("eu") == v2
    assert waves.image("us") == copy1
    assert waves.records("eu")[0] == (2, "healthy", "promote from staging #2")
    assert [r[:2] for r in waves.records("us")] == [(2, "rolled-back"), (1, "healthy")]

    # `releases` shows each cluster's own history.
    shown = json.loads(ok(waves.devkit("releases", "prod", "--json")).stdout)
    assert [(c["cluster"], c["current"]) for c in shown["clusters"]] == [("eu", 2), ("us", 1)]
    table = ok(waves.devkit("releases", "prod")).stdout
    assert table.index("cluster eu:") < table.index("2 *") < table.index("cluster us:")

    # Credentials fixed, --cluster us promotes that cluster alone; eu is not touched.
    waves.pull_secret(waves.second.registry.password)
    only_us = json.loads(ok(waves.devkit("promote", "staging", "prod", "--cluster", "us",
                                         "--json")).stdout)  # fmt: skip
    assert [(w["cluster"], w["status"], w["release"]) for w in only_us["waves"]] == [
        ("us", "healthy", 3)
    ]
    assert waves.image("us") == f"{waves.second.registry.name}/waves-web@{v2.partition('@')[2]}"
    assert len(waves.records("eu")) == 2
    final = ok(waves.devkit("promote", "staging", "prod")).stderr
    assert "eu: nothing-to-do release #2" in final and "us: nothing-to-do release #3" in final
    assert "prod: every cluster already runs these images: nothing to do" in final

    # prod now says a failed wave rolls the clusters done before it back too. A deploy of v3
    # (built and pushed to eu's registry, copied into us's) fails in us as before: eu,
    # healthy with v3 a moment, is rolled back to v2 as well.
    waves.env["TEST_AFTER_FAILURE"] = "rollback"
    (waves.root / "web" / "VERSION").write_text(f"v3-{uuid.uuid4().hex[:8]}")
    waves.pull_secret("not-the-password")
    undone = waves.devkit("deploy", "prod", "--json")
    assert undone.code == 1, undone.stderr
    error = json.loads(undone.stdout)["error"]
    assert [(w["cluster"], w["status"], w["release"]) for w in error["waves"]] == [
        ("eu", "rolled-back", 4),
        ("us", "rolled-back", 4),
    ]
    assert "wave 1/2: cluster eu healthy: release #3" in undone.stderr
    assert "cluster eu: rolling back too (after_failure='rollback')" in undone.stderr
    eu = json.loads(ok(waves.devkit("releases", "prod", "--cluster", "eu", "--json")).stdout)
    (only_eu,) = eu["clusters"]
    (v3,) = [r["images"]["web"] for r in only_eu["releases"] if r["number"] == 3]
    assert v3.startswith(f"{waves.first.registry}/waves-web@")
    assert waves.second.registry.has(f"waves-web@{v3.partition('@')[2]}")  # copied for us
    assert waves.records("eu")[:2] == [(4, "healthy", "rollback to #2"), (3, "healthy", "deploy")]
    assert waves.image("eu") == v2
    assert waves.image("us") == f"{waves.second.registry.name}/waves-web@{v2.partition('@')[2]}"
