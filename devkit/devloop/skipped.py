"""Recently skipped paths: saves the live-sync loop neither synced nor rebuilt, with why, kept in
devkit's cache directory for `devkit status`.

Derived data only, like the sync timings beside it: deleting the cache directory loses nothing
that matters. Files the watcher's default filter drops (editor swap files, bytecode) never reach
the loop and are not recorded: they would drown the ones a user wonders about.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from devkit.project.cache import cache_dir, read_entries, write_entries

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
    write_entries(_file(project, env), [*kept, *found][-KEEP:])


def recent(project: str, env: str) -> list[dict[str, Any]]:
    """The last skipped paths, oldest first (empty when none are known)."""
    return read_entries(_file(project, env))
