"""devkit's cache directory: derived data only (sync timings, remembered forward ports, the
running watcher's forwards); deleting it loses nothing that matters."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def cache_dir() -> Path:
    """`DEVKIT_CACHE`, else ~/.cache/devkit."""
    return Path(os.environ.get("DEVKIT_CACHE") or Path.home() / ".cache" / "devkit")


def read_entries(path: Path) -> list[dict[str, Any]]:
    """A cached list of entries, oldest first; empty when missing or unreadable."""
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []


def write_entries(path: Path, entries: list[dict[str, Any]]) -> None:
    """Replace a cached list at once (a reader never sees half of it); a cache that cannot be
    written only costs the history."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entries))
        tmp.replace(path)
    except OSError:
        pass
