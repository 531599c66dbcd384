"""The one place that knows which engine runs which kind of target: it opens the target an
environment declares. Adding a target (Podman, Nomad, ...) is one subpackage and one line in
ENGINES."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from devkit.model.blueprint import Blueprint
from devkit.planning.planner import Plan
from devkit.targets.base import members


@dataclass(frozen=True)
class Options:
    """Per-command overrides of where a target is: --context, and apply behaviour."""

    context: str | None = None
    force_conflicts: bool = False
    forwards: Callable[[], Mapping[str, str]] = dict
    """The running watcher's forwards (service.port -> 127.0.0.1:PORT), for status."""


ENGINES: dict[str, str] = {
    "docker": "devkit.targets.docker.open",
    "swarm": "devkit.targets.swarm.open",
    "kubernetes": "devkit.targets.kubernetes.open",
    "kind": "devkit.targets.kubernetes.open",
}
"""Target kind -> the module whose `open_target(plan, options)` opens it."""


@contextmanager
def open_target(plan: Plan, options: Options | None = None) -> Iterator[object]:
    """The target `plan`'s environment declares, opened (and closed after)."""
    module = importlib.import_module(ENGINES[plan.target.kind])
    with module.open_target(plan, options or Options()) as target:
        yield target


def capable(blueprint: Blueprint, capability: type) -> list[str]:
    """The environments whose targets have `capability` (for error messages)."""
    found = []
    for name, environment in blueprint.environments.items():
        module = importlib.import_module(ENGINES[environment.target.kind])
        cls = module.target_class(environment.target)
        # attributes an instance sets in __init__ are declared on the class as annotations
        declared = {n for c in cls.__mro__ for n in getattr(c, "__annotations__", {})}
        if all(hasattr(cls, m) or m in declared for m in members(capability)):
            found.append(name)
    return found
