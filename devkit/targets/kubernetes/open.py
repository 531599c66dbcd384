"""Open a Kubernetes or Kind environment's target; the API server is reached on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from devkit.model.targets import Kind, Target
from devkit.planning.planner import Plan
from devkit.targets.base import ClusterNotChosenError
from devkit.targets.kubernetes.cluster import ClusterTarget, KindTarget
from devkit.targets.registry import Options


def target_class(declared: Target) -> type:
    return KindTarget if isinstance(declared, Kind) else ClusterTarget


@contextmanager
def open_target(plan: Plan, options: Options) -> Iterator[ClusterTarget]:
    declared = plan.target
    clusters = [c.name for c in getattr(declared, "clusters", ())]
    if clusters:
        # deploy, promote, rollback and releases open each cluster's own target (one wave
        # each), the others one cluster's (--cluster): never the kubeconfig's current context
        raise ClusterNotChosenError(plan.environment, clusters, narrows=False)
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
