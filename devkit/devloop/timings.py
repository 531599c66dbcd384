"""Recent save-to-serve timings, kept in devkit's cache directory for `devkit status`.

Derived data only: deleting the cache directory loses nothing that matters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devkit.project.cache import cache_dir, read_entries, write_entries

KEEP = 20


def _file(project: str, env: str) -> Path:
    return cache_dir() / "syncs" / f"{project}-{env}.json"


def record(project: str, env: str, entry: dict[str, Any]) -> None:
    """Add one sync's timing; only the last few are kept."""
    write_entries(_file(project, env), [*recent(project, env), entry][-KEEP:])


def recent(project: str, env: str) -> list[dict[str, Any]]:
    """The last syncs, oldest first (empty when none are known)."""
    return read_entries(_file(project, env))
