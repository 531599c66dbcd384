"""`devkit render ENV --access`: the least-privilege deploy account, decided from the objects a
release applies. Pure (the target is opened, never connected)."""

from __future__ import annotations

from typing import Any

import pytest

from devkit import Autoscale, Blueprint, Http, Job, Kubernetes, Secret, Swarm, UserError, Verify
from devkit.planning.planner import Plan, plan
from devkit.render.manifest import render
from devkit.render.version import DEFAULT
from devkit.schemas import resolve, validate
from devkit.targets.base import AccessObjects
from devkit.targets.kubernetes.access import DEPLOYER, group_of, resource_of
from devkit.targets.kubernetes.api import KubeError
from devkit.targets.kubernetes.cluster import ClusterTarget
from devkit.targets.kubernetes.spec import to_prune
from devkit.targets.kubernetes.status import service_statuses

APPLY = ["create", "delete", "get", "list", "patch"]
NOT_NAMESPACED = {"namespaces", "nodes", "clusterroles", "clusterrolebindings",
                  "persistentvolumes", "customresourcedefinitions"}  # fmt: skip


def web_app() -> Blueprint:
    app = Blueprint("shop")
    app.service("web", image="nginx:1.27", ports={"http": 8000},
                health=Http("/healthz", port="http"))  # fmt: skip
    app.environment("staging", Kubernetes(context="staging"))
    app.environment("prod", Kubernetes(context="prod", namespace="shop-live"))
    app.environment("swarm", Swarm())
    return app


def access(planned: Plan, sources: dict[str, str] | None = None) -> AccessObjects:
    return ClusterTarget(planned, context=None).access(sources or {}, DEFAULT)


