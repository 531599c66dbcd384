"""The least privilege a deploy needs on Kubernetes, decided from what it applies (pure).

A ServiceAccount `devkit-deployer` in the environment's namespace, a Role there granting the
kinds the release applies (read from its rendered objects, never from a list of kinds) and what
the deploy engine does around them, and for each environment it promotes from, a Role in that
environment's namespace that reads its release records. Nothing cluster-scoped is granted: the
namespace (with its pod security labels) is an admin's, made beforehand from `admin_objects`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from devkit.planning.planner import Plan
from devkit.targets.base import AccessObjects

DEPLOYER = "devkit-deployer"
"""The ServiceAccount a deploy runs as (a service of that name is refused: its ServiceAccount
would be the same object)."""

APPLY = ("create", "delete", "get", "list", "patch")
"""What the target does with each kind it applies: server-side apply is a patch (and a create
when the object is new), the rollout reads it back, prune lists and deletes."""

RECORDS = ("", "configmaps")
"""Release records (`devkit-release-<number>`) and the lock (`devkit-lock`) are ConfigMaps in
the namespace (records.py)."""

RECORD_READ = ("list",)
"""What a promotion does with its source's records: one list by label. RBAC cannot narrow a
list by `resourceNames` (only a request for one name by field selector), and the record names
are not known in advance, so reading them is listing the namespace's ConfigMaps."""

COMPONENT = "app.kubernetes.io/component"


def resource_of(kind: str) -> str:
    """The API resource of a kind, by the rule Kubernetes itself guesses with
    (apimachinery's `UnsafeGuessKindToResource`): NetworkPolicy -> networkpolicies,
    Ingress -> ingresses, Deployment -> deployments."""
    lower = kind.lower()
    if lower.endswith("s"):
        return f"{lower}es"
    if lower.endswith("y"):
        return f"{lower[:-1]}ies"
    return f"{lower}s"


def group_of(api_version: str) -> str:
    """The API group of an apiVersion: "" for the core group (v1)."""
    return api_version.rpartition("/")[0]


def grants(plan: Plan, objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(API group, resource) -> the verbs a deploy, promotion or rollback of `plan` uses in its
    own namespace, given the objects it applies there."""
    found: dict[tuple[str, str], set[str]] = {}

    def grant(group: str, resource: str, verbs: Iterable[str]) -> None:
        found.setdefault((group, resource), set()).update(verbs)

    for obj in objects:
        if obj["kind"] == "Namespace":
            continue  # the admin's: created beforehand, never patched by the deploy account
        grant(group_of(obj["apiVersion"]), resource_of(obj["kind"]), APPLY)
    grant(*RECORDS, APPLY)
    if plan.secret_names:
        grant("", "secrets", APPLY)  # the environment's Secret (and a pre-deploy job's copy)
    grant("", "pods", ("get", "list"))  # the rollout follows pods, and tells why one fails
    grant("", "pods/log", ("get",))
    if plan.verify is not None and plan.verify.service is not None:
        grant("", "pods", ("create", "delete"))  # the verify pod, from the service's template
    if plan.jobs:
        grant("batch", "jobs", ("create", "delete", "get", "list"))
    return found


def rules(found: Mapping[tuple[str, str], set[str]]) -> list[dict[str, Any]]:
    """Role rules: one per API group and set of verbs, in a stable order."""
    by_verbs: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for (group, resource), verbs in found.items():
        by_verbs.setdefault((group, tuple(sorted(verbs))), []).append(resource)
    found_rules = [
        {"apiGroups": [group], "resources": sorted(resources), "verbs": list(verbs)}
        for (group, verbs), resources in by_verbs.items()
    ]
    return sorted(found_rules, key=lambda r: (r["apiGroups"], r["resources"]))


def _labels(plan: Plan, instance: str) -> dict[str, str]:
    # No `managed-by: devkit`: an admin applies these, and prune (which deletes what devkit
    # applied and no longer renders) must never find them.
    return {
        "app.kubernetes.io/instance": instance,
        "app.kubernetes.io/part-of": plan.project,
        COMPONENT: "deploy-access",
    }


def _meta(name: str, namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    return {"name": name, "namespace": namespace, "labels": dict(labels)}


def _binding(name: str, namespace: str, labels: Mapping[str, str], account: str,
             account_namespace: str) -> dict[str, Any]:  # fmt: skip
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(name, namespace, labels),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": account_namespace}],
    }


def promoter_name(namespace: str) -> str:
    """The Role (and RoleBinding) in a source namespace that lets `namespace`'s deploy
    account read the source's release records."""
    return f"devkit-promote-to-{namespace}"


def access_objects(
    plan: Plan,
    namespace: str,
    instance: str,
    objects: Sequence[Mapping[str, Any]],
    sources: Mapping[str, str],
) -> AccessObjects:
    """The deploy account of `plan`'s environment in `namespace`, given the objects a release
    applies there (`objects`, the Namespace among them) and the environments it promotes from
    (`sources`: environment -> namespace)."""
    labels = _labels(plan, instance)
    account: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": _meta(DEPLOYER, namespace, labels),
            # used from outside the cluster by a token (TokenRequest), never mounted in a pod
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": _meta(DEPLOYER, namespace, labels),
            "rules": rules(grants(plan, objects)),
        },
        _binding(DEPLOYER, namespace, labels, DEPLOYER, namespace),
    ]
    for source in sorted(sources):
        where, name = sources[source], promoter_name(namespace)
        read = {"apiGroups": [RECORDS[0]], "resources": [RECORDS[1]], "verbs": list(RECORD_READ)}
        account.append(
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": _meta(name, where, labels),
                "rules": [read],
            }
        )
        account.append(_binding(name, where, labels, DEPLOYER, namespace))
    admin = tuple(dict(o) for o in objects if o["kind"] == "Namespace")
    return AccessObjects(
        account=f"{namespace}/{DEPLOYER}",
        namespace=namespace,
        admin=admin,
        deployer=tuple(account),
    )
