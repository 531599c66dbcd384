"""Capacity profiles an environment runs under (spot or on-demand); see devkit.profiles."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from devkit.model.base import Model


class Profile(Model):
    """How an environment's workloads are placed and sized.

    The planner applies it to every service that is not stateful: `min_replicas` raises the
    replica count (spot capacity is reclaimed at short notice, so one replica is never enough).
    """

    capacity: Literal["spot", "on-demand"]
    min_replicas: int = Field(default=1, ge=1)
    fallback: bool = Field(default=False, description="prefer spot, fall back to on-demand")
