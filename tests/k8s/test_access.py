"""Least privilege for devkit itself, on the real kind testbed: an admin applies what
`devkit render ENV --access-admin` (the namespaces) and `--access` (each environment's deploy
account) print; kubeconfigs that hold only a deploy account's token (from the TokenRequest API)
then deploy staging, promote staging -> prod and roll prod back. The same accounts cannot read
Secrets in, or apply to, any other namespace: asked of the API server (SubjectAccessReview) and
tried.

The app is test_releases.py's (one small web service, no verify step, no secrets), with a
third environment, `checked`, whose release also has a Secret, a pre-deploy Job, a verify pod
and, later, an autoscaler: the Role follows what the blueprint renders.
"""

from __future__ import annotations

import contextlib
import json
import os
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from tests.conftest import Run, run_devkit
from tests.docker.conftest import APP, IMAGE_MAP
from tests.k8s.conftest import VERSIONED_APP_DOCKERFILE, K8sTestbed
from tests.k8s.test_releases import BLUEPRINT, PROD_SAME_REGISTRY

pytestmark = [pytest.mark.k8s, pytest.mark.docker]

# An environment whose release has more kinds than staging's: a Secret the pods read, an
# autoscaler and a disruption budget (with TEST_AUTOSCALE=1), a pre-deploy Job, a verify pod.
CHECKED = """
from devkit import Autoscale, Job, Secret, Verify

web_here = {"env": {"GREETING": "checked", "TOKEN": Secret("TOKEN")}}
if os.environ.get("TEST_AUTOSCALE") == "1":
    web_here["autoscale"] = Autoscale(min=1, max=2, cpu=70)
app.environment(
    "checked",
    Kubernetes(context="kind-devkit-testbed", registry="REGISTRY", namespace=f"{NS}-checked"),
    overrides={web: web_here}, rollout_timeout=60,
    jobs=[Job("migrate", ["python", "-c", "print('migrated')"], service="web", timeout=60)],
    verify=Verify(["python", "-c", "import os; assert os.environ['TOKEN'] == 's3cret'"],
                  service="web", timeout=60),
)
"""
CONTEXT = "kind-devkit-testbed"  # the deploy accounts' kubeconfigs name their context the same
DEPLOYER = "devkit-deployer"


@dataclass
class Access:
    root: Path
    prefix: str
    testbed: K8sTestbed
    admin_env: dict[str, str]
    kubeconfigs: dict[str, Path] = field(default_factory=dict)
    timings: dict[str, list[float]] = field(default_factory=dict)

    def ns(self, env: str) -> str:
        return f"{self.prefix}-{env}"

    def devkit(self, *args: str, kubeconfig: Path | None = None) -> Run:
        """devkit as the admin, or with a deploy account's kubeconfig."""
        env = {**self.admin_env, "KUBECONFIG": str(kubeconfig or self.testbed.kubeconfig)}
        began = time.monotonic()
        run = run_devkit(*args, cwd=self.root, env=env, timeout=300)
        took = time.monotonic() - began
        self.timings.setdefault(args[0], []).append(took)
        print(f"devkit {' '.join(args)}: exit {run.code} in {took:.1f} s")
        return run

    def as_deployer(self, env: str, *args: str) -> Run:
        return self.devkit(*args, kubeconfig=self.kubeconfigs[env])

    def admin_apply(self, text: str) -> None:
        """kubectl apply as the cluster admin (the testbed's kubeconfig)."""
        path = self.root / f"apply-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(text)
        self.testbed.kubectl("apply", "-f", str(path))

    def image(self, env: str) -> str:
        found = client.AppsV1Api(self.testbed.api).read_namespaced_deployment("web", self.ns(env))
        return str(found.spec.template.spec.containers[0].image)

    def grant(self, env: str, *sources: str) -> None:
        """The admin creates the environment's namespace (first time) and applies its deploy
        account's access; the account's token goes into a kubeconfig of its own."""
        if env not in self.kubeconfigs:
            admin = ok(self.devkit("render", env, "--access-admin")).stdout
            (namespace,) = list(yaml.safe_load_all(admin))
            assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", self.ns(env))
            # Not labelled for the testbed session's sweep (TEST_LABEL): another session ending
            # on the shared cluster would delete it mid-test. The fixture deletes it.
            self.admin_apply(yaml.safe_dump(namespace))
        promotes = [arg for source in sources for arg in ("--promotes-from", source)]
        self.admin_apply(ok(self.devkit("render", env, "--access", *promotes)).stdout)
        if env not in self.kubeconfigs:
            self.kubeconfigs[env] = token_kubeconfig(
                self.testbed, self.ns(env), self.root / f"{env}.kubeconfig"
            )

    def records(self, env: str) -> list[str]:
        found = client.CoreV1Api(self.testbed.api).list_namespaced_config_map(
            self.ns(env), label_selector="devkit.dev/record"
        )
        return sorted(c.metadata.name for c in found.items)


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    return run


