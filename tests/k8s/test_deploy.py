"""Deploy, promote, roll back and prune on the real kind testbed, through the CLI as CI runs it.

Images are built here, pushed to the testbed's registry and run by digest; the environments are
namespaces of the testbed cluster, reached through its kubeconfig context.
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

from tests.conftest import Run, run_devkit
from tests.docker.conftest import APP, IMAGE_MAP, MIGRATE_JOB
from tests.k8s.conftest import K8sTestbed

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

BLUEPRINT = """
import os
from blueprints import redis
from devkit import Blueprint, Build, Http, Kubernetes, Port, Secret, Verify

NS = os.environ["TEST_NS"]
CONTEXT = os.environ.get("TEST_CONTEXT", "kind-devkit-testbed")
app = Blueprint("kp")
cache = app.use(redis(version="7"))
web = app.service(
    "web",
    build=Build("web"),
    ports={"http": Port(8000, public=True)},
    env={"GREETING": Secret("GREETING"), "REDIS_URL": cache.url},
    health=Http("/healthz", port="http", interval=1, retries=2),
    depends_on=[cache],
)
# Tried again for 5 s: a policy controller admits a new pod's traffic ~1 s after it starts.
smoke = Verify(
    ["python", "-c", "import sys, time, urllib.request\\n"
     "for attempt in range(20):\\n"
     "    try:\\n"
     "        body = urllib.request.urlopen('http://web:8000/', timeout=5).read().decode()\\n"
     "        break\\n"
     "    except OSError:\\n"
     "        if attempt == 19: raise\\n"
     "        time.sleep(0.25)\\n"
     "print(body); sys.exit(body.startswith('fail-verify'))"],
    service="web", timeout=60,
)
def cluster(env):
    return Kubernetes(context=CONTEXT, registry="REGISTRY", namespace=f"{NS}-{env}")
