"""Where a service's pods may run under a capacity profile: node labels, taints, shutdown timing.

Pure data, decided by the planner so that render, cost and deploy all see the same placement.
The label and taint names are the providers' own (see docs/render.md for the table).
"""

from __future__ import annotations

from typing import Literal

from devkit.model.base import Model
from devkit.model.profile import Profile, Provider

SPOT_LABELS: dict[Provider, tuple[str, str]] = {
    "aks": ("kubernetes.azure.com/scalesetpriority", "spot"),
    "eks": ("eks.amazonaws.com/capacityType", "SPOT"),
    "gke": ("cloud.google.com/gke-spot", "true"),
    "karpenter": ("karpenter.sh/capacity-type", "spot"),
}
SPOT_TAINTS: dict[Provider, tuple[str, str]] = {
    "aks": ("kubernetes.azure.com/scalesetpriority", "spot"),
    "gke": ("cloud.google.com/gke-spot", "true"),
}


class NodeRequirement(Model):
    """A node label requirement (a Kubernetes node selector requirement)."""

    key: str
    operator: Literal["In", "NotIn"]
    values: tuple[str, ...]


class Toleration(Model):
    """Pods may run on nodes carrying this NoSchedule taint."""

    key: str
    value: str
    effect: Literal["NoSchedule"] = "NoSchedule"


class Placement(Model):
    """A service's capacity type and what puts its pods there.

    `node_terms`: a node qualifies when it meets every requirement of any one term. With
    `affinity="preferred"` (spot with fallback) the terms are preferences, not requirements.
    """

    capacity: Literal["spot", "on-demand"]
    affinity: Literal["required", "preferred"]
    node_terms: tuple[tuple[NodeRequirement, ...], ...]
    tolerations: tuple[Toleration, ...] = ()
    spread: bool = False
    termination_grace: int | None = None
    pre_stop: int | None = None


def _requirement(provider: Provider, operator: Literal["In", "NotIn"]) -> NodeRequirement:
    key, value = SPOT_LABELS[provider]
    return NodeRequirement(key=key, operator=operator, values=(value,))


def placement(profile: Profile, *, stateful: bool) -> Placement:
    """The placement of one service under `profile`; stateful services stay off spot by default."""
    if profile.capacity == "spot" and (profile.stateful_on_spot or not stateful):
        return Placement(
            capacity="spot",
            affinity="preferred" if profile.fallback else "required",
            node_terms=tuple(
                (
                    NodeRequirement(
                        key=SPOT_LABELS[p][0], operator="In", values=(SPOT_LABELS[p][1],)
                    ),
                )
                for p in profile.providers
            ),
            tolerations=tuple(
                Toleration(key=SPOT_TAINTS[p][0], value=SPOT_TAINTS[p][1])
                for p in profile.providers
                if p in SPOT_TAINTS
            ),
            spread=profile.spread,
            termination_grace=profile.termination_grace,
            pre_stop=profile.pre_stop,
        )
    on_spot_profile = profile.capacity == "spot"
    return Placement(
        capacity="on-demand",
        affinity="required",
        node_terms=(
            tuple(
                NodeRequirement(
                    key=SPOT_LABELS[p][0], operator="NotIn", values=(SPOT_LABELS[p][1],)
                )
                for p in profile.providers
            ),
        ),
        spread=profile.spread,
        termination_grace=None if on_spot_profile else profile.termination_grace,
        pre_stop=None if on_spot_profile else profile.pre_stop,
    )