def token_kubeconfig(testbed: K8sTestbed, namespace: str, path: Path) -> Path:
    """A kubeconfig whose only credential is a token of the deploy account of `namespace`,
    asked of the TokenRequest API (an hour), as a CI job would get one."""
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
    )
    answer = client.CoreV1Api(testbed.api).create_namespaced_service_account_token(
        DEPLOYER, namespace, request
    )
    admin = yaml.safe_load(testbed.kubeconfig.read_text())
    (cluster,) = [c for c in admin["clusters"] if c["name"] == CONTEXT]
    made = {
        "apiVersion": "v1", "kind": "Config", "current-context": CONTEXT,
        "clusters": [cluster],
        "users": [{"name": f"{namespace}-deployer", "user": {"token": answer.status.token}}],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT,
                                                   "user": f"{namespace}-deployer"}}],
    }  # fmt: skip
    path.write_text(yaml.safe_dump(made))
    return path


@pytest.fixture
def bed(testbed: K8sTestbed, tmp_path: Path) -> Iterator[Access]:
    prefix = f"acc-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "DEVKIT_IMAGE_MAP": IMAGE_MAP, "NO_COLOR": "1", "TEST_NS": prefix}
    root = tmp_path / "acc"
    (root / "web").mkdir(parents=True)
    # test_releases.py's app and environments (staging and prod), and one that checks itself
    blueprint = BLUEPRINT.replace("PROD", PROD_SAME_REGISTRY + CHECKED)
    blueprint = blueprint.replace("REGISTRY", testbed.registry)
    (root / "blueprint.py").write_text(textwrap.dedent(blueprint).lstrip())
    (root / "web" / "Dockerfile").write_text(textwrap.dedent(VERSIONED_APP_DOCKERFILE).lstrip())
    (root / "web" / "app.py").write_text(textwrap.dedent(APP).lstrip())
    made = Access(root, prefix, testbed, env)
    try:
        yield made
    finally:
        core = client.CoreV1Api(testbed.api)
        for env_name in ("staging", "prod", "checked"):
            with contextlib.suppress(ApiException):
                core.delete_namespace(made.ns(env_name))
        print("timings (s):", {k: [round(t, 1) for t in v] for k, v in made.timings.items()})


def review(testbed: K8sTestbed, user: str, verb: str, resource: str, namespace: str = "", *,
           group: str = "", name: str = "") -> bool:  # fmt: skip
    """The API server's answer to: may `user` do this? (SubjectAccessReview, as the admin)."""
    attributes = client.V1ResourceAttributes(
        verb=verb, resource=resource, namespace=namespace or None, group=group, name=name or None
    )
    body = client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(
            user=user, groups=["system:serviceaccounts", "system:authenticated"],
            resource_attributes=attributes,
        )
    )  # fmt: skip
    answer = client.AuthorizationV1Api(testbed.api).create_subject_access_review(body)
    return bool(answer.status.allowed)


