"""`devkit diff ENV --live`: the comparison of live objects with the server's dry-run. Pure."""

from __future__ import annotations

import base64
from typing import Any

from devkit.targets.kubernetes.diff import comparable, compare, pruned


def deployment(replicas: int, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "1"}, **meta},
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas, "observedGeneration": 4},
    }


SERVER = {
    "uid": "0f", "resourceVersion": "812", "generation": 4, "creationTimestamp": "2025-01-01",
    "managedFields": [{"manager": "devkit"}],
}  # fmt: skip


def test_what_the_server_manages_is_not_a_difference() -> None:
    live = deployment(2, **SERVER)
    dry = deployment(2, **{**SERVER, "resourceVersion": "813", "generation": 5})
    assert compare(deployment(2), live, dry).change == "unchanged"
    assert comparable(live) == {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": {"a": "1"}},
        "spec": {"replicas": 2},
    }  # fmt: skip


def test_a_changed_object_has_a_unified_diff_of_its_spec() -> None:
    change = compare(deployment(3), deployment(2, **SERVER), deployment(3, **SERVER))
    assert change.change == "changed"
    assert "--- live/Deployment/web" in change.diff and "+++ deploy/Deployment/web" in change.diff
    assert "-  replicas: 2\n" in change.diff and "+  replicas: 3\n" in change.diff
    assert "status" not in change.diff and "resourceVersion" not in change.diff


def test_an_object_not_live_is_created_from_the_dry_run_or_the_desired_object() -> None:
    assert compare(deployment(2), None, deployment(2, **SERVER)).change == "created"
    created = compare(deployment(2), None, None)
    assert created.change == "created" and "+  replicas: 2" in created.diff


def secret(**data: str) -> dict[str, Any]:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": encoded}


def test_secret_values_are_never_shown_only_whether_they_change() -> None:
    desired = {**secret(), "stringData": {"TOKEN": "new-token", "KEY": "same"}}
    change = compare(desired, secret(TOKEN="old-token", KEY="same"),
                     secret(TOKEN="new-token", KEY="same"))  # fmt: skip
    assert change.change == "changed"
    assert '+  TOKEN: "<hidden: changed>"' in change.diff and 'KEY: "<hidden>"' in change.diff
    for value in ("old-token", "new-token", "same", "bmV3LXRva2Vu"):
        assert value not in change.diff
    created = compare(desired, None, None)
    assert "new-token" not in created.diff and '+  TOKEN: "<hidden>"' in created.diff
    assert "old-token" not in pruned(secret(TOKEN="old-token")).diff


def test_a_pruned_object_shows_what_goes() -> None:
    gone = pruned(deployment(1, **SERVER))
    assert gone.change == "pruned" and (gone.kind, gone.name) == ("Deployment", "web")
    assert "-  replicas: 1" in gone.diff and "+++ deploy/Deployment/web" in gone.diff
