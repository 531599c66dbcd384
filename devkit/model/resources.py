"""Compute resources and autoscaling of one service."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from devkit.model.base import Model
from devkit.model.quantity import Cpu, Memory, cpu_millicores, memory_bytes


class Resources(Model):
    """CPU and memory requests (what the scheduler reserves) and optional limits."""

    cpu: Cpu | None = None
    memory: Memory | None = None
    cpu_limit: Cpu | None = None
    memory_limit: Memory | None = None

    @model_validator(mode="after")
    def _limits_not_below_requests(self) -> Self:
        if (
            self.cpu
            and self.cpu_limit
            and cpu_millicores(self.cpu_limit) < cpu_millicores(self.cpu)
        ):
            raise ValueError(f"cpu limit {self.cpu_limit} is below its request {self.cpu}")
        if (
            self.memory
            and self.memory_limit
            and memory_bytes(self.memory_limit) < memory_bytes(self.memory)
        ):
            raise ValueError(f"memory limit {self.memory_limit} is below its request {self.memory}")
        return self


STABILISATION_MAX = 3600
"""The longest stabilisation window Kubernetes accepts (seconds)."""


class Autoscale(Model):
    """Horizontal autoscaling between `min` and `max` replicas at a target CPU utilisation (%).

    `scale_down_window` and `scale_up_window` (seconds, 0 to 3600) are the autoscaler's
    stabilisation windows: it scales down (up) only to the highest (lowest) count it computed
    within that window, so short dips and spikes do not flap the replica count. Unset, the
    cluster's defaults hold (Kubernetes: 300 s down, 0 s up)."""

    min: int = Field(default=1, ge=0)
    max: int = Field(ge=1)
    cpu: int = Field(default=80, ge=1, le=100)
    scale_down_window: int | None = Field(default=None, ge=0, le=STABILISATION_MAX)
    scale_up_window: int | None = Field(default=None, ge=0, le=STABILISATION_MAX)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"autoscale min {self.min} is above max {self.max}")
        return self

    @model_serializer(mode="wrap")
    def _without_unset_windows(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Unset windows are left out, so plans and spec hashes made before they existed keep."""
        data: dict[str, Any] = handler(self)
        for name in ("scale_down_window", "scale_up_window"):
            if data.get(name, 0) is None:
                del data[name]
        return data
