"""Recent save-to-serve timings, kept in devkit's cache directory for `devkit status`.

Derived data only: deleting the cache directory loses nothing that matters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devkit.project.cache import cache_dir

KEEP = 20


def _file(project: str, env: str) -> Path:
    return cache_dir() / "syncs" / f"{project}-{env}.json"


def record(project: str, env: str, entry: dict[str, Any]) -> None:
    """Add one sync's timing; only the last few are kept."""
    path = _file(project, env)
    entries = [*recent(project, env), entry][-KEEP:]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs the history


def recent(project: str, env: str) -> list[dict[str, Any]]:
    """The last syncs, oldest first (empty when none are known)."""
    try:
        data = json.loads(_file(project, env).read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []
