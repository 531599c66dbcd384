"""Open a Docker environment's target on the local engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devkit.build.engine import connected
from devkit.model.targets import Target
from devkit.planning.planner import Plan
from devkit.targets.docker.target import DockerTarget
from devkit.targets.registry import Options


def target_class(declared: Target) -> type:
    return DockerTarget


@contextmanager
def open_target(plan: Plan, options: Options) -> Iterator[DockerTarget]:
    with connected() as client:
        yield DockerTarget(client, plan.project, plan.environment)
