"""Stock capacity profiles: `staging` on spot, `prod` on demand."""

from __future__ import annotations

from devkit.model.profile import Profile


def spot(*, min_replicas: int = 2, fallback: bool = False) -> Profile:
    """Run on spot capacity, with at least `min_replicas` replicas of every stateless service."""
    return Profile(capacity="spot", min_replicas=min_replicas, fallback=fallback)


def on_demand() -> Profile:
    """Run on on-demand capacity only."""
    return Profile(capacity="on-demand")


__all__ = ["Profile", "on_demand", "spot"]
