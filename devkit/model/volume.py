"""Persistent storage mounted into a service."""

from __future__ import annotations

from typing import Any

from pydantic import field_validator, model_validator

from devkit.model.base import Model
from devkit.model.quantity import Memory


class Volume(Model):
    """A named volume mounted at `path`; kept by `devkit down` unless `--volumes` is given."""

    path: str
    size: Memory = "1Gi"

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
