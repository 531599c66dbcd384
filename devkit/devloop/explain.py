"""What a save of a path would do, and why: `devkit explain PATH...` and the skipped paths that
`devkit status` shows. Pure: paths, the plan and the ignore files in, explanations out.

The decisions are the live-sync loop's own (`WatchRule.covers/ignores`, `BuildWatch.needs_rebuild`
and watchfiles' default filter); this module only adds which rule, which destination, which
action, and which pattern (with the file and line it came from) excluded a path.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pathspec
from watchfiles import DefaultFilter

from devkit.build.context import dockerignore_patterns
from devkit.devloop.rules import (
    DEFAULT_IGNORES,
    BuildWatch,
    WatchRule,
    build_watches,
    watch_rules,
    watched_paths,
)
from devkit.model.sync import Restart, Run, Sync
from devkit.planning.planner import Plan

Action = Literal["sync", "rebuild", "nothing"]


@dataclass(frozen=True)
class Effect:
    """What a save does for one service (`service` None: for none of them)."""

    service: str | None
    action: Action
    text: str
    dest: str | None = None
    then: tuple[str, ...] = ()
    excluded_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service, "action": self.action, "text": self.text, "dest": self.dest,
            "then": list(self.then), "excluded_by": self.excluded_by,
        }  # fmt: skip


@dataclass(frozen=True)
class Explanation:
    """One path and what a save of it would do."""

    path: str  # relative to the project root when inside it
    effects: tuple[Effect, ...] = field(default_factory=tuple)

    @property
    def skipped(self) -> bool:
        """Neither synced nor rebuilt anywhere."""
        return all(e.action == "nothing" for e in self.effects)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "skipped": self.skipped,
            "effects": [e.to_dict() for e in self.effects],
        }


@dataclass(frozen=True)
class _Labelled:
    """One ignore pattern, compiled alone, with where it was written."""

    pattern: str
    origin: str
    spec: pathspec.PathSpec[pathspec.Pattern]

    @classmethod
    def of(cls, pattern: str, origin: str) -> _Labelled:
        return cls(pattern, origin, pathspec.PathSpec.from_lines("gitignore", [pattern]))


def _deciding(patterns: Sequence[_Labelled], rel: str, is_dir: bool) -> _Labelled | None:
    """The pattern that decides `rel` as gitignore does (the last one matching), if it excludes."""
    for labelled in reversed(patterns):
        result = labelled.spec.check_file(rel)
        if result.include is None and is_dir:
            result = labelled.spec.check_file(rel + "/")
        if result.include is not None:
            return labelled if result.include else None
    return None


def watcher_drops(path: Path) -> str | None:
    """Why watchfiles' default filter (which the live-sync loop uses) drops `path`, or None."""
    default = DefaultFilter()
    parts = path.parts[1:] if path.is_absolute() else path.parts
    for part in parts:
        if part in default.ignore_dirs:
            return f'the file watcher\'s default filter drops everything under a "{part}" folder'
    for pattern in default.ignore_entity_patterns:
        if re.search(pattern, parts[-1]):
            return f"the file watcher's default filter drops names matching /{pattern}/"
    return None


