"""Release records and the deploy lock of a Kubernetes environment, kept in its namespace.

A release is a ConfigMap `devkit-release-<number>` whose `release.json` is the record (the objects
applied, never a secret value); its outcome is in annotations. The lock is a ConfigMap
`devkit-lock`: creating an object whose name exists fails, so taking the lock is atomic.
"""

from __future__ import annotations

from typing import Any

from devkit.errors import EngineError
from devkit.records.lock import Lock, LockStore
from devkit.records.release import CanaryRecord, Release, Status, from_record
from devkit.targets.kubernetes.api import KubeApi, KubeError
from devkit.targets.kubernetes.spec import INSTANCE, MANAGED_BY, RECORD_KIND

STATUS = "devkit.dev/status"
REASON = "devkit.dev/reason"
FINISHED = "devkit.dev/finished"
CANARY = "devkit.dev/canary"
LOCK_NAME = "devkit-lock"


def namespace_exists(kube: KubeApi, namespace: str) -> bool | None:
    """Whether the namespace exists; None when this identity may not read namespaces (a deploy
    account with only namespaced rights: it works in a namespace an admin made)."""
    try:
        return kube.get("v1", "Namespace", namespace) is not None
    except KubeError as exc:
        if exc.denied:
            return None
        raise


def missing_namespace(env: str, namespace: str) -> EngineError:
    """The namespace does not exist and this identity may not create it."""
    return EngineError(
        f"namespace {namespace} of {env} does not exist, and this account may not create it",
        details=[
            f"an admin creates it first: devkit render {env} --access-admin | kubectl apply -f -",
            "nothing was changed",
        ],
    )


class KubeRecords(LockStore):
    """Where one environment's releases and lock live in its namespace."""

    def __init__(self, kube: KubeApi, namespace: str, instance: str, env: str) -> None:
        self.kube, self.namespace, self.instance, self.env = kube, namespace, instance, env

    def _labels(self, kind: str) -> dict[str, str]:
        return {MANAGED_BY: "devkit", INSTANCE: self.instance, RECORD_KIND: kind}

    def _config_map(self, name: str, kind: str, data: dict[str, str]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": self.namespace, "labels": self._labels(kind)},
            "data": data,
        }

    def ensure_namespace(self) -> None:
        """Create the namespace when it does not exist. A deploy account that may not read
        namespaces (an admin made it: `devkit render ENV --access-admin`) leaves it as it is."""
        if namespace_exists(self.kube, self.namespace) is False:
            namespace = {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": self.namespace, "labels": {MANAGED_BY: "devkit"}},
            }
            try:
                self.kube.apply(namespace)
            except KubeError as exc:
                if exc.denied:
                    raise missing_namespace(self.env, self.namespace) from None
                raise

    def releases(self) -> list[Release]:
        selector = ",".join(f"{k}={v}" for k, v in self._labels("release").items())
        records = []
        try:
            found = self.kube.list("v1", "ConfigMap", self.namespace, selector)
        except KubeError as exc:
            if not exc.denied:
                raise
            raise EngineError(
                f"this account may not read the release records of {self.env} in namespace "
                f"{self.namespace}",
                details=[
                    exc.message,
                    f"a deploy account promotes from {self.env} when its access is rendered "
                    f"with --promotes-from {self.env} (devkit render DST --access "
                    f"--promotes-from {self.env}) and an admin applied it",
                    "nothing was changed",
                ],
            ) from None
        for config in found:
            notes = config["metadata"].get("annotations") or {}
            records.append(
                from_record(
                    config["data"]["release.json"],
                    status=notes.get(STATUS),
                    reason=notes.get(REASON),
                    finished=notes.get(FINISHED),
                    canary=notes.get(CANARY),
                )
            )
        return sorted(records, key=lambda r: r.number)

    def record(self, release: Release) -> None:
        body = self._config_map(
            f"devkit-release-{release.number:06d}",
            "release",
            {"release.json": release.model_dump_json()},
        )
        body["metadata"]["annotations"] = {STATUS: release.status}
        try:
            self.kube.create(body)
        except KubeError as exc:
            raise EngineError(
                f"cannot record release #{release.number} of {self.env}: {exc.message}"
            ) from None

    def set_status(self, number: int, status: Status, reason: str, finished: str) -> None:
        notes = {"metadata": {"annotations": {STATUS: status, REASON: reason, FINISHED: finished}}}
        self.kube.patch("v1", "ConfigMap", f"devkit-release-{number:06d}", self.namespace, notes)

    def set_canary(self, number: int, canary: CanaryRecord) -> None:
        """Record the canary's steps so far (an annotation: the record itself never changes)."""
        notes = {"metadata": {"annotations": {CANARY: canary.model_dump_json()}}}
        self.kube.patch("v1", "ConfigMap", f"devkit-release-{number:06d}", self.namespace, notes)

    def remove_all(self) -> list[str]:
        removed = []
        for kind in ("release", "lock"):
            selector = ",".join(f"{k}={v}" for k, v in self._labels(kind).items())
            for config in self.kube.list("v1", "ConfigMap", self.namespace, selector):
                name = config["metadata"]["name"]
                self.kube.delete("v1", "ConfigMap", name, self.namespace)
                removed.append(name)
        return removed

    # The lock

    def holder(self) -> Lock | None:
        config = self.kube.get("v1", "ConfigMap", LOCK_NAME, self.namespace)
        return Lock.from_json(config["data"]["lock.json"]) if config else None

    def create_lock(self, lock: Lock) -> bool:
        self.ensure_namespace()
        try:
            self.kube.create(self._config_map(LOCK_NAME, "lock", {"lock.json": lock.to_json()}))
        except KubeError as exc:
            if exc.status == 409:
                return False
            if exc.status == 404:
                raise missing_namespace(self.env, self.namespace) from None
            if exc.denied:
                raise EngineError(
                    f"cannot take the deploy lock of {self.env}: {exc.message}",
                    details=[
                        f"this account may not deploy to namespace {self.namespace}; a deploy "
                        f"account made by `devkit render ENV --access` deploys only to its own "
                        "environment's namespace",
                        "nothing was changed",
                    ],
                ) from None
            raise EngineError(f"cannot take the deploy lock of {self.env}: {exc.message}") from None
        return True

    def remove_lock(self) -> bool:
        return self.kube.delete("v1", "ConfigMap", LOCK_NAME, self.namespace)
