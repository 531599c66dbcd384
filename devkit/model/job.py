"""A pre-deploy job: a command that must succeed before a release rolls out (e.g. migrations)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from devkit.model.base import Model, Name, command_list


class Job(Model):
    """Runs once per deploy, after the checks and before anything is rolled out.

    It runs `command` in `service`'s new image with that service's environment, on the
    environment's network (a one-off container on Swarm, a Kubernetes Job on a cluster). Exit 0
    within `timeout` lets the deploy go on; anything else stops it, with the job's log lines,
    and nothing that runs is changed. Jobs run in the order given.
    """

    name: Name
    command: tuple[str, ...] = Field(min_length=1)
    service: Name
    timeout: float = Field(default=300.0, gt=0, description="seconds before the job fails")

    def __init__(
        self, name: str | None = None, command: Sequence[str] | None = None, **fields: Any
    ) -> None:
        given = {k: v for k, v in (("name", name), ("command", command)) if v is not None}
        super().__init__(**given, **fields)

    @field_validator("command", mode="before")
    @classmethod
    def _not_a_string(cls, value: Any) -> Any:
        return command_list(value, '["python", "-m", "app.migrate"]')
