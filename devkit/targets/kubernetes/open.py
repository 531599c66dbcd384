"""Open a Kubernetes or Kind environment's target; the API server is reached on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devkit.model.targets import Kind, Target
from devkit.planning.planner import Plan
from devkit.targets.kubernetes.cluster import ClusterTarget, KindTarget
from devkit.targets.registry import Options


def target_class(declared: Target) -> type:
    return KindTarget if isinstance(declared, Kind) else ClusterTarget


@contextmanager
def open_target(plan: Plan, options: Options) -> Iterator[ClusterTarget]:
    declared = plan.target
    if isinstance(declared, Kind):
        target: ClusterTarget = KindTarget(
            plan, declared, context=options.context, force_conflicts=options.force_conflicts,
            forwards=options.forwards,
        )  # fmt: skip
    else:
        target = ClusterTarget(
            plan, context=options.context or getattr(declared, "context", None),
            force_conflicts=options.force_conflicts, forwards=options.forwards,
        )  # fmt: skip
    try:
        yield target
    finally:
        target.close()
