"""devkit's cache directory: derived data only (sync timings, remembered forward ports, the
running watcher's forwards); deleting it loses nothing that matters."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """`DEVKIT_CACHE`, else ~/.cache/devkit."""
    return Path(os.environ.get("DEVKIT_CACHE") or Path.home() / ".cache" / "devkit")
