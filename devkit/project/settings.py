"""Settings, in order of precedence: flag > DEVKIT_* variable > [tool.devkit] in pyproject.toml.

Each setting is documented once, in docs/settings.md.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devkit.errors import ConfigError
from devkit.planning.images import ImageMap, parse_rules

_KEYS = {"file", "default_env", "image_map", "backup_store"}


@dataclass(frozen=True)
class Settings:
    """What a command runs with, after flags, variables and pyproject.toml are combined."""

    file: Path | None = None
    default_env: str = "local"
    image_map: ImageMap = field(default_factory=lambda: ImageMap(exact={}))
    backup_store: str = "backups"
    """Where backups are kept: a directory (relative to the project) or s3://BUCKET/PREFIX."""


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml at or above `start`."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def _tool_table(pyproject: Path) -> Mapping[str, Any]:
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{pyproject}: cannot read [tool.devkit]: {exc}") from None
    table = data.get("tool", {}).get("devkit", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{pyproject}: [tool.devkit] must be a table")
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigError(
            f"{pyproject}: [tool.devkit] has unknown keys: {', '.join(unknown)}",
            details=[f"known keys: {', '.join(sorted(_KEYS))} (see docs/settings.md)"],
        )
    image_map = table.get("image_map", {})
    if not isinstance(image_map, dict) or not all(isinstance(v, str) for v in image_map.values()):
        raise ConfigError(
            f'{pyproject}: [tool.devkit.image_map] must map image to image, e.g. "postgres:16" = '
            '"mirror.internal/postgres:16"'
        )
    return table


def load_settings(
    *,
    file: Path | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Combine the sources; a relative `file` in pyproject.toml is relative to that file."""
    cwd = cwd or Path.cwd()
    environ = os.environ if environ is None else environ
    pyproject = find_pyproject(cwd)
    table = _tool_table(pyproject) if pyproject else {}
    if file is None and environ.get("DEVKIT_FILE"):
        file = Path(environ["DEVKIT_FILE"])
    if file is None and "file" in table and pyproject is not None:
        file = pyproject.parent / str(table["file"])
    default_env = environ.get("DEVKIT_DEFAULT_ENV") or str(table.get("default_env", "local"))
    rules = dict(table.get("image_map", {}))
    if environ.get("DEVKIT_IMAGE_MAP"):
        rules.update(parse_rules(environ["DEVKIT_IMAGE_MAP"], source="DEVKIT_IMAGE_MAP"))
    backup_store = environ.get("DEVKIT_BACKUP_STORE") or str(table.get("backup_store", "backups"))
    return Settings(file=file, default_env=default_env, image_map=ImageMap.from_rules(rules),
                    backup_store=backup_store)  # fmt: skip
