"""Open a Swarm environment's target on the local engine (a swarm manager)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devkit.build.engine import connected
from devkit.model.targets import Target
from devkit.planning.planner import Plan
from devkit.targets.registry import Options
from devkit.targets.swarm.target import SwarmTarget


def target_class(declared: Target) -> type:
    return SwarmTarget


@contextmanager
def open_target(plan: Plan, options: Options) -> Iterator[SwarmTarget]:
    with connected() as client:
        yield SwarmTarget(client, plan.project, plan.environment)
