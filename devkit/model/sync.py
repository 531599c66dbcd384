"""Live sync rules: which local files go into which running container, and what happens next."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator

from devkit.model.base import Model


class Restart(Model):
    """Restart the service's process after a sync.

    `preload` names Python modules to keep imported between restarts (e.g. ["psycopg"]): the
    service's Python process is then forked from a parent that already imported them, so a
    restart pays only for the application's own code. It applies when the command runs a Python
    interpreter directly (`python -m app`, `python3 main.py`).
    """

    kind: Literal["restart"] = "restart"
    preload: tuple[str, ...] = ()

    @field_validator("preload")
    @classmethod
    def _module_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not all(part.isidentifier() for part in name.split(".")):
                raise ValueError(f'"{name}" is not a Python module name')
        return value


class Run(Model):
    """Run a command in the container after a sync, e.g. `pip install -r requirements.txt`.

    `when` limits it to changes of the listed files (paths relative to the sync source).
    """

    kind: Literal["run"] = "run"
    command: tuple[str, ...] = Field(min_length=1)
    when: tuple[str, ...] = ()

    def __init__(self, *command: str, **fields: Any) -> None:
        super().__init__(**({"command": command} if command else {}), **fields)


SyncAction = Annotated[Restart | Run, Field(discriminator="kind")]


class Sync(Model):
    """Copy `src` (relative to blueprint.py) to `dest` in the container on every change.

    `then` is what follows a sync: `Restart()`, `Run(...)`, or nothing (the app reloads itself).
    """

    src: str
    dest: str
    then: tuple[SyncAction, ...] = ()
    ignore: tuple[str, ...] = ()

    def __init__(self, src: str, dest: str, **fields: Any) -> None:
        super().__init__(**{"src": src, "dest": dest, **fields})

    @field_validator("then", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, Restart | Run | dict) else value

    @field_validator("src")
    @classmethod
    def _relative(cls, value: str) -> str:
        path = PurePosixPath(value)
        if path.is_absolute() or ".." in path.parts:
            raise ValueError(f'sync source "{value}" must be relative to blueprint.py')
        return str(path)

    @field_validator("dest")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(
                f'sync destination "{value}" must be an absolute path in the container'
            )
        return str(PurePosixPath(value))