def role_grants(obj: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """(group, resource) -> verbs of a Role."""
    found: dict[tuple[str, str], list[str]] = {}
    for rule in obj["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                found.setdefault((group, resource), []).extend(rule["verbs"])
    return {k: sorted(v) for k, v in found.items()}


def the(objects: tuple[dict[str, Any], ...], kind: str, namespace: str) -> dict[str, Any]:
    (found,) = [o for o in objects if o["kind"] == kind and o["metadata"]["namespace"] == namespace
                and o["metadata"]["name"].startswith("devkit-")]  # fmt: skip
    return found


def test_the_role_grants_exactly_the_kinds_the_release_applies_plus_records_and_pods() -> None:
    planned = plan(web_app(), "staging")
    made = access(planned)
    rendered = {
        (group_of(o["apiVersion"]), resource_of(o["kind"]))
        for o in render(planned).objects
        if o["kind"] != "Namespace"
    }
    assert rendered == {("", "serviceaccounts"), ("", "services"), ("apps", "deployments"),
                        ("networking.k8s.io", "networkpolicies")}  # fmt: skip
    grants = role_grants(the(made.deployer, "Role", "shop-staging"))
    assert grants == {
        **dict.fromkeys(rendered, APPLY),
        ("", "configmaps"): APPLY,  # release records and the lock
        ("", "pods"): ["get", "list"],  # the rollout follows pods
        ("", "pods/log"): ["get"],  # and tells why one failed
    }


def test_kinds_follow_the_blueprint_autoscaler_budget_secret_jobs_and_verify_pods() -> None:
    app = Blueprint("shop")
    api = app.service(
        "api", image="shop-api:1", ports={"http": 8000}, env={"TOKEN": Secret("TOKEN")},
        health=Http("/healthz", port="http"),
    )  # fmt: skip
    app.environment(
        "prod", Kubernetes(), overrides={api: {"autoscale": Autoscale(min=2, max=5, cpu=70)}},
        jobs=[Job("migrate", ["python", "-m", "migrate"], service="api")],
        verify=Verify(["python", "-m", "smoke"], service="api"),
    )  # fmt: skip
    app.environment("local-verify", Kubernetes(), verify=Verify(["./smoke.sh"]))
    grants = role_grants(the(access(plan(app, "prod")).deployer, "Role", "shop-prod"))
    assert grants[("autoscaling", "horizontalpodautoscalers")] == APPLY
    assert grants[("policy", "poddisruptionbudgets")] == APPLY
    assert grants[("", "secrets")] == APPLY  # the environment's Secret, and a job's copy
    assert grants[("batch", "jobs")] == ["create", "delete", "get", "list"]
    assert grants[("", "pods")] == ["create", "delete", "get", "list"]  # the verify pod
    plain = role_grants(
        the(access(plan(app, "local-verify")).deployer, "Role", "shop-local-verify")
    )
    assert plain[("", "pods")] == ["get", "list"]  # a verify step without a service runs here
    assert ("batch", "jobs") not in plain  # no jobs there; nor an autoscaler:
    assert ("autoscaling", "horizontalpodautoscalers") not in plain


def test_promoting_from_an_environment_lists_its_records_there_and_nothing_else() -> None:
    app = web_app()
    made = access(plan(app, "prod"), {"staging": "shop-staging"})
    reader = the(made.deployer, "Role", "shop-staging")
    assert reader["metadata"]["name"] == "devkit-promote-to-shop-live"
    assert role_grants(reader) == {("", "configmaps"): ["list"]}
    binding = the(made.deployer, "RoleBinding", "shop-staging")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": "devkit-promote-to-shop-live"}  # fmt: skip
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": DEPLOYER, "namespace": "shop-live"}
    ]
    assert made.account == "shop-live/devkit-deployer"


def test_nothing_is_cluster_scoped_and_the_admin_gets_the_namespace_render_makes() -> None:
    planned = plan(web_app(), "prod")
    made = access(planned, {"staging": "shop-staging"})
    assert {o["kind"] for o in made.deployer} == {"ServiceAccount", "Role", "RoleBinding"}
    assert all(o["metadata"]["namespace"] in ("shop-live", "shop-staging") for o in made.deployer)
    for role in (o for o in made.deployer if o["kind"] == "Role"):
        for rule in role["rules"]:
            assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
            assert not set(rule["resources"]) & NOT_NAMESPACED
            assert not {"escalate", "bind", "impersonate"} & set(rule["verbs"])
    (namespace,) = made.admin
    rendered = next(o for o in render(planned).objects if o["kind"] == "Namespace")
    assert namespace == {**rendered, "metadata": {**rendered["metadata"], "name": "shop-live"}}
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    account = the(made.deployer, "ServiceAccount", "shop-live")
    assert account["automountServiceAccountToken"] is False
    validate([*made.admin, *made.deployer], resolve(DEFAULT))


def test_prune_never_finds_the_access_objects() -> None:
    """They are an admin's: not labelled managed-by devkit, so no deploy deletes them."""
    made = access(plan(web_app(), "staging"))
    assert to_prune([], list(made.deployer), "shop-staging") == []


def test_the_access_follows_the_namespace_the_target_is_moved_to() -> None:
    planned = plan(web_app(), "staging").model_copy(update={"namespace": "elsewhere"})
    made = access(planned)
    assert {o["metadata"]["namespace"] for o in made.deployer} == {"elsewhere"}
    assert made.admin[0]["metadata"]["name"] == "elsewhere"


def test_a_service_named_like_the_deploy_account_is_refused() -> None:
    app = Blueprint("shop")
    app.service(DEPLOYER, image="nginx:1.27")
    app.environment("prod", Kubernetes())
    with pytest.raises(UserError, match="share its ServiceAccount with the deploy account"):
        access(plan(app, "prod"))


@pytest.mark.parametrize(
    ("kind", "resource"),
    [("Deployment", "deployments"), ("NetworkPolicy", "networkpolicies"),
     ("Ingress", "ingresses"), ("HTTPRoute", "httproutes"),
     ("HorizontalPodAutoscaler", "horizontalpodautoscalers"), ("ConfigMap", "configmaps")],
)  # fmt: skip
def test_resource_names_follow_kubernetes_own_guess(kind: str, resource: str) -> None:
    assert resource_of(kind) == resource


def test_status_without_access_to_nodes_says_capacity_is_unknown() -> None:
    """A deploy account may not read nodes: `devkit status` still shows its pods."""
    pod = {
        "metadata": {"name": "web-1", "labels": {"app.kubernetes.io/name": "web"}},
        "spec": {"nodeName": "node-a", "containers": [{"image": "nginx:1.27"}]},
        "status": {"phase": "Running"},
    }
    (row,) = service_statuses(["web"], [pod], None, {})
    (seen,) = row.pods
    assert (seen.node, seen.capacity) == ("node-a", "unknown: nodes not readable")
    spot = {"metadata": {"labels": {"cloud.google.com/gke-spot": "true"}}}
    (row,) = service_statuses(["web"], [pod], {"node-a": spot}, {})
    assert row.pods[0].capacity == "spot"


def test_only_an_authorization_refusal_counts_as_denied() -> None:
    """A 403 for another reason (a namespace being deleted) is not a missing right."""
    rbac = ('creating ConfigMap/devkit-lock: configmaps "devkit-lock" is forbidden: User '
            '"system:serviceaccount:shop-prod:devkit-deployer" cannot create resource '
            '"configmaps" in API group "" in the namespace "shop-staging"')  # fmt: skip
    assert KubeError(rbac, status=403, body="").denied
    ending = ('creating ConfigMap/devkit-lock: configmaps "devkit-lock" is forbidden: unable to '
              "create new content in namespace shop-prod because it is being terminated")  # fmt: skip
    assert not KubeError(ending, status=403, body="").denied
    assert not KubeError("reading Namespace/x: not found", status=404, body="").denied
