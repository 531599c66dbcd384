"""`estimate(plan, sheet) -> Estimate`: what an environment costs a month, before it is deployed.

Computed the way OpenCost allocates cost, from what each pod *requests*:

    monthly = replicas x hours x (vCPU requested x price per vCPU-hour
                                  + GiB requested x price per GiB-hour)

with hours = 730 (a month), or fewer when the profile has an uptime schedule (the environment is
scaled to zero outside it). Each service is priced at the rates of the capacity its placement
says (spot or on-demand; with no profile, on-demand). A range where the count or the rate can
vary: autoscaled services from min to max replicas, spot-with-fallback from spot to on-demand
rates. Pure: no clock, no network, Decimal arithmetic; figures are rounded to cents when shown.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from devkit.errors import PriceSheetError
from devkit.model.base import Model
from devkit.model.quantity import cpu_millicores, memory_bytes
from devkit.planning.planner import Plan, PlannedService
from devkit.planning.pricesheet import HOURS_PER_MONTH, PriceSheet, Rates

HOURS_PER_WEEK = Decimal(168)
_CENT = Decimal("0.01")

Capacity = Literal["on-demand", "spot", "spot, falls back to on-demand"]


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(_CENT, rounding=ROUND_HALF_UP)


class ServiceCost(Model):
    """One service's monthly cost: a range when replicas or rates can vary."""

    service: str
    capacity: Capacity
    replicas_min: int
    replicas_max: int
    cpu: Decimal = Decimal(0)
    """vCPU requested per replica."""
    memory_gib: Decimal = Decimal(0)
    """GiB requested per replica."""
    monthly_min: Decimal
    monthly_max: Decimal
    note: str | None = None


class Estimate(Model):
    """An environment's monthly estimate, per service and in total."""

    project: str
    environment: str
    currency: str
    hours: Decimal
    sheet: PriceSheet
    services: tuple[ServiceCost, ...]
    notes: tuple[str, ...] = ()

    @property
    def total_min(self) -> Decimal:
        return sum((s.monthly_min for s in self.services), Decimal(0))

    @property
    def total_max(self) -> Decimal:
        return sum((s.monthly_max for s in self.services), Decimal(0))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form for CI: amounts in cents precision, as numbers."""
        return {
            "project": self.project,
            "environment": self.environment,
            "currency": self.currency,
            "hours_per_month": float(self.hours.quantize(_CENT)),
            "prices": {
                "name": self.sheet.name,
                "source": self.sheet.source,
                "date": self.sheet.date,
            },
            "services": [
                {
                    "service": s.service,
                    "capacity": s.capacity,
                    "replicas": {"min": s.replicas_min, "max": s.replicas_max},
                    "cpu": float(s.cpu),
                    "memory_gib": float(s.memory_gib),
                    "monthly": {
                        "min": float(cents(s.monthly_min)),
                        "max": float(cents(s.monthly_max)),
                    },
                    "note": s.note,
                }
                for s in self.services
            ],
            "total": {"min": float(cents(self.total_min)), "max": float(cents(self.total_max))},
            "notes": list(self.notes),
        }


def hours_per_month(plan: Plan) -> Decimal:
    """730, or the share of it inside the profile's uptime schedule."""
    uptime = plan.profile.uptime if plan.profile else None
    if uptime is None:
        return HOURS_PER_MONTH
    return HOURS_PER_MONTH * Decimal(str(uptime.hours_per_week)) / HOURS_PER_WEEK


def _rates(sheet: PriceSheet, capacity: str, plan: Plan, users: list[str]) -> Rates:
    if capacity == "on-demand":
        return sheet.on_demand
    if sheet.spot is None:
        raise PriceSheetError(
            f'{sheet.name}: no [spot] prices, but environment "{plan.environment}" runs '
            f"{', '.join(users)} on spot",
            details=["add [spot] cpu and memory prices per hour to the sheet"],
        )
    return sheet.spot


def _requests(service: PlannedService) -> tuple[Decimal, Decimal]:
    res = service.resources
    cpu = Decimal(cpu_millicores(res.cpu)) / 1000 if res and res.cpu else Decimal(0)
    memory = Decimal(memory_bytes(res.memory)) / 2**30 if res and res.memory else Decimal(0)
    return cpu, memory


def _service_cost(
    plan: Plan, service: PlannedService, sheet: PriceSheet, hours: Decimal, spot_users: list[str]
) -> ServiceCost:
    low, high = (
        (service.autoscale.min, service.autoscale.max)
        if service.autoscale
        else (service.replicas, service.replicas)
    )
    on_spot = service.name in spot_users
    fallback = (
        on_spot and service.placement is not None and service.placement.affinity == "preferred"
    )
    capacity: Capacity = (
        "spot, falls back to on-demand" if fallback else "spot" if on_spot else "on-demand"
    )
    cheap = _rates(sheet, "spot" if on_spot else "on-demand", plan, spot_users)
    dear = sheet.on_demand if fallback else cheap
    cpu, memory = _requests(service)
    note = None
    if cpu == 0 and memory == 0:
        note = "requests nothing, so it is priced at 0: declare resources= to count it"
    return ServiceCost(
        service=service.name,
        capacity=capacity,
        replicas_min=low,
        replicas_max=high,
        cpu=cpu,
        memory_gib=memory,
        monthly_min=low * hours * (cpu * cheap.cpu + memory * cheap.memory),
        monthly_max=high * hours * (cpu * dear.cpu + memory * dear.memory),
        note=note,
    )


def estimate(plan: Plan, sheet: PriceSheet) -> Estimate:
    """The monthly cost of `plan` at the prices of `sheet`."""
    spot_users = [
        s.name for s in plan.services if s.placement is not None and s.placement.capacity == "spot"
    ]
    hours = hours_per_month(plan)
    notes = list(sheet.warnings)
    if plan.profile is None:
        notes.append(
            f'environment "{plan.environment}" has no capacity profile: priced at on-demand rates'
        )
    if plan.profile and plan.profile.uptime:
        notes.append(
            f"scaled to zero outside {plan.profile.uptime.downscaler()}: "
            f"{hours.quantize(_CENT)} of 730 hours a month"
        )
    return Estimate(
        project=plan.project,
        environment=plan.environment,
        currency=sheet.currency,
        hours=hours,
        sheet=sheet,
        services=tuple(_service_cost(plan, s, sheet, hours, spot_users) for s in plan.services),
        notes=tuple(notes),
    )


def comparison(base: Estimate, other: Estimate) -> dict[str, Any]:
    """Two estimates and what changes from the first to the second, for `--compare --json`."""
    return {
        "base": base.to_dict(),
        "compare": other.to_dict(),
        "change": {
            "min": float(cents(other.total_min) - cents(base.total_min)),
            "max": float(cents(other.total_max) - cents(base.total_max)),
        },
    }
