"""Route file events to what they mean for each service: files to copy or delete, restarts,
commands to run, or a rebuild. Pure: paths in, decisions out.

A changed path under a sync rule's source is synced (unless ignored). A changed path in a build
context that no sync rule of that service covers, and that .dockerignore does not exclude, means
that service's image must be rebuilt.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from devkit.build.context import ignore_spec
from devkit.model.sync import Restart, Run, Sync
from devkit.planning.planner import Plan

DEFAULT_IGNORES = (
    "**/__pycache__/", "**/*.pyc", "**/.git/", "**/.hg/", "**/.svn/", "**/.DS_Store",
    "**/*.swp", "**/*.swx", "**/*.swo", "**/*~", "**/.#*", "**/#*#", "**/4913",
    "**/.mypy_cache/", "**/.pytest_cache/", "**/.ruff_cache/", "**/node_modules/.cache/",
)  # fmt: skip
"""Never synced: caches, VCS folders and editor temporary files."""


@dataclass(frozen=True)
class WatchRule:
    """One sync rule, resolved against the project root."""

    service: str
    src: Path
    dest: str
    actions: tuple[Restart | Run, ...]
    ignore: pathspec.PathSpec[pathspec.Pattern]

    def dest_of(self, path: Path) -> str:
        rel = _relative(path, self.src)
        return self.dest if not rel else f"{self.dest.rstrip('/')}/{rel}"

    def covers(self, path: Path) -> bool:
        return _within(path, self.src)

    def ignores(self, path: Path) -> bool:
        rel = _relative(path, self.src)
        if not rel:
            return False
        # A directory pattern ("cache/") matches a directory only when asked with a slash.
        return self.ignore.match_file(rel) or (path.is_dir() and self.ignore.match_file(rel + "/"))


@dataclass(frozen=True)
class BuildWatch:
    """A build context whose changes (outside sync rules) rebuild the service."""

    service: str
    context: Path
    ignore: pathspec.PathSpec[pathspec.Pattern]

    def needs_rebuild(self, path: Path, rules: Sequence[WatchRule]) -> bool:
        rel = _relative(path, self.context)
        if not rel or not _within(path, self.context):
            return False
        if any(r.service == self.service and r.covers(path) for r in rules):
            return False
        if "__pycache__" in rel.split("/"):
            return False
        return not self.ignore.match_file(rel)


def _within(path: Path, folder: Path) -> bool:
    text, top = str(path), str(folder)
    return text == top or text.startswith(top.rstrip("/") + "/")


def _relative(path: Path, folder: Path) -> str:
    """`path` relative to `folder` as a POSIX string ("" for the folder itself); string-based,
    because batches of thousands of paths pass through here."""
    text, top = str(path), str(folder).rstrip("/")
    return text[len(top) + 1 :] if text.startswith(top + "/") else ""


@dataclass
class Batch:
    """What one service gets from one burst of file events."""

    service: str
    copies: dict[str, Path] = field(default_factory=dict)  # container path -> local path
    deletes: list[str] = field(default_factory=list)
    restart: bool = False
    runs: list[Run] = field(default_factory=list)
    rebuild: bool = False
    local_paths: list[Path] = field(default_factory=list)

    @property
    def files(self) -> int:
        return len(self.copies) + len(self.deletes)


def _spec(patterns: Iterable[str]) -> pathspec.PathSpec[pathspec.Pattern]:
    return pathspec.PathSpec.from_lines("gitignore", list(patterns))


def watch_rules(plan: Plan, root: Path, services: set[str] | None = None) -> list[WatchRule]:
    """The plan's sync rules (local targets only have them), with their ignore patterns."""
    gitignore = root / ".gitignore"
    project_ignores = gitignore.read_text().splitlines() if gitignore.is_file() else []
    rules = []
    for service in plan.services:
        if services is not None and service.name not in services:
            continue
        for rule in service.sync:
            rules.append(_rule(service.name, rule, root, project_ignores))
    return rules


def _rule(service: str, rule: Sync, root: Path, project_ignores: list[str]) -> WatchRule:
    src = root / rule.src
    return WatchRule(
        service=service,
        src=src,
        dest=rule.dest,
        actions=rule.then,
        ignore=_spec([*DEFAULT_IGNORES, *project_ignores, *rule.ignore]),
    )


def build_watches(plan: Plan, root: Path, services: set[str] | None = None) -> list[BuildWatch]:
    """The build contexts of the plan's built services, with their .dockerignore."""
    found = []
    for service in plan.services:
        if service.build is None or (services is not None and service.name not in services):
            continue
        context = root / service.build.context
        found.append(BuildWatch(service.name, context, ignore_spec(context)))
    return found


def watched_paths(rules: Sequence[WatchRule], builds: Sequence[BuildWatch]) -> list[Path]:
    """The smallest set of paths to watch: sync sources and build contexts, nested ones dropped."""
    candidates = sorted({r.src for r in rules} | {b.context for b in builds})
    kept: list[Path] = []
    for path in candidates:
        if not any(k == path or k in path.parents for k in kept):
            kept.append(path)
    return kept


def _add_actions(batch: Batch, rule: WatchRule, path: Path) -> None:
    """The rule's restart, and its commands whose `when` patterns match the changed path."""
    rel = _relative(path, rule.src) or path.name
    for action in rule.actions:
        if isinstance(action, Restart):
            batch.restart = True
        elif (not action.when or any(fnmatch.fnmatch(rel, w) for w in action.when)) and (
            action not in batch.runs
        ):
            batch.runs.append(action)


def route(
    changes: Iterable[tuple[bool, Path]],
    rules: Sequence[WatchRule],
    builds: Sequence[BuildWatch],
) -> dict[str, Batch]:
    """Group changes by service. Each change is (exists now, path)."""
    batches: dict[str, Batch] = {}
    for exists, path in changes:
        for rule in rules:
            if not rule.covers(path) or rule.ignores(path):
                continue
            batch = batches.setdefault(rule.service, Batch(rule.service))
            dest = rule.dest_of(path)
            if exists and not path.is_dir():
                batch.copies[dest] = path
            elif not exists:
                batch.deletes.append(dest)
            else:
                continue
            batch.local_paths.append(path)
            _add_actions(batch, rule, path)
        for build in builds:
            if build.needs_rebuild(path, rules):
                batches.setdefault(build.service, Batch(build.service)).rebuild = True
    return batches
