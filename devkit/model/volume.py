"""Persistent storage mounted into a service."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model
from devkit.model.quantity import Memory


class Volume(Model):
    """A named volume mounted at `path`; kept by `devkit down` unless `--volumes` is given.

    `init_env` names the service's env variables that it reads only when it initialises an empty
    volume (a database's user, password and name): devkit records a fingerprint of their values
    on the volume and refuses, before starting anything, values the data was not made with.
    """

    path: str
    size: Memory = "1Gi"
    init_env: tuple[str, ...] = Field(
        default=(), description="env read only when the service initialises the empty volume"
    )

    def __init__(self, path: str, **fields: Any) -> None:
        super().__init__(**{"path": path, **fields})

    @model_validator(mode="before")
    @classmethod
    def _from_path(cls, value: Any) -> Any:
        return {"path": value} if isinstance(value, str) else value

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f'volume path "{value}" must be an absolute path in the container')
        return value
