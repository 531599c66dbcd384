"""Tenants of an environment: one namespace each, sized by a tier, isolated from one another."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model, Name
from devkit.model.quantity import Cpu, Memory, cpu_millicores, memory_bytes
from devkit.model.service import Overrides, Service


class Tier(Model):
    """What one tenant's namespace may use: a ResourceQuota over all its pods (`cpu`, `memory`:
    requests and limits alike; `pods`) and a LimitRange per container (defaults for containers
    that declare nothing, and a maximum)."""

    name: Name
    cpu: Cpu
    memory: Memory
    pods: int = Field(ge=1)
    container_cpu: Cpu = Field(description="the most one container may ask for")
    container_memory: Memory = Field(description="the most one container may ask for")
    default_cpu: Cpu = Field(default="100m", description="for containers that declare none")
    default_memory: Memory = Field(default="128Mi", description="for containers that declare none")

    @model_validator(mode="after")
    def _consistent(self) -> Tier:
        pairs = (
            ("default_cpu", "container_cpu", cpu_millicores),
            ("container_cpu", "cpu", cpu_millicores),
            ("default_memory", "container_memory", memory_bytes),
            ("container_memory", "memory", memory_bytes),
        )
        for small, large, amount in pairs:
            given, most = getattr(self, small), getattr(self, large)
            if amount(given) > amount(most):
                raise ValueError(f"{small} ({given}) is more than {large} ({most})")
        return self


TIERS = {
    tier.name: tier
    for tier in (
        Tier(name="small", cpu="2", memory="4Gi", pods=20, container_cpu="1",
             container_memory="1Gi"),
        Tier(name="standard", cpu="8", memory="16Gi", pods=60, container_cpu="2",
             container_memory="4Gi"),
        Tier(name="large", cpu="32", memory="64Gi", pods=200, container_cpu="4",
             container_memory="16Gi"),
    )
}  # fmt: skip
"""The stock tiers; a Tier of one's own can be given instead of a name."""


class Tenant(Model):
    """A customer (or team) of an environment with a namespace of its own,
    `<environment's namespace>-<name>`: its own release records, its secrets (the Secrets in its
    namespace), no traffic to or from other tenants, and its own quota from `tier`.
    `replicas` and `overrides` change its services as an environment's do, on top of them."""

    name: Name
    tier: Tier = Field(default_factory=lambda: TIERS["small"])
    replicas: int | None = Field(default=None, ge=0)
    overrides: Overrides = Field(default_factory=dict)

    def __init__(self, name: str, **fields: Any) -> None:
        super().__init__(**{"name": name, **fields})

    @field_validator("tier", mode="before")
    @classmethod
    def _stock_tier(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value not in TIERS:
                raise ValueError(
                    f'"{value}" is not a tier: give one of {", ".join(TIERS)} or a Tier(...)'
                )
            return TIERS[value]
        return value

    @field_validator("overrides", mode="before")
    @classmethod
    def _service_names(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {(k.name if isinstance(k, Service) else k): dict(v) for k, v in value.items()}
        return value