def test_deploy_promote_and_rollback_with_only_the_deploy_accounts_tokens(bed: Access) -> None:
    testbed = bed.testbed
    staging, prod = bed.ns("staging"), bed.ns("prod")

    # The admin: each namespace first (cluster-scoped), then the environment's account.
    bed.grant("staging")
    bed.grant("prod", "staging")

    # What the API server says each account may do.
    staging_sa = f"system:serviceaccount:{staging}:{DEPLOYER}"
    prod_sa = f"system:serviceaccount:{prod}:{DEPLOYER}"
    for user, own in ((staging_sa, staging), (prod_sa, prod)):
        assert review(testbed, user, "create", "deployments", own, group="apps")
        assert review(testbed, user, "patch", "configmaps", own)
        for other in {staging, prod, "kube-system", "default"} - {own}:
            assert not review(testbed, user, "get", "secrets", other)
            assert not review(testbed, user, "list", "secrets", other)
            assert not review(testbed, user, "create", "deployments", other, group="apps")
            assert not review(testbed, user, "patch", "deployments", other, group="apps")
            assert not review(testbed, user, "create", "configmaps", other)
            assert not review(testbed, user, "patch", "configmaps", other)
        assert not review(testbed, user, "list", "secrets")  # every namespace at once
        assert not review(testbed, user, "list", "nodes")
        assert not review(testbed, user, "create", "namespaces")
        assert not review(testbed, user, "patch", "namespaces", name=own)
        assert not review(testbed, user, "create", "roles", own, group="rbac.authorization.k8s.io")
    assert review(testbed, prod_sa, "list", "configmaps", staging)  # staging's records
    assert not review(testbed, prod_sa, "get", "configmaps", staging)
    assert not review(testbed, staging_sa, "list", "configmaps", prod)  # it promotes from none

    # And as the accounts themselves: refused by the API server.
    core = client.CoreV1Api(testbed.api)
    core.create_namespaced_secret(
        staging, client.V1Secret(metadata=client.V1ObjectMeta(name="canary"),
                                 string_data={"value": "not for prod's deployer"}),
    )  # fmt: skip
    prod_api = config.new_client_from_config(str(bed.kubeconfigs["prod"]))
    as_prod = client.CoreV1Api(prod_api)
    forbidden: list[Any] = [
        lambda: as_prod.read_namespaced_secret("canary", staging),
        lambda: as_prod.list_namespaced_secret(staging),
        lambda: as_prod.list_namespaced_secret("kube-system"),
        lambda: as_prod.create_namespaced_config_map(
            staging, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="intruder"))
        ),
        as_prod.list_node,
    ]
    for attempt in forbidden:
        with pytest.raises(ApiException) as refused:
            attempt()
        assert refused.value.status == 403
    prod_api.close()

    # Deploy, promote, rollback, each with only the deploy account's token.
    v1 = build(bed, "v1")
    deployed = ok(bed.as_deployer("staging", "deploy", "staging", "--images", "v1.json"))
    assert f"namespace {staging}: made by an admin" in " ".join(deployed.stderr.split())
    labels = core.read_namespace(staging).metadata.labels
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"  # as the admin made it
    assert labels["app.kubernetes.io/managed-by"] == "devkit"
    ok(bed.as_deployer("prod", "promote", "staging", "prod"))
    assert bed.image("prod") == v1["web"]
    v2 = build(bed, "v2")
    ok(bed.as_deployer("staging", "deploy", "staging", "--images", "v2.json"))
    promoted = json.loads(
        ok(bed.as_deployer("prod", "promote", "staging", "prod", "--json")).stdout
    )
    assert promoted["release"]["number"] == 2 and promoted["source"]["release"] == 2
    assert bed.image("prod") == v2["web"]
    back = json.loads(ok(bed.as_deployer("prod", "rollback", "prod", "--json")).stdout)
    assert back["release"]["origin"] == "rollback to #1"
    assert bed.image("prod") == v1["web"]
    history = json.loads(ok(bed.as_deployer("prod", "releases", "prod", "--json")).stdout)
    assert [(r["number"], r["status"]) for r in history["releases"]] == [
        (3, "healthy"), (2, "healthy"), (1, "healthy"),
    ]  # fmt: skip
    status = ok(bed.as_deployer("prod", "status", "-e", "prod", "--json"))
    (web,) = json.loads(status.stdout)["services"]
    assert {p["capacity"] for p in web["pods"]} == {"unknown: nodes not readable"}
    live = json.loads(ok(bed.as_deployer("prod", "diff", "prod", "--live", "--json")).stdout)
    assert [c for c in live["changes"] if c["change"] != "unchanged"] == []
    assert "Namespace" not in {c["kind"] for c in live["changes"]}  # the admin's, not compared
    ok(bed.as_deployer("prod", "logs", "-e", "prod", "--tail", "5"))

    # staging's account may not read prod's records, so it cannot promote from prod.
    backwards = bed.as_deployer("staging", "promote", "prod", "staging")
    assert backwards.code == 1, backwards.stderr
    text = " ".join(backwards.stderr.split())
    assert f"this account may not read the release records of prod in namespace {prod}" in text
    assert "--promotes-from prod" in text

    # prod's account pointed at staging: refused before anything changes there.
    before = bed.records("staging")
    elsewhere = bed.as_deployer("prod", "deploy", "staging", "--images", "v1.json")
    assert elsewhere.code == 1, elsewhere.stderr
    text = " ".join(elsewhere.stderr.split())
    assert "forbidden" in text and "Traceback" not in text
    assert f"this account may not deploy to namespace {staging}" in text
    assert "nothing was changed" in text
    assert bed.records("staging") == before
    assert bed.image("staging") == v2["web"]


