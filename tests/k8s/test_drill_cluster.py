"""The disaster drill with examples/shop on the two kind clusters, and recovery into the other.

One environment, `drill`, runs the shop (api, worker, postgres, redis) on two clusters: eu on the
shared testbed (its registry localhost:5001) and us on the second kind cluster (its own,
authenticated registry, pulled with a dockerconfigjson Secret). The shop takes orders in eu through
its api (the worker processes every one); `devkit backup drill --cluster eu` keeps them in a
directory; eu's namespace is deleted (every object and volume claim, the release records too);
`devkit deploy drill --cluster eu --images` of the last release, by the digests its record named,
and `devkit restore` bring back every order, checked row by row. Then the other region: the same
release deployed to us (copied by digest into us's registry) and the same backup restored there;
the orders again row by row, us's api serves them, and `status` and `logs --cluster us` show
what runs there. Real clusters, registries, port-forwards
and exec streams; no mocks.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.conftest import REPO, Run
from tests.docker.conftest import IMAGE_MAP
from tests.k8s.conftest import (
    SECOND_CLUSTER,
    SESSION,
    TEST_LABEL,
    K8sTestbed,
    SecondCluster,
    timed_devkit,
    wait_for,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

# Appended to a copy of examples/shop/blueprint.py: the shop on both kind clusters.
ENVIRONMENT = """

import os as _os
from devkit import Cluster as _Cluster

app.environment(
    "drill",
    Kubernetes(namespace=_os.environ["TEST_NS"], clusters=[
        _Cluster("eu", context="kind-devkit-testbed", registry="REGISTRY"),
        _Cluster("us", context="kind-SECOND", registry="AUTH_NAME",
                 registry_from_host="AUTH_FROM_HOST", image_pull_secrets=("drill-registry",)),
    ]),
    # the nodes are shared: small CPU requests, so the shop fits beside other tests
    overrides={name: {"resources": Resources(cpu="10m", memory="64Mi", memory_limit="512Mi")}
               for name in ("api", "worker", "postgres", "redis")},
    rollout_timeout=300,
)
"""
ROWS = "SELECT id, item, quantity, status, created_at, processed_at FROM orders ORDER BY id"
ITEMS = ["tea", "coffee beans", "café crème", "a 'quoted' item", "books | pens", "x" * 200]


@dataclass
class Drill:
    root: Path
    env: dict[str, str]
    namespace: str
    first: K8sTestbed
    second: SecondCluster

    def devkit(self, *args: str, timeout: float = 900) -> Run:
        return timed_devkit(*args, root=self.root, env=self.env, timeout=timeout)

    def bed(self, cluster: str) -> K8sTestbed:
        return self.first if cluster == "eu" else self.second.bed

    def sql(self, cluster: str, statement: str) -> str:
        """A statement run by psql in the cluster's postgres (`devkit exec --cluster`)."""
        run = ok(self.devkit(
            "exec", "-e", "drill", "--cluster", cluster, "postgres", "--", "sh", "-c",
            f'PGPASSWORD="$POSTGRES_PASSWORD" psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U shop '
            f'-d shop -At -c "{statement}"', timeout=120,
        ))  # fmt: skip
        return run.stdout

    def image(self, cluster: str, service: str) -> str:
        apps = client.AppsV1Api(self.bed(cluster).api)
        found = apps.read_namespaced_deployment(service, self.namespace)
        return str(found.spec.template.spec.containers[0].image)

    @contextlib.contextmanager
    def api(self, cluster: str, tmp: Path) -> Iterator[str]:
        """The cluster's shop api on 127.0.0.1, through a port-forward of this test's own."""
        log_path = tmp / f"port-forward-{cluster}-{uuid.uuid4().hex[:6]}.log"
        with log_path.open("w") as log:
            proc = self.bed(cluster).kubectl_popen(
                "port-forward", "-n", self.namespace, "svc/api", "--address", "127.0.0.1",
                ":8000", stdout=log,
            )  # fmt: skip
        try:
            found = wait_for(f"the port-forward to {cluster}'s api",
                             lambda: re.findall(r"127\.0\.0\.1:(\d+) ->", log_path.read_text()),
                             30)  # fmt: skip
            yield f"http://127.0.0.1:{found[0]}"
        finally:
            proc.terminate()
            proc.wait(timeout=10)

    def namespace_gone(self, cluster: str) -> bool:
        try:
            client.CoreV1Api(self.bed(cluster).api).read_namespace(self.namespace)
        except ApiException as exc:
            return exc.status == 404
        return False


