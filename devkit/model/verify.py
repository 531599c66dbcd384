"""A verify step: how an environment proves a new release works (e.g. smoke tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field, field_validator

from devkit.model.base import Model, Name, command_list


class Verify(Model):
    """A command that must exit 0 before a release counts as healthy; otherwise it is rolled back.

    With `service`, the command runs once in that service's new image, on the environment's own
    network (so it reaches the others by name, with the service's environment variables). Without
    it, the command runs where devkit runs, with `DEVKIT_URL_<SERVICE>_<PORT>` set for each
    published port.
    """

    command: tuple[str, ...] = Field(min_length=1)
    service: Name | None = None
    timeout: float = Field(default=120.0, gt=0, description="seconds before the check fails")

    def __init__(self, command: Sequence[str] | None = None, **fields: Any) -> None:
        super().__init__(**({"command": command} if command is not None else {}), **fields)

    @field_validator("command", mode="before")
    @classmethod
    def _not_a_string(cls, value: Any) -> Any:
        return command_list(value, '["python", "-m", "smoke"]')
