"""Release records and the deploy lock of a Swarm environment, kept in the swarm as configs.

A release is a config `devkit-release-<project>-<env>-<number>` whose data is the record as JSON;
its outcome lives in the config's labels, the one part of a config the swarm lets change. The lock
is a config `devkit-lock-<project>-<env>`: creating a config whose name exists fails, which makes
taking the lock atomic across every machine that talks to the swarm.
"""

from __future__ import annotations

import base64
from typing import Any

import docker
from docker.errors import APIError, NotFound

from devkit.errors import EngineError
from devkit.records.lock import Lock, LockStore
from devkit.records.release import Release, Status, from_record
from devkit.targets import labels

KIND = "dev.devkit.kind"
NUMBER = "dev.devkit.records.release"
STATUS = "dev.devkit.status"
REASON = "dev.devkit.reason"
FINISHED = "dev.devkit.finished"
_REASON_MAX = 1000


class SwarmRecords(LockStore):
    """Where one environment's releases and lock live in a swarm."""

    def __init__(self, client: docker.DockerClient, project: str, env: str) -> None:
        self.client, self.project, self.env = client, project, env

    def _filters(self, kind: str) -> dict[str, Any]:
        return {"label": [*labels.stack_filter(self.project, self.env), f"{KIND}={kind}"]}

    def _configs(self, kind: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.client.api.configs(filters=self._filters(kind))
        return found

    def releases(self) -> list[Release]:
        """Every release record of the environment, oldest first."""
        records = []
        for config in self._configs("release"):
            spec = config["Spec"]
            marks = spec.get("Labels") or {}
            records.append(
                from_record(
                    base64.b64decode(spec["Data"]),
                    status=marks.get(STATUS),
                    reason=marks.get(REASON),
                    finished=marks.get(FINISHED),
                )
            )
        return sorted(records, key=lambda r: r.number)

    def _name(self, number: int) -> str:
        return f"devkit-release-{self.project}-{self.env}-{number:06d}"

    def record(self, release: Release) -> None:
        """Write a new release record; refuses to overwrite one."""
        try:
            self.client.api.create_config(
                self._name(release.number),
                release.model_dump_json().encode(),
                labels={
                    **labels.stack_labels(self.project, self.env),
                    KIND: "release",
                    NUMBER: str(release.number),
                    STATUS: release.status,
                },
            )
        except APIError as exc:
            raise EngineError(
                f"cannot record release #{release.number} of {self.env}: {exc.explanation}"
            ) from None

    def set_status(self, number: int, status: Status, reason: str, finished: str) -> None:
        """Record a release's outcome in its labels."""
        config = self.client.api.inspect_config(self._name(number))
        spec = dict(config["Spec"])
        spec["Labels"] = {
            **(spec.get("Labels") or {}),
            STATUS: status,
            REASON: reason[:_REASON_MAX],
            FINISHED: finished,
        }
        api = self.client.api
        url = api._url("/configs/{0}/update", config["ID"])
        response = api._post_json(url, data=spec, params={"version": config["Version"]["Index"]})
        api._raise_for_status(response)

    def remove_all(self) -> list[str]:
        """Remove every record and the lock (the environment is being taken down)."""
        removed = []
        for kind in ("release", "lock"):
            for config in self._configs(kind):
                self.client.api.remove_config(config["ID"])
                removed.append(config["Spec"]["Name"])
        return removed

    # The lock

    @property
    def lock_name(self) -> str:
        return f"devkit-lock-{self.project}-{self.env}"

    def holder(self) -> Lock | None:
        try:
            config = self.client.api.inspect_config(self.lock_name)
        except NotFound:
            return None
        return Lock.from_json(base64.b64decode(config["Spec"]["Data"]).decode())

    def create_lock(self, lock: Lock) -> bool:
        try:
            self.client.api.create_config(
                self.lock_name,
                lock.to_json().encode(),
                labels={**labels.stack_labels(self.project, self.env), KIND: "lock"},
            )
        except APIError as exc:
            if exc.status_code == 409:
                return False
            raise EngineError(
                f"cannot take the deploy lock of {self.env}: {exc.explanation}"
            ) from None
        return True

    def remove_lock(self) -> bool:
        try:
            self.client.api.remove_config(self.lock_name)
        except NotFound:
            return False
        return True