def ok(run: Run) -> Run:
    assert run.code == 0, run.stdout + run.stderr
    return run


def call(url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        found: dict[str, Any] = json.loads(answer.read())
        return found


@pytest.fixture
def drill(testbed: K8sTestbed, second_cluster: SecondCluster, tmp_path: Path) -> Iterator[Drill]:
    root = tmp_path / "shop"
    shutil.copytree(REPO / "examples" / "shop", root,
                    ignore=shutil.ignore_patterns("__pycache__", ".env"))  # fmt: skip
    project = f"dr{uuid.uuid4().hex[:5]}"
    registry = second_cluster.registry
    blueprint = (
        (root / "blueprint.py").read_text().replace('Blueprint("shop")', f'Blueprint("{project}")')
    )
    extra = (
        ENVIRONMENT.replace("REGISTRY", testbed.registry)
        .replace("SECOND", SECOND_CLUSTER)
        .replace("AUTH_NAME", registry.name)
        .replace("AUTH_FROM_HOST", registry.from_host)
    )
    (root / "blueprint.py").write_text(blueprint + extra)
    namespace = f"drill-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "TEST_NS": namespace,
        "KUBECONFIG": second_cluster.kubeconfig,
        "DOCKER_CONFIG": str(registry.docker_config(tmp_path / "docker-config")),
        "SHOP_DB_PASSWORD": "test-" + uuid.uuid4().hex[:8], "DEVKIT_CACHE": str(tmp_path / "cache"),
    }  # fmt: skip
    # us pulls from its registry with credentials: its namespace holds them before a deploy
    core = client.CoreV1Api(second_cluster.bed.api)
    core.create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace,
                                                        labels={TEST_LABEL: SESSION}))
    )  # fmt: skip
    core.create_namespaced_secret(namespace, registry.pull_secret("drill-registry", namespace))
    yield Drill(root, env, namespace, testbed, second_cluster)
    for api in (testbed.api, second_cluster.bed.api):
        with contextlib.suppress(ApiException):
            client.CoreV1Api(api).delete_namespace(namespace)


