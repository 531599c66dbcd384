"""Stock capacity profiles: `staging` on spot, `prod` on demand.

    app.environment("staging", Kubernetes(), profile=spot(provider="eks"), replicas=2)
    app.environment("prod", Kubernetes(), profile=on_demand(provider="eks"))

A bad argument is a BlueprintError pointing at the user's call, like any declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from devkit.errors import BlueprintError
from devkit.model.profile import PROVIDERS, Profile, Uptime
from devkit.model.resources import Resources
from devkit.model.validation import error_lines
from devkit.source import caller_location

SPOT_GRACE = 25
"""Seconds a pod on spot gets to stop: inside the shortest (30 s) reclaim notice, with margin."""
SPOT_PRE_STOP = 5
"""Seconds a pod keeps serving after it is told to stop, while endpoints stop sending to it."""


def _profile(what: str, fields: dict[str, Any]) -> Profile:
    location = caller_location()
    try:
        return Profile.model_validate(fields)
    except ValidationError as exc:
        # The model's field is `providers`; the argument users pass is `provider`.
        lines = [line.replace("providers: ", "provider: ", 1) for line in error_lines(exc)]
        raise BlueprintError(f"{what}: {lines[0]}", location=location, details=lines[1:]) from None


def spot(
    *,
    provider: str | Sequence[str] = "all",
    min_replicas: int = 2,
    fallback: bool = False,
    termination_grace: int = SPOT_GRACE,
    pre_stop: int = SPOT_PRE_STOP,
    spread: bool = True,
    stateful_on_spot: bool = False,
    right_size: bool = True,
    default_requests: Resources | None = None,
    uptime: Uptime | None = None,
) -> Profile:
    """Run stateless services on spot capacity, at least `min_replicas` of each.

    `provider` is one of aks, eks, gke, karpenter, a list of them, or "all" (every provider's
    labels and taints at once). `fallback=True` prefers spot but lets pods land on on-demand
    nodes when no spot node is free. Stateful services stay on on-demand capacity unless
    `stateful_on_spot=True`: a reclaimed node takes a database down with it.
    """
    fields: dict[str, Any] = {
        "capacity": "spot", "providers": provider, "min_replicas": min_replicas,
        "fallback": fallback, "termination_grace": termination_grace, "pre_stop": pre_stop,
        "spread": spread, "stateful_on_spot": stateful_on_spot, "right_size": right_size,
        "uptime": uptime,
    }  # fmt: skip
    if default_requests is not None:
        fields["default_requests"] = default_requests
    return _profile("spot()", fields)


def on_demand(
    *,
    provider: str | Sequence[str] = "all",
    min_replicas: int = 1,
    termination_grace: int | None = None,
    pre_stop: int | None = None,
    spread: bool = True,
    right_size: bool = True,
    default_requests: Resources | None = None,
    uptime: Uptime | None = None,
) -> Profile:
    """Run every service on on-demand capacity only, kept off the providers' spot nodes."""
    fields: dict[str, Any] = {
        "capacity": "on-demand", "providers": provider, "min_replicas": min_replicas,
        "termination_grace": termination_grace, "pre_stop": pre_stop, "spread": spread,
        "right_size": right_size, "uptime": uptime,
    }  # fmt: skip
    if default_requests is not None:
        fields["default_requests"] = default_requests
    return _profile("on_demand()", fields)


__all__ = ["PROVIDERS", "Profile", "Uptime", "on_demand", "spot"]
