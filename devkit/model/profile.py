"""Capacity profiles an environment runs under (spot or on-demand); see devkit.profiles."""

from __future__ import annotations

import re
from typing import Any, Literal, Self

from pydantic import Field, field_validator, model_validator

from devkit.model.base import Model
from devkit.model.resources import Resources

Provider = Literal["aks", "eks", "gke", "karpenter"]
PROVIDERS: tuple[Provider, ...] = ("aks", "eks", "gke", "karpenter")

SPOT_NOTICE: dict[Provider, int] = {"aks": 30, "eks": 120, "gke": 30, "karpenter": 120}
"""Seconds between a provider's spot reclaim notice and the node going away."""

STOCK_PROFILES = ("spot", "on_demand")
"""The stock profiles of devkit.profiles, by function name (the model cannot import them)."""

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_TIMEZONE = re.compile(r"^(UTC|[A-Z][A-Za-z_]+(/[A-Za-z0-9_+-]+){1,2})$")


def _minutes(value: str) -> int:
    match = _TIME.match(value)
    if not match:
        raise ValueError(f'"{value}" is not a time of day; use 24-hour "HH:MM", e.g. "07:30"')
    return int(match[1]) * 60 + int(match[2])


class Uptime(Model):
    """When a non-production environment runs; outside it, every workload is scaled to zero.

    Rendered as the `downscaler/uptime` annotation on the namespace, which kube-downscaler acts
    on (nothing scales without it installed); `devkit cost` counts only the uptime hours.
    """

    days: str = Field(default="Mon-Fri", description='"Mon-Fri", "Mon", or "Sat-Sun"')
    start: str = "07:00"
    stop: str = "19:00"
    timezone: str = "UTC"

    def __init__(self, days: str = "Mon-Fri", start: str = "07:00", **fields: Any) -> None:
        super().__init__(**{"days": days, "start": start, **fields})

    @field_validator("days")
    @classmethod
    def _day_range(cls, value: str) -> str:
        first, _, last = value.partition("-")
        if first not in _DAYS or (last and last not in _DAYS):
            raise ValueError(
                f'"{value}" is not a day or day range; use e.g. "Mon-Fri" with days '
                f"{', '.join(_DAYS)}"
            )
        return value

    @field_validator("start", "stop")
    @classmethod
    def _time(cls, value: str) -> str:
        _minutes(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        if not _TIMEZONE.match(value):
            raise ValueError(f'"{value}" is not a time zone name; use e.g. "UTC", "Europe/Berlin"')
        return value

    @model_validator(mode="after")
    def _stop_after_start(self) -> Self:
        if _minutes(self.stop) <= _minutes(self.start):
            raise ValueError(f"uptime stop {self.stop} is not after start {self.start}")
        return self

    @property
    def day_count(self) -> int:
        first, _, last = self.days.partition("-")
        start, end = _DAYS.index(first), _DAYS.index(last or first)
        return (end - start) % 7 + 1

    @property
    def hours_per_week(self) -> float:
        return self.day_count * (_minutes(self.stop) - _minutes(self.start)) / 60

    def downscaler(self) -> str:
        """The kube-downscaler form, e.g. "Mon-Fri 07:00-19:00 Europe/Berlin"."""
        return f"{self.days} {self.start}-{self.stop} {self.timezone}"


class Profile(Model):
    """How an environment's workloads are placed and sized; build one with devkit.profiles.

    The planner applies it to every service: placement (node affinity and tolerations for the
    providers named), a replica floor for stateless services (spot capacity is reclaimed at short
    notice, so one replica is never enough), shutdown timing, spreading, and request sizing.
    """

    capacity: Literal["spot", "on-demand"]
    min_replicas: int = Field(default=1, ge=1)
    fallback: bool = Field(default=False, description="prefer spot, fall back to on-demand")
    providers: tuple[Provider, ...] = Field(
        default=PROVIDERS, min_length=1, description="whose node labels and taints to target"
    )
    stateful_on_spot: bool = Field(
        default=False, description="spot only: place stateful services on spot too"
    )
    termination_grace: int | None = Field(
        default=None, ge=1, description="seconds a pod gets to stop (terminationGracePeriodSeconds)"
    )
    pre_stop: int | None = Field(
        default=None, ge=1, description="seconds to pause before the stop signal (preStop)"
    )
    spread: bool = Field(default=False, description="spread replicas across zones and nodes")
    right_size: bool = Field(
        default=False, description="fill in requests from declared values or default_requests"
    )
    default_requests: Resources = Field(
        default_factory=lambda: Resources(cpu="100m", memory="128Mi"),
        description="requests of services that declare neither requests nor limits",
    )
    uptime: Uptime | None = Field(default=None, description="scale to zero outside these hours")

    @field_validator("providers", mode="before")
    @classmethod
    def _known_providers(cls, value: Any) -> Any:
        names = [value] if isinstance(value, str) else list(value)
        if names == ["all"]:
            return PROVIDERS
        for name in names:
            if name not in PROVIDERS:
                raise ValueError(
                    f'unknown provider "{name}"; known providers: {", ".join(PROVIDERS)} (or "all")'
                )
        return tuple(sorted(set(names)))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.capacity == "on-demand" and (self.fallback or self.stateful_on_spot):
            raise ValueError("fallback and stateful_on_spot apply to spot profiles only")
        if (
            self.pre_stop is not None
            and self.termination_grace is not None
            and self.pre_stop >= self.termination_grace
        ):
            raise ValueError(
                f"pre_stop {self.pre_stop} s leaves no time to stop within "
                f"termination_grace {self.termination_grace} s; make it shorter"
            )
        if self.capacity == "spot" and self.termination_grace is not None:
            notice = min(SPOT_NOTICE[p] for p in self.providers)
            if self.termination_grace > notice:
                shortest = [p for p in self.providers if SPOT_NOTICE[p] == notice]
                raise ValueError(
                    f"termination_grace {self.termination_grace} s is longer than the "
                    f"{notice} s spot notice of {', '.join(shortest)}; pods would be killed "
                    f"mid-shutdown: use at most {notice}"
                )
        return self


def profile_value(value: Any) -> Any:
    """A profile given as anything but a Profile (a name, a misspelled one) refused with the
    profiles that exist and how to give one."""
    if value is None or isinstance(value, Profile | dict):
        return value
    stock = ", ".join(f"{name}()" for name in STOCK_PROFILES)
    how = f"from devkit.profiles import {', '.join(STOCK_PROFILES)}"
    if isinstance(value, str):
        name = value.strip().replace("-", "_").lower()
        if name in STOCK_PROFILES:
            raise ValueError(
                f'"{value}" names a profile; give the profile itself: {name}() '
                f"(from devkit.profiles import {name})"
            )
        raise ValueError(f'unknown profile "{value}"; the profiles: {stock} ({how})')
    raise ValueError(f"a profile is one of {stock} ({how}), not {type(value).__name__}")
