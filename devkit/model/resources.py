"""Compute resources and autoscaling of one service."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator

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


class Autoscale(Model):
    """Horizontal autoscaling between `min` and `max` replicas at a target CPU utilisation (%)."""

    min: int = Field(default=1, ge=0)
    max: int = Field(ge=1)
    cpu: int = Field(default=80, ge=1, le=100)

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.min > self.max:
            raise ValueError(f"autoscale min {self.min} is above max {self.max}")
        return self
