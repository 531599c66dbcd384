from __future__ import annotations

from typing import Any

from devkit.targets.kubernetes.spec import (
    SECRET_HASH,
    not_ready,
    ordered,
    pod_problem,
    rollout_status,
    secret,
    to_prune,
    with_secret_hash,
)

MINE = {"app.kubernetes.io/managed-by": "devkit", "app.kubernetes.io/instance": "shop-prod"}


def obj(kind: str, name: str, labels: dict[str, str] | None = None, **rest: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name, "namespace": "ns", "labels": labels or {}},
        **rest,
    }


def deployment(generation: int = 2, want: int = 3, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"name": "api", "generation": generation},
        "spec": {"replicas": want},
        "status": {"observedGeneration": 2, **status},
    }


def test_apply_order_is_namespace_secrets_config_workloads_then_traffic() -> None:
    kinds = [o["kind"] for o in ordered([
        obj("Ingress", "api"), obj("Deployment", "api"), obj("Secret", "s"),
        obj("ConfigMap", "c"), obj("Namespace", "ns"), obj("Service", "api"),
        obj("NetworkPolicy", "p"), obj("StatefulSet", "db"),
    ])]  # fmt: skip
    assert kinds == [
        "Namespace", "Secret", "ConfigMap", "Service", "Deployment", "StatefulSet",
        "NetworkPolicy", "Ingress",
    ]  # fmt: skip


def test_prune_takes_only_this_environments_labelled_objects_that_it_no_longer_applies() -> None:
    live = [
        obj("Deployment", "api", MINE),
        obj("Deployment", "old-worker", MINE),
        obj("Deployment", "hand-made", {}),  # unlabelled: never touched
        obj("Deployment", "other-env", {**MINE, "app.kubernetes.io/instance": "shop-staging"}),
        obj("ConfigMap", "devkit-release-000001", {**MINE, "devkit.dev/record": "release"}),
        obj("Service", "old-worker", MINE),
    ]
    applied = [("Deployment", "ns", "api")]
    # Traffic before workloads: the reverse of apply order.
    assert to_prune(applied, live, "shop-prod") == [
        ("Deployment", "ns", "old-worker"),
        ("Service", "ns", "old-worker"),
    ]


def test_a_deployment_is_current_only_when_every_replica_is_updated_and_available() -> None:
    assert rollout_status(deployment(generation=3)).state == "in-progress"
    assert rollout_status(deployment(updatedReplicas=1, replicas=3)).message == "1/3 pods updated"
    old = deployment(updatedReplicas=3, replicas=4, availableReplicas=3)
    assert rollout_status(old).message == "1 old pods terminating"
    assert rollout_status(deployment(updatedReplicas=3, replicas=3, availableReplicas=2)).state == (
        "in-progress"
    )
    assert rollout_status(deployment(updatedReplicas=3, replicas=3, availableReplicas=3)).state == (
        "current"
    )
    stuck = deployment(conditions=[{"type": "Progressing", "reason": "ProgressDeadlineExceeded",
                                    "message": "ReplicaSet api-1 has timed out"}])  # fmt: skip
    assert rollout_status(stuck).state == "failed"


def test_jobs_and_statefulsets() -> None:
    job = {"kind": "Job", "metadata": {"name": "m"}, "status": {}}
    assert rollout_status(job).state == "in-progress"
    done = {**job, "status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    assert rollout_status(done).state == "current"
    failed = {**job, "status": {"conditions": [{"type": "Failed", "status": "True",
                                                "message": "BackoffLimitExceeded"}]}}  # fmt: skip
    assert rollout_status(failed).message == "BackoffLimitExceeded"
    sts = {"kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
           "spec": {"replicas": 1}, "status": {"observedGeneration": 1, "readyReplicas": 1,
           "updatedReplicas": 1, "currentRevision": "a", "updateRevision": "a"}}  # fmt: skip
    assert rollout_status(sts).state == "current"


def test_pod_problems_name_the_pod_the_container_and_the_reason() -> None:
    pulling = {"metadata": {"name": "api-1"}, "status": {"containerStatuses": [
        {"name": "api", "state": {"waiting": {"reason": "ImagePullBackOff",
                                             "message": "not found"}}}]}}  # fmt: skip
    assert pod_problem(pulling) == "pod api-1: api: ImagePullBackOff: not found"
    unready = {"metadata": {"name": "api-2"}, "status": {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False"}]}}  # fmt: skip
    assert pod_problem(unready) is None
    assert "readiness probe failing" in (not_ready(unready) or "")


def test_the_secret_is_built_in_memory_with_string_data() -> None:
    made = secret("shop-secrets", "ns", MINE, {"B": "2", "A": "1"})
    assert made["stringData"] == {"A": "1", "B": "2"} and made["type"] == "Opaque"


def test_a_new_secret_value_changes_the_pod_templates_that_read_it() -> None:
    reads = {
        "kind": "Deployment",
        "metadata": {"name": "api"},
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"env": [{"valueFrom": {"secretKeyRef": {"name": "shop-secrets"}}}]}
                    ]
                }
            }
        },
    }
    other = {"kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"template": {"spec": {"containers": [{"name": "web"}]}}}}  # fmt: skip

    def hashes(values: dict[str, str]) -> list[str | None]:
        done = with_secret_hash([reads, other], "shop-secrets", values)
        return [
            (o["spec"]["template"].get("metadata") or {}).get("annotations", {}).get(SECRET_HASH)
            for o in done
        ]

    first, untouched = hashes({"PW": "one"})
    assert first is not None and len(first) == 8 and untouched is None
    assert hashes({"PW": "one"})[0] == first and hashes({"PW": "two"})[0] != first
    assert "one" not in first
