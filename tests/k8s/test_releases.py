"""Releases on Kubernetes as on Swarm, on the real kind testbed through the CLI: the deploy lock
(refused while held, `--break-lock`), `rollback` and `rollback --to`, every image checked in its
registry before anything changes, and promotion into a registry that asks for credentials
(copied by digest, pulled with imagePullSecrets; a copy under another digest refused).

The app is one small web service (no verify step, no secrets), so each deploy is a few seconds.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
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

from tests.conftest import Run
from tests.docker.conftest import APP, IMAGE_MAP
from tests.k8s.conftest import (
    VERSIONED_APP_DOCKERFILE,
    AuthRegistry,
    K8sTestbed,
    release_rows,
    timed_devkit,
    wait_for,
)

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
import os
from devkit import Blueprint, Build, Http, Kubernetes, Port

NS = os.environ["TEST_NS"]
app = Blueprint("rel")
web = app.service(
    "web", build=Build("web"), ports={"http": Port(8000)},
    env={"GREETING": os.environ.get("TEST_GREETING", "hello")},
    health=Http("/healthz", port="http", interval=1, retries=2),
)
app.environment("staging", Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
                                      namespace=f"{NS}-staging"), rollout_timeout=60)
PROD
"""

PROD_SAME_REGISTRY = """
app.environment("prod", Kubernetes(context="kind-devkit-testbed", registry="REGISTRY",
                                   namespace=f"{NS}-prod"), rollout_timeout=60)
"""

# prod pulls from the registry that asks for credentials: the nodes know it by its name on the
# kind network, this machine by the port it publishes on loopback.
PROD_AUTH_REGISTRY = """
app.environment("prod", Kubernetes(context="kind-devkit-testbed", registry="AUTH_NAME",
                                   registry_from_host="AUTH_FROM_HOST",
                                   image_pull_secrets=("prod-registry",),
                                   namespace=f"{NS}-prod"), rollout_timeout=60)
"""


@dataclass
class App:
    root: Path
    env: dict[str, str]
    namespace: str
    testbed: K8sTestbed

    def devkit(self, *args: str, timeout: float = 300) -> Run:
        return timed_devkit(*args, root=self.root, env=self.env, timeout=timeout)

    def ns(self, env: str) -> str:
        return f"{self.namespace}-{env}"

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))

    def build(self, version: str, file: str) -> dict[str, str]:
        self.write("web/VERSION", version)
        ok(self.devkit("build", "staging", "--push", "--images-file", file))
        images: dict[str, str] = json.loads((self.root / file).read_text())["images"]
        return images

    def deployment(self, env: str) -> Any:
        return client.AppsV1Api(self.testbed.api).read_namespaced_deployment("web", self.ns(env))

    def image(self, env: str) -> str:
        return str(self.deployment(env).spec.template.spec.containers[0].image)

    def releases(self, env: str) -> list[tuple[int, str, str]]:
        """(number, status, origin), newest first, from the record ConfigMaps the target keeps
        (`devkit releases` reads the same; tests/k8s/test_deploy.py runs it)."""
        return release_rows(self.testbed.api, self.ns(env))

    def config_map(self, env: str, name: str) -> Any | None:
        try:
            return client.CoreV1Api(self.testbed.api).read_namespaced_config_map(name, self.ns(env))
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise


@pytest.fixture
def app(testbed: K8sTestbed, tmp_path: Path) -> Iterator[App]:
    namespace = f"rel-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1",
           "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace}  # fmt: skip
    a = App(tmp_path / "rel", env, namespace, testbed)
    a.write("blueprint.py", BLUEPRINT.replace("PROD", PROD_SAME_REGISTRY))
    a.write("blueprint.py", (a.root / "blueprint.py").read_text().replace("REGISTRY",
                                                                          testbed.registry))  # fmt: skip
    a.write("web/Dockerfile", VERSIONED_APP_DOCKERFILE)
    a.write("web/app.py", APP)
    yield a
    core = client.CoreV1Api(testbed.api)
    for env_name in ("staging", "prod"):
        with contextlib.suppress(ApiException):
            core.delete_namespace(a.ns(env_name))


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def test_a_deploy_or_promote_is_refused_while_the_lock_is_held_and_break_lock_takes_it(
    app: App,
) -> None:
    images = app.build("v1", "images.json")
    ok(app.devkit("deploy", "staging", "--images", "images.json"))
    # A deploy of prod that holds its lock: stopped (SIGSTOP) once it has recorded its release,
    # so its process is alive and the lock is not stale.
    holder = subprocess.Popen(
        [sys.executable, "-m", "devkit", "deploy", "prod", "--images", "images.json"],
        cwd=app.root, env=app.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for("prod's first release record",
                 lambda: app.config_map("prod", "devkit-release-000001"), 60, 0.05)  # fmt: skip
        os.kill(holder.pid, signal.SIGSTOP)
        lock = json.loads(app.config_map("prod", "devkit-lock").data["lock.json"])
        assert lock["pid"] == holder.pid and lock["operation"] == "deploy prod"

        # A promotion into prod is refused (a second deploy would be: the same lock, taken
        # before anything changes).
        refused = app.devkit("promote", "staging", "prod", "--json")
        assert refused.code == 3, refused.stderr
        text = " ".join(refused.stderr.split())
        assert f'environment "prod" is locked: deploy prod by {lock["owner"]}' in text
        assert f"pid {holder.pid}" in text and f"expires {lock['expires']}" in text
        assert "--break-lock" in text and "Traceback" not in text
        assert json.loads(refused.stdout)["error"]["type"] == "RefusedError"

        taken = ok(app.devkit("promote", "staging", "prod", "--break-lock"))
        assert "broke the lock: deploy prod by" in taken.stderr
        assert "release #1 was left unfinished; marking it interrupted" in taken.stderr
        assert holder.poll() is None  # the holder was alive all along: the lock was broken
    finally:
        holder.kill()
        holder.wait(timeout=30)
    assert app.image("prod") == images["web"]
    assert app.releases("prod") == [
        (2, "healthy", "promote from staging #1"), (1, "interrupted", "deploy"),
    ]  # fmt: skip
    assert app.config_map("prod", "devkit-lock") is None  # released when the promotion ended


def test_rollback_and_rollback_to_a_release_and_a_missing_image_is_refused_before_any_change(
    app: App,
) -> None:
    v1 = app.build("v1", "v1.json")
    v2 = app.build("v2", "v2.json")
    ok(app.devkit("deploy", "staging", "--images", "v1.json"))
    ok(app.devkit("deploy", "staging", "--images", "v2.json"))
    assert app.image("staging") == v2["web"]

    # A digest its registry does not have: refused with Swarm's error and exit code, before
    # the lock, any record or any object changes.
    missing = v2["web"].split("@")[0] + "@sha256:" + "0" * 64
    (app.root / "missing.json").write_text(json.dumps({"images": {"web": missing}}))
    before = app.deployment("staging").metadata
    refused = app.devkit("deploy", "staging", "--images", "missing.json", "--json")
    assert refused.code == 1, refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert error["type"] == "ImageMissingError"
    assert error["message"] == "1 image not found in the registry"
    assert error["details"] == [f"web: {missing} (manifest unknown)", "nothing was changed"]
    after = app.deployment("staging").metadata
    assert after.generation == before.generation
    assert app.image("staging") == v2["web"]
    assert [r[:2] for r in app.releases("staging")] == [(2, "healthy"), (1, "healthy")]
    assert app.config_map("staging", "devkit-lock") is None

    # The blueprint changes after release 1; a rollback applies release 1 as it ran.
    app.env["TEST_GREETING"] = "changed since"
    back = json.loads(ok(app.devkit("rollback", "staging", "--json")).stdout)
    assert back["release"]["number"] == 3 and back["release"]["origin"] == "rollback to #1"
    assert app.image("staging") == v1["web"]
    assert app.config_map("staging", "web-env").data["GREETING"] == "hello"
    assert app.deployment("staging").status.ready_replicas == 1

    ok(app.devkit("rollback", "staging", "--to", "2"))
    assert app.image("staging") == v2["web"]
    assert app.releases("staging") == [
        (4, "healthy", "rollback to #2"), (3, "healthy", "rollback to #1"),
        (2, "healthy", "deploy"), (1, "healthy", "deploy"),
    ]  # fmt: skip
    # (--to a release that does not exist is refused, exit 3: tests/unit/deploy/test_release.py)


def _oci_copy(app: App, ref: str) -> str:
    """Store the manifest of `ref` again in its registry as an OCI image manifest (the same
    config and layers, as another build tool pushes them); the new manifest's reference."""
    repository, _, digest = ref.partition("@")
    host_side = repository.replace(app.testbed.registry, app.testbed.registry_push, 1)
    registry, _, path = host_side.partition("/")
    url = f"http://{registry}/v2/{path}/manifests"
    docker_v2 = "application/vnd.docker.distribution.manifest.v2+json"
    request = urllib.request.Request(f"{url}/{digest}", headers={"Accept": docker_v2})
    with urllib.request.urlopen(request, timeout=10) as answer:
        manifest = json.loads(answer.read())
    assert manifest["mediaType"] == docker_v2
    oci = "application/vnd.oci.image"
    manifest["mediaType"] = f"{oci}.manifest.v1+json"
    manifest["config"]["mediaType"] = f"{oci}.config.v1+json"
    for layer in manifest["layers"]:
        layer["mediaType"] = f"{oci}.layer.v1.tar+gzip"
    put = urllib.request.Request(
        f"{url}/oci", data=json.dumps(manifest, indent=3).encode(), method="PUT",
        headers={"Content-Type": manifest["mediaType"]},
    )  # fmt: skip
    with urllib.request.urlopen(put, timeout=10) as answer:
        return f"{repository}@{answer.headers['Docker-Content-Digest']}"


def test_promote_into_a_registry_that_asks_for_credentials_and_a_changed_digest_is_refused(
    app: App, auth_registry: AuthRegistry, tmp_path: Path
) -> None:
    """prod's registry asks for credentials: the copy by digest uses the docker config's (a
    DOCKER_CONFIG written here, as `docker login` would), prod's pods pull with the
    dockerconfigjson Secret the environment names in image_pull_secrets.

    A copy that arrives under another digest is provoked honestly: staging runs an image whose
    manifest another tool stored as an OCI image manifest (the same config and layer blobs, put
    through the registry's API). The docker engine pulls it by that digest, and pushes it as the
    Docker manifest it makes itself, under a different digest: the case docs/deploy.md names
    (an image pushed by another tool). No registry or proxy pretends anything.
    """
    prod = (
        PROD_AUTH_REGISTRY.replace("AUTH_NAME", auth_registry.name)
        .replace("AUTH_FROM_HOST", auth_registry.from_host)
    )  # fmt: skip
    blueprint = (app.root / "blueprint.py").read_text()
    prod_start = blueprint.index('app.environment("prod"')
    (app.root / "blueprint.py").write_text(blueprint[:prod_start] + prod.lstrip())
    app.env["DOCKER_CONFIG"] = str(auth_registry.docker_config(tmp_path / "docker-config"))
    core = client.CoreV1Api(app.testbed.api)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=app.ns("prod"))))
    core.create_namespaced_secret(app.ns("prod"),
                                  auth_registry.pull_secret("prod-registry", app.ns("prod")))  # fmt: skip

    # A version no other run built: its digest is new to the node, so prod's pods must pull it.
    images = app.build(f"v1-{uuid.uuid4().hex[:8]}", "images.json")
    ok(app.devkit("deploy", "staging", "--images", "images.json"))
    began = time.monotonic()
    promoted = json.loads(ok(app.devkit("promote", "staging", "prod", "--json")).stdout)
    print(f"promote across registries: {time.monotonic() - began:.1f} s")
    digest = images["web"].partition("@")[2]
    copy = f"{auth_registry.name}/rel-web@{digest}"
    assert promoted["copies"] == {"web": {"from": images["web"], "to": copy}}
    assert promoted["release"]["status"] == "healthy"
    template = app.deployment("prod").spec.template.spec
    assert template.containers[0].image == copy
    assert [s.name for s in template.image_pull_secrets] == ["prod-registry"]
    pods = core.list_namespaced_pod(app.ns("prod"), label_selector="app.kubernetes.io/name=web")
    (pod,) = [p for p in pods.items if p.metadata.deletion_timestamp is None]
    assert pod.status.phase == "Running"
    (status,) = pod.status.container_statuses
    assert status.ready and status.image_id.endswith(digest)
    events = core.list_namespaced_event(app.ns("prod"),
                                        field_selector=f"involvedObject.name={pod.metadata.name}")  # fmt: skip
    pulled = [e.message for e in events.items if e.reason == "Pulled"]
    assert any("Successfully pulled image" in m and copy in m for m in pulled), pulled

    # A push for prod goes where this machine reaches its registry; the file names the nodes'.
    pushed = json.loads(ok(app.devkit("build", "prod", "--push", "--json")).stdout)
    assert pushed["pushed"] == {"web": copy}

    oci = _oci_copy(app, images["web"])
    assert oci.partition("@")[2] != digest
    (app.root / "oci.json").write_text(json.dumps({"images": {"web": oci}}))
    ok(app.devkit("deploy", "staging", "--images", "oci.json"))  # staging runs it fine
    generation = app.deployment("prod").metadata.generation
    refused = app.devkit("promote", "staging", "prod", "--json")
    assert refused.code == 1, refused.stderr
    error = json.loads(refused.stdout)["error"]
    assert error["type"] == "DigestChangedError"
    assert error["message"] == (
        f'the copy of "web" in {auth_registry.from_host} has digest {digest}, '
        f"not {oci.partition('@')[2]}"
    )
    assert "nothing was deployed" in error["details"]
    assert app.deployment("prod").metadata.generation == generation
    assert app.image("prod") == copy
    assert app.releases("prod") == [(1, "healthy", "promote from staging #1")]