app.environment("staging", cluster("staging"), replicas=2, verify=smoke, rollout_timeout=60)
app.environment("prod", cluster("prod"), verify=smoke, rollout_timeout=60)
"""


@dataclass
class KubeProject:
    root: Path
    env: dict[str, str]
    namespace: str
    testbed: K8sTestbed

    def devkit(self, *args: str, timeout: float = 600) -> Run:
        return run_devkit(*args, cwd=self.root, env=self.env, timeout=timeout)

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))

    def apps(self, env: str) -> client.AppsV1Api:
        return client.AppsV1Api(self.testbed.api)

    def image(self, env: str, name: str = "web") -> str:
        deployment = self.apps(env).read_namespaced_deployment(name, f"{self.namespace}-{env}")
        return str(deployment.spec.template.spec.containers[0].image)

    def releases(self, env: str) -> list[dict[str, Any]]:
        run = self.devkit("releases", env, "--json")
        assert run.code == 0, run.stderr
        found: list[dict[str, Any]] = json.loads(run.stdout)["releases"]
        return found


@pytest.fixture
def kube_project(testbed: K8sTestbed, tmp_path: Path) -> Iterator[KubeProject]:
    namespace = f"dk-{uuid.uuid4().hex[:6]}"
    root = tmp_path / "kp"
    env = {
        **os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "GREETING": "hello",
        "KUBECONFIG": str(testbed.kubeconfig), "TEST_NS": namespace,
    }  # fmt: skip
    p = KubeProject(root, env, namespace, testbed)
    p.write("blueprint.py", BLUEPRINT.replace("REGISTRY", testbed.registry))
    p.write(
        "web/Dockerfile",
        """
        FROM python:3.11-slim
        COPY app.py VERSION /app/
        USER 10001:10001
        CMD ["python", "/app/app.py"]
        """,
    )
    p.write("web/app.py", APP)
    p.write("web/VERSION", "v1")
    yield p
    core = client.CoreV1Api(testbed.api)
    for env_name in ("staging", "prod"):
        with contextlib.suppress(client.exceptions.ApiException):
            core.delete_namespace(f"{namespace}-{env_name}")


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def build_push(p: KubeProject, file: str) -> dict[str, str]:
    ok(p.devkit("build", "staging", "--push", "--images-file", file))
    images: dict[str, str] = json.loads((p.root / file).read_text())["images"]
    return images


def test_deploy_promote_and_an_automatic_rollback_on_kubernetes(kube_project: KubeProject) -> None:
    p = kube_project
    images = build_push(p, "images.json")
    deployed = json.loads(ok(p.devkit("deploy", "staging", "--images", "images.json",
                                      "--json")).stdout)  # fmt: skip
    assert deployed["release"]["status"] == "healthy"
    assert p.image("staging") == images["web"]

    promoted = json.loads(ok(p.devkit("promote", "staging", "prod", "--json")).stdout)
    assert promoted["release"]["origin"] == "promote from staging #1"
    assert p.image("prod") == images["web"]
    assert "nothing to do" in ok(p.devkit("promote", "staging", "prod")).stderr

    p.write("web/VERSION", "broken")
    build_push(p, "broken.json")
    failed = p.devkit("deploy", "staging", "--images", "broken.json")
    assert failed.code == 1, failed.stderr
    assert "rolled back to #1" in failed.stderr and "Traceback" not in failed.stderr
    assert p.image("staging") == images["web"]
    ready = p.apps("staging").read_namespaced_deployment("web", f"{p.namespace}-staging")
    assert ready.status.ready_replicas == 2
    assert [(r["number"], r["status"]) for r in p.releases("staging")] == [
        (2, "rolled-back"), (1, "healthy"),
    ]  # fmt: skip
    refused = p.devkit("promote", "staging", "prod")
    assert refused.code == 3 and "rolled-back" in refused.stderr


def test_a_field_owned_by_another_manager_is_a_conflict_until_forced(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    ok(p.devkit("deploy", "staging"))
    namespace = f"{p.namespace}-staging"
    # Someone scales the deployment by hand with server-side apply, as kubectl does.
    patch = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace}, "spec": {"replicas": 3},
    }  # fmt: skip
    (p.root / "patch.json").write_text(json.dumps(patch))
    p.testbed.kubectl(
        "apply", "--server-side", "--field-manager=hand-edit", "--force-conflicts",
        "-f", str(p.root / "patch.json"),
    )  # fmt: skip
    p.write("web/VERSION", "v2")
    conflict = p.devkit("deploy", "staging")
    assert conflict.code == 3, conflict.stderr
    assert "owned by hand-edit" in conflict.stderr and "--force-conflicts" in conflict.stderr
    forced = ok(p.devkit("deploy", "staging", "--force-conflicts"))
    assert "healthy" in forced.stderr
    assert p.apps("staging").read_namespaced_deployment("web", namespace).spec.replicas == 2


def test_a_service_removed_from_the_blueprint_is_pruned_and_unlabelled_objects_stay(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    ok(p.devkit("deploy", "staging"))
    namespace = f"{p.namespace}-staging"
    p.testbed.kubectl("create", "configmap", "hand-made", "-n", namespace, "--from-literal=a=1")
    p.testbed.kubectl("create", "service", "clusterip", "redis-by-hand", "-n", namespace,
                      "--tcp=6379:6379")  # fmt: skip
    blueprint = (p.root / "blueprint.py").read_text()
    blueprint = blueprint.replace('"REDIS_URL": cache.url', '"REDIS_URL": "redis://nowhere"')
    blueprint = blueprint.replace('cache = app.use(redis(version="7"))\n', "")
    blueprint = blueprint.replace("depends_on=[cache],", "")
    (p.root / "blueprint.py").write_text(blueprint)
    run = ok(p.devkit("deploy", "staging"))
    assert "pruned" in run.stderr
    apps = p.apps("staging")
    assert [s.metadata.name for s in apps.list_namespaced_stateful_set(namespace).items] == []
    core = client.CoreV1Api(p.testbed.api)
    services = {s.metadata.name for s in core.list_namespaced_service(namespace).items}
    assert "redis" not in services and "redis-by-hand" in services
    assert core.read_namespaced_config_map("hand-made", namespace).data == {"a": "1"}


def test_a_context_missing_from_the_kubeconfig_fails_before_anything_is_applied(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    p.env["TEST_CONTEXT"] = "kind-nowhere"
    run = p.devkit("deploy", "staging")
    assert run.code == 2, run.stderr
    assert 'context "kind-nowhere" does not exist' in run.stderr
    assert f"kind-{p.testbed.cluster}" in run.stderr  # the contexts it does have
    names = {n.metadata.name for n in client.CoreV1Api(p.testbed.api).list_namespace().items}
    assert f"{p.namespace}-staging" not in names


def test_a_failing_pre_deploy_job_stops_a_deploy_and_a_passing_one_runs_before_the_rollout(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    ok(p.devkit("deploy", "staging"))  # release 1 (v1), without jobs
    namespace = f"{p.namespace}-staging"
    blueprint = (p.root / "blueprint.py").read_text()
    blueprint = blueprint.replace("import Blueprint,", "import Blueprint, Job,")
    blueprint = blueprint.replace(
        "replicas=2, verify=smoke,", f"replicas=2, jobs=[{MIGRATE_JOB}], verify=smoke,"
    )
    (p.root / "blueprint.py").write_text(blueprint)
    apps = p.apps("staging")

    def generations() -> dict[str, int]:
        return {
            "web": apps.read_namespaced_deployment("web", namespace).metadata.generation,
            "redis": apps.read_namespaced_stateful_set("redis", namespace).metadata.generation,
        }

    before, image = generations(), p.image("staging")
    p.write("web/VERSION", "fail-job")
    failed = p.devkit("deploy", "staging", "--json")
    assert failed.code == 1, failed.stderr
    assert 'pre-deploy job "migrate" failed: exited with 3' in failed.stderr
    assert "job fail-job hello while web serves v1 hello" in failed.stderr  # its log lines
    assert "nothing was rolled out" in failed.stderr and "Traceback" not in failed.stderr
    assert json.loads(failed.stdout)["error"]["type"] == "JobFailedError"
    # Nothing changed: no workload was updated, the old image runs.
    assert generations() == before and p.image("staging") == image
    history = p.releases("staging")
    assert [(r["number"], r["status"]) for r in history] == [(2, "failed"), (1, "healthy")]
    assert 'pre-deploy job "migrate"' in history[0]["reason"]
    # The job and its copy of the secret are gone.
    batch = client.BatchV1Api(p.testbed.api)
    assert batch.list_namespaced_job(namespace).items == []
    secrets = client.CoreV1Api(p.testbed.api).list_namespaced_secret(namespace).items
    assert not [s for s in secrets if s.metadata.name.startswith("devkit-job-")]

    # A passing job runs in the new image while the previous release still serves.
    p.write("web/VERSION", "v2")
    passed = json.loads(ok(p.devkit("deploy", "staging", "--json")).stdout)
    (job,) = passed["jobs"]
    assert "job v2 hello while web serves v1 hello" in job["logs"]
    assert p.image("staging") == passed["release"]["images"]["web"] != image
    assert [r["status"] for r in p.releases("staging")] == ["healthy", "failed", "healthy"]


def test_diff_live_shows_what_a_deploy_would_change_and_changes_nothing(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    namespace = f"{p.namespace}-staging"
    nothing_runs = p.devkit("diff", "staging", "--live")
    assert nothing_runs.code == 2 and "--images FILE" in nothing_runs.stderr
    build_push(p, "images.json")
    fresh = json.loads(ok(p.devkit("diff", "staging", "--live", "--images", "images.json",
                                   "--json")).stdout)  # fmt: skip
    assert {c["change"] for c in fresh["changes"]} == {"created"}
    assert ("Deployment", "web") in {(c["kind"], c["name"]) for c in fresh["changes"]}
    ok(p.devkit("deploy", "staging", "--images", "images.json"))

    # Right after a deploy, the server's dry-run of the same apply changes nothing.
    same = json.loads(ok(p.devkit("diff", "staging", "--live", "--json")).stdout)
    assert same["images"] == "release #1" and same["namespace"] == namespace
    assert [c for c in same["changes"] if c["change"] != "unchanged"] == []

    # More replicas, a new secret value, and redis dropped from the blueprint.
    blueprint = (p.root / "blueprint.py").read_text()
    blueprint = blueprint.replace('"REDIS_URL": cache.url', '"REDIS_URL": "redis://nowhere"')
    blueprint = blueprint.replace('cache = app.use(redis(version="7"))\n', "")
    blueprint = blueprint.replace("depends_on=[cache],", "")
    blueprint = blueprint.replace(
        'cluster("staging"), replicas=2', 'cluster("staging"), replicas=3'
    )
    (p.root / "blueprint.py").write_text(blueprint)
    p.env["GREETING"] = "bonjour"
    run = ok(p.devkit("diff", "staging", "--live", "--json"))
    changes = {(c["kind"], c["name"]): c for c in json.loads(run.stdout)["changes"]}
    web = changes[("Deployment", "web")]
    assert web["change"] == "changed"
    assert "-  replicas: 2\n" in web["diff"] and "+  replicas: 3\n" in web["diff"]
    assert changes[("ConfigMap", "web-env")]["change"] == "changed"
    assert '+  REDIS_URL: "redis://nowhere"' in changes[("ConfigMap", "web-env")]["diff"]
    assert changes[("StatefulSet", "redis")]["change"] == "pruned"
    assert changes[("Service", "redis")]["change"] == "pruned"
    secret = changes[("Secret", "kp-secrets")]
    assert secret["change"] == "changed" and '+  GREETING: "<hidden: changed>"' in secret["diff"]
    for text in ("bonjour", "hello", "managedFields", "resourceVersion", "uid:", "status:"):
        assert text not in run.stdout, text

    human = ok(p.devkit("diff", "staging", "--live")).stdout
    assert "changed: Deployment/web" in human and "pruned: StatefulSet/redis" in human
    assert "would change: " in human and "images from release #1" in human
    # Nothing was applied: the cluster still runs release 1 as it was.
    apps = p.apps("staging")
    assert apps.read_namespaced_deployment("web", namespace).spec.replicas == 2
    assert apps.read_namespaced_stateful_set("redis", namespace).spec.replicas == 1


def test_a_release_whose_image_the_nodes_cannot_pull_is_rolled_back_fast(
    kube_project: KubeProject,
) -> None:
    p = kube_project
    images = build_push(p, "images.json")
    ok(p.devkit("deploy", "staging", "--images", "images.json"))
    # The registry has it as this machine names it (127.0.0.1:5001, so the check before the
    # deploy passes), but inside the node that address is the node itself: the pull fails.
    loopback = images["web"].replace(p.testbed.registry, p.testbed.registry_push, 1)
    assert loopback != images["web"]
    unpullable = {**images, "web": loopback}
    (p.root / "unpullable.json").write_text(json.dumps({"images": unpullable}))
    began = time.monotonic()
    failed = p.devkit("deploy", "staging", "--images", "unpullable.json")
    assert failed.code == 1, failed.stderr
    assert "ErrImagePull" in failed.stderr or "ImagePullBackOff" in failed.stderr
    assert "rolled back to #1" in failed.stderr
    assert time.monotonic() - began < 60  # the pull error fails it, not the deadline
    assert p.image("staging") == images["web"]


def test_a_changed_secret_value_reaches_the_pods(kube_project: KubeProject) -> None:
    p = kube_project
    ok(p.devkit("deploy", "staging"))
    p.env["GREETING"] = "bonjour"
    ok(p.devkit("deploy", "staging"))
    namespace = f"{p.namespace}-staging"
    core = client.CoreV1Api(p.testbed.api)
    pods = core.list_namespaced_pod(namespace, label_selector="app.kubernetes.io/name=web").items
    running = [x for x in pods if x.metadata.deletion_timestamp is None]
    assert running
    for pod in running:
        said = p.testbed.kubectl("exec", "-n", namespace, pod.metadata.name, "--", "python", "-c",
                                 "import os; print(os.environ['GREETING'])").stdout  # fmt: skip
        assert said.strip() == "bonjour"
    assert [r["status"] for r in p.releases("staging")] == ["healthy", "healthy"]