def build(bed: Access, version: str) -> dict[str, str]:
    (bed.root / "web" / "VERSION").write_text(version)
    ok(bed.devkit("build", "staging", "--push", "--images-file", f"{version}.json"))
    images: dict[str, str] = json.loads((bed.root / f"{version}.json").read_text())["images"]
    return images


def test_the_role_follows_the_kinds_the_blueprint_renders(bed: Access) -> None:
    """A release with a Secret, a pre-deploy Job and a verify pod deploys with its account; when
    the blueprint adds an autoscaler, the old Role refuses it before anything changes, and the
    Role rendered again lets it through."""
    bed.admin_env["TOKEN"] = "s3cret"
    bed.grant("checked")
    build(bed, "v1")
    first = ok(bed.as_deployer("checked", "deploy", "checked", "--images", "v1.json"))
    text = " ".join(first.stderr.split())
    assert "job migrate passed" in text and "is healthy" in text
    core = client.CoreV1Api(bed.testbed.api)
    assert core.read_namespaced_secret("rel-secrets", bed.ns("checked")).data.keys() == {"TOKEN"}

    bed.admin_env["TEST_AUTOSCALE"] = "1"
    before = bed.records("checked")
    refused = bed.as_deployer("checked", "deploy", "checked", "--images", "v1.json")
    assert refused.code == 1, refused.stderr
    text = " ".join(refused.stderr.split())
    assert f"this account may not apply HorizontalPodAutoscaler/web in {bed.ns('checked')}" in text
    assert "render it again and have an admin apply it" in text
    assert bed.records("checked") == before  # refused by the dry run: nothing recorded

    bed.grant("checked")  # the admin applies the Role rendered from the changed blueprint
    ok(bed.as_deployer("checked", "deploy", "checked", "--images", "v1.json"))
    autoscaling = client.AutoscalingV2Api(bed.testbed.api)
    assert autoscaling.read_namespaced_horizontal_pod_autoscaler("web", bed.ns("checked"))
