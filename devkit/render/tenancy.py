"""A tenant's share of the cluster: a ResourceQuota and a LimitRange from its tier.

The quota caps what all of the tenant's pods request and may use (cpu, memory, pod count), so
one tenant cannot starve another; the LimitRange gives containers that declare nothing the
tier's defaults (a quota refuses pods without requests) and refuses a container larger than
the tier allows.
"""

from __future__ import annotations

from typing import Any

from devkit.planning.planner import Plan
from devkit.render import labels

QUOTA = "devkit-tenant"


def objects(plan: Plan, namespace: str) -> list[dict[str, Any]]:
    """The quota and limit range of the plan's tenant; none for a plan without a tenant."""
    tier = plan.tier
    if tier is None:
        return []
    meta = labels.metadata(QUOTA, namespace, {**labels.common(plan), "devkit.dev/tier": tier.name})
    quota = {
        "apiVersion": "v1",
        "kind": "ResourceQuota",
        "metadata": meta,
        "spec": {
            "hard": {
                "requests.cpu": tier.cpu, "limits.cpu": tier.cpu,
                "requests.memory": tier.memory, "limits.memory": tier.memory,
                "pods": str(tier.pods),
            }
        },
    }  # fmt: skip
    defaults = {"cpu": tier.default_cpu, "memory": tier.default_memory}
    limits = {
        "apiVersion": "v1",
        "kind": "LimitRange",
        "metadata": meta,
        "spec": {
            "limits": [
                {
                    "type": "Container",
                    "default": defaults,
                    "defaultRequest": defaults,
                    "max": {"cpu": tier.container_cpu, "memory": tier.container_memory},
                }
            ]
        },
    }
    return [quota, limits]