def _relative_to(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


class Explainer:
    """Explains paths against one planned environment and its project root."""

    def __init__(self, plan: Plan, root: Path, services: set[str] | None = None) -> None:
        self.plan = plan
        self.root = root
        self.rules = watch_rules(plan, root, services)
        self.builds = build_watches(plan, root, services)
        self.watched = watched_paths(self.rules, self.builds)
        syncs = [
            rule
            for service in plan.services
            if services is None or service.name in services
            for rule in service.sync
        ]
        gitignore = root / ".gitignore"
        project = [
            (line.strip(), f".gitignore:{number}")
            for number, line in enumerate(
                gitignore.read_text().splitlines() if gitignore.is_file() else [], start=1
            )
            if line.strip() and not line.strip().startswith("#")
        ]
        self._rule_patterns = [self._sync_patterns(sync, project) for sync in syncs]
        self._build_patterns = [
            [
                _Labelled.of(pattern, f"{_relative_to(b.context, root)}/.dockerignore:{number}")
                for number, pattern in dockerignore_patterns(b.context)
            ]
            for b in self.builds
        ]

    @staticmethod
    def _sync_patterns(sync: Sync, project: list[tuple[str, str]]) -> list[_Labelled]:
        return [
            *(_Labelled.of(p, "devkit's default ignores (caches, VCS, editor files)")
              for p in DEFAULT_IGNORES),
            *(_Labelled.of(p, origin) for p, origin in project),
            *(_Labelled.of(p, "the sync rule's ignore=") for p in sync.ignore),
        ]  # fmt: skip

    # --- one path ---------------------------------------------------------------------------
    def explain(self, path: Path) -> Explanation:
        """What a save of `path` (absolute) would do for each service."""
        shown = _relative_to(path, self.root)
        if not any(path == w or w in path.parents for w in self.watched):
            where = ", ".join(_relative_to(w, self.root) or "." for w in self.watched) or "none"
            why = (
                f'not under any sync source or build context of "{self.plan.environment}" '
                f"(watched: {where})"
            )
            return Explanation(shown, (Effect(None, "nothing", why),))
        dropped = watcher_drops(path)
        if dropped is not None:
            return Explanation(shown, (Effect(None, "nothing", dropped, excluded_by=dropped),))
        effects = [e for i, r in enumerate(self.rules) if (e := self._sync_effect(r, i, path))]
        effects += [e for i, b in enumerate(self.builds) if (e := self._build_effect(b, i, path))]
        return Explanation(shown, tuple(effects))

    def _sync_effect(self, rule: WatchRule, index: int, path: Path) -> Effect | None:
        if not rule.covers(path):
            return None
        source = f"sync rule {_relative_to(rule.src, self.root)} -> {rule.dest}"
        if rule.ignores(path):
            rel = path.relative_to(rule.src).as_posix()
            pattern = _deciding(self._rule_patterns[index], rel, path.is_dir())
            why = (
                f'pattern "{pattern.pattern}" of {pattern.origin}'
                if pattern
                else "an ignore pattern"
            )
            return Effect(rule.service, "nothing", f"{source} ignores it: {why}", excluded_by=why)
        dest = rule.dest_of(path)
        then = _actions(rule, path)
        follow = ", then " + " and ".join(then) if then else " (no action: the app reloads itself)"
        if path.is_dir():
            text = f"{source}: a folder; files saved in it are copied under {dest}{follow}"
        else:
            text = f"{source}: copied to {dest}{follow}"
        return Effect(rule.service, "sync", text, dest=dest, then=tuple(then))

    def _build_effect(self, build: BuildWatch, index: int, path: Path) -> Effect | None:
        if not (path == build.context or build.context in path.parents):
            return None
        context = _relative_to(build.context, self.root)
        if build.needs_rebuild(path, self.rules):
            return Effect(
                build.service, "rebuild",
                f"an input of its image (build context {context}; no sync rule of "
                f"{build.service} covers it): a save rebuilds the image and replaces the service",
            )  # fmt: skip
        if any(r.service == build.service and r.covers(path) for r in self.rules):
            return None  # the sync rule's effect says what happens
        if path == build.context:
            return Effect(
                build.service, "nothing",
                f"the build context of {build.service}: a file saved in it is an input of the "
                "image unless .dockerignore leaves it out or a sync rule covers it",
            )  # fmt: skip
        rel = path.relative_to(build.context).as_posix()
        if "__pycache__" in rel.split("/"):
            why = "Python's bytecode cache (__pycache__) is never a build input"
            return Effect(build.service, "nothing", why, excluded_by=why)
        pattern = _deciding(self._build_patterns[index], rel, False)
        why = (
            f'pattern "{pattern.pattern.lstrip("/")}" of {pattern.origin}'
            if pattern
            else ".dockerignore"
        )
        return Effect(
            build.service, "nothing", f"build context {context} leaves it out of the image: {why}",
            excluded_by=why,
        )  # fmt: skip

    # --- batches of changes -----------------------------------------------------------------
    def skipped(
        self, changes: Iterable[tuple[bool, Path]], limit: int | None = None
    ) -> list[Explanation]:
        """The changed files (not folders) that reach no service, each with why; only the last
        `limit` of them are explained (a branch switch can skip thousands)."""
        unrouted = []
        for exists, path in changes:
            if exists and path.is_dir():
                continue
            routed = any(r.covers(path) and not r.ignores(path) for r in self.rules) or any(
                b.needs_rebuild(path, self.rules) for b in self.builds
            )
            if not routed:
                unrouted.append(path)
        chosen = unrouted if limit is None else unrouted[-limit:] if limit else []
        return [self.explain(path) for path in chosen]


def _actions(rule: WatchRule, path: Path) -> list[str]:
    rel = path.relative_to(rule.src).as_posix() if path != rule.src else path.name
    done: list[str] = []
    for action in rule.actions:
        if isinstance(action, Restart):
            done.append("restart the process")
        elif isinstance(action, Run):
            command = " ".join(action.command)
            if not action.when or any(fnmatch.fnmatch(rel, w) for w in action.when):
                done.append(f"run `{command}`")
    return done
