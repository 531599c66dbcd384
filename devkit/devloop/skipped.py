"""Recently skipped paths: saves the live-sync loop neither synced nor rebuilt, with why, kept in
devkit's cache directory for `devkit status`.

Derived data only, like the sync timings beside it: deleting the cache directory loses nothing
that matters. Files the watcher's default filter drops (editor swap files, bytecode) never reach
the loop and are not recorded: they would drown the ones a user wonders about.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.project.cache import cache_dir

if TYPE_CHECKING:  # a type only: `devkit status` reads the file without the explainer's imports
    from devkit.devloop.explain import Explainer

KEEP = 20


def _file(project: str, env: str) -> Path:
    return cache_dir() / "skipped" / f"{project}-{env}.json"


def entries(explainer: Explainer, changes: Iterable[tuple[bool, Path]]) -> list[dict[str, Any]]:
    """The changed files of one burst that reach no service, as cache entries (newest last)."""
    now = round(time.time(), 3)
    found = []
    for explanation in explainer.skipped(changes, limit=KEEP):
        reasons = [
            e.text if e.service is None else f"{e.service}: {e.text}" for e in explanation.effects
        ]
        found.append({"path": explanation.path, "reason": "; ".join(reasons), "at": now})
    return found


def record(project: str, env: str, found: list[dict[str, Any]]) -> None:
    """Add skipped paths; only the last few are kept, one entry per path."""
    if not found:
        return
    paths = {entry["path"] for entry in found}
    kept = [e for e in recent(project, env) if e.get("path") not in paths]
    path = _file(project, env)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps([*kept, *found][-KEEP:]))
        tmp.replace(path)
    except OSError:
        pass  # a cache that cannot be written only costs the history


def recent(project: str, env: str) -> list[dict[str, Any]]:
    """The last skipped paths, oldest first (empty when none are known)."""
    try:
        data = json.loads(_file(project, env).read_text())
    except (OSError, ValueError):
        return []
    return data if isinstance(data, list) else []