def test_the_shops_orders_survive_the_namespace_and_come_back_in_the_other_cluster(
    drill: Drill, tmp_path: Path
) -> None:
    # The shop on eu: built, pushed to eu's registry, deployed, verified (`--cluster eu`).
    ok(drill.devkit("deploy", "drill", "--cluster", "eu"))
    with drill.api("eu", tmp_path) as url:
        ids = [
            call(f"{url}/orders", {"item": ITEMS[n % len(ITEMS)], "quantity": n + 1})["id"]
            for n in range(40)
        ]

        def processed() -> bool:
            return all(bool(call(f"{url}/orders/{i}")["status"] == "processed") for i in ids)

        wait_for("the worker to process every order", processed, 120, interval=1)
    rows = drill.sql("eu", ROWS)
    assert len(rows.splitlines()) == 40 and "café crème" in rows
    assert all(line.rsplit("|", 3)[1] == "processed" for line in rows.splitlines())

    # The release that runs, as its record names it: what a drill deploys again.
    shown = json.loads(ok(drill.devkit("releases", "drill", "--cluster", "eu", "--json")).stdout)
    (eu,) = shown["clusters"]
    (release,) = [r for r in eu["releases"] if r["number"] == eu["current"]]
    images = release["images"]
    assert set(images) == {"api", "worker", "postgres", "redis"}
    assert all(ref.startswith(f"{drill.first.registry}/") for ref in images.values())
    release_file = tmp_path / "release.json"
    release_file.write_text(json.dumps({"environment": "drill", "images": images}))

    store = str(tmp_path / "backups")
    backed = json.loads(ok(drill.devkit("backup", "drill", "--cluster", "eu", "--store", store,
                                        "--json")).stdout)  # fmt: skip
    assert backed["cluster"] == "eu" and backed["release"] == release["number"]
    assert set(backed["services"]) == {"postgres", "redis"}
    listed = json.loads(ok(drill.devkit("backups", "drill", "--store", store, "--json")).stdout)
    assert [(b["id"], b["cluster"]) for b in listed["backups"]] == [(backed["id"], "eu")]

    # The disaster: eu's namespace is gone, volumes, records and all.
    client.CoreV1Api(drill.first.api).delete_namespace(drill.namespace)
    began = time.monotonic()
    wait_for("eu's namespace to be deleted", lambda: drill.namespace_gone("eu"), 300, interval=1)
    print(f"eu's namespace deleted in {time.monotonic() - began:.1f} s")

    # The last release again, by its digests, into the empty namespace; then the restore.
    ok(drill.devkit("deploy", "drill", "--cluster", "eu", "--images", str(release_file)))
    assert drill.image("eu", "api") == images["api"]
    assert drill.image("eu", "worker") == images["worker"]
    assert drill.sql("eu", "SELECT count(*) FROM orders").strip() == "0"  # the api made it empty
    restored = json.loads(ok(drill.devkit("restore", "drill", "--cluster", "eu", "--from",
                                          backed["id"], "--store", store, "--json")).stdout)  # fmt: skip
    assert (restored["cluster"], restored["from_cluster"]) == ("eu", "eu")
    assert drill.sql("eu", ROWS) == rows  # row by row

    # Recovery into the other region: the same release on us, from us's own registry (copied
    # by digest), and the same backup restored there.
    ok(drill.devkit("deploy", "drill", "--cluster", "us", "--images", str(release_file)))
    own = drill.second.registry.name
    for service in ("api", "worker"):
        digest = images[service].partition("@")[2]
        assert drill.image("us", service) == f"{own}/{project_repo(images[service])}@{digest}"
    assert drill.sql("us", "SELECT count(*) FROM orders").strip() == "0"
    began = time.monotonic()
    into_us = ok(drill.devkit("restore", "drill", "--cluster", "us", "--from", backed["id"],
                              "--store", store))  # fmt: skip
    print(f"restore into us: {time.monotonic() - began:.1f} s")
    said = " ".join(into_us.stdout.split())
    assert f"on cluster us from backup {backed['id']} (taken on cluster eu)" in said
    assert drill.sql("us", ROWS) == rows  # row by row, in the other cluster
    with drill.api("us", tmp_path) as url:
        order = call(f"{url}/orders/{ids[2]}")
        assert (order["item"], order["quantity"], order["status"]) == (ITEMS[2], 3, "processed")
    # status and logs of one cluster's target: us runs the copies, and its worker started there
    status = json.loads(
        ok(drill.devkit("status", "-e", "drill", "--cluster", "us", "--json")).stdout
    )
    images_in_us = {s["service"]: s["image"] for s in status["services"]}
    assert images_in_us["api"] == drill.image("us", "api")
    assert all(image.startswith(f"{own}/") for image in images_in_us.values())
    logs = ok(drill.devkit("logs", "-e", "drill", "--cluster", "us", "worker", "--tail", "50"))
    assert "worker" in logs.stdout


def project_repo(reference: str) -> str:
    """The repository of `registry/repository@digest`, without its registry."""
    return reference.partition("@")[0].split("/", 1)[1]
