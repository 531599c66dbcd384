"""How a service's image is built from source."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from pydantic import Field, field_validator

from devkit.model.base import Model


class Build(Model):
    """A Docker build: context directory (relative to blueprint.py), Dockerfile, stage and args."""

    context: str
    dockerfile: str = "Dockerfile"
    target: str | None = None
    args: dict[str, str] = Field(default_factory=dict)

    def __init__(self, context: str, **fields: Any) -> None:
        super().__init__(**{"context": context, **fields})

    @field_validator("context", "dockerfile")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(
                f'"{value}" must be a path relative to blueprint.py, inside the project'
            )
        return str(path)
