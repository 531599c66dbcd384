"""Price sheets for `devkit cost`: USD (or another currency) per vCPU-hour and per GiB-hour,
on-demand and spot. Pure: takes the parsed TOML or JSON, checks it, and says what is wrong.

    [sheet]                      # optional: name, source, date, currency, unit
    unit = "hour"                # or "month" (prices per 730 hours)
    [on_demand]
    cpu = 0.031611               # per vCPU-hour
    memory = 0.004237            # per GiB-hour
    [spot]                       # needed only by environments that run on spot
    cpu = 0.006655
    memory = 0.000892

Prices a month apart from hourly by the factor 730 are the easiest mistake to make and the
hardest to see; figures no provider charges per hour (or per month) are refused with the
conversion that would fix them.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal

from devkit.errors import PriceSheetError
from devkit.model.base import Model

HOURS_PER_MONTH = Decimal(730)

# Per-hour prices above these are monthly prices in disguise (the dearest clouds charge about
# 0.1 per vCPU-hour and 0.02 per GiB-hour); per-month prices below the others are hourly ones.
_MAX_HOURLY = {"cpu": Decimal("1.0"), "memory": Decimal("0.25")}
_MIN_MONTHLY = {"cpu": Decimal("0.5"), "memory": Decimal("0.05")}
_UNITS = {"cpu": "vCPU", "memory": "GiB"}


class Rates(Model):
    """Prices per hour of one vCPU and of one GiB, requested."""

    cpu: Decimal
    memory: Decimal


class PriceSheet(Model):
    """Where prices come from and what they are, per hour whatever unit the file used."""

    name: str
    source: str
    date: str
    currency: str
    on_demand: Rates
    spot: Rates | None
    warnings: tuple[str, ...] = ()


def _price(table: Mapping[str, Any], path: str, key: str, unit: str, origin: str) -> Decimal:
    where = f"{origin}: {path}.{key}"
    if key not in table:
        raise PriceSheetError(
            f"{where}: missing; give the price per {_UNITS[key]}-{unit}",
            details=[f"e.g. [{path}] cpu = 0.0316 and memory = 0.0042 (per {unit})"],
        )
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise PriceSheetError(f"{where}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise PriceSheetError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite():
        raise PriceSheetError(f"{where}: {value} is not a finite number")
    if number < 0:
        raise PriceSheetError(f"{where}: {value} is negative; prices are 0 or more")
    _check_unit(number, where, key, unit)
    return number / HOURS_PER_MONTH if unit == "month" else number


def _check_unit(number: Decimal, where: str, key: str, unit: str) -> None:
    what = _UNITS[key]
    if unit == "hour" and number > _MAX_HOURLY[key]:
        raise PriceSheetError(
            f"{where}: {number} per {what}-hour looks like a monthly price "
            f"(no provider charges more than {_MAX_HOURLY[key]} per {what}-hour)",
            details=[
                f"as an hourly price that is {number / HOURS_PER_MONTH:.6f} "
                f'({number} / 730 hours); write that, or set unit = "month" in [sheet]'
            ],
        )
    if unit == "month" and 0 < number < _MIN_MONTHLY[key]:
        raise PriceSheetError(
            f"{where}: {number} per {what}-month looks like an hourly price "
            f"(no provider charges less than {_MIN_MONTHLY[key]} per {what}-month)",
            details=[
                f"as a monthly price that is {number * HOURS_PER_MONTH} ({number} x 730 hours); "
                'write that, or set unit = "hour" in [sheet]'
            ],
        )


def _rates(data: Mapping[str, Any], path: str, unit: str, origin: str) -> Rates:
    table = data[path]
    if not isinstance(table, Mapping):
        raise PriceSheetError(f"{origin}: {path} must be a table with cpu and memory prices")
    unknown = sorted(set(table) - {"cpu", "memory"})
    if unknown:
        raise PriceSheetError(
            f"{origin}: {path}.{unknown[0]}: unknown price; a table has cpu and memory"
        )
    return Rates(
        cpu=_price(table, path, "cpu", unit, origin),
        memory=_price(table, path, "memory", unit, origin),
    )


def parse_sheet(data: Mapping[str, Any], origin: str) -> PriceSheet:
    """A checked price sheet from parsed TOML or JSON; `origin` names the file in errors."""
    unknown = sorted(set(data) - {"sheet", "on_demand", "spot"})
    if unknown:
        raise PriceSheetError(
            f"{origin}: unknown table [{unknown[0]}]",
            details=["a price sheet has [sheet], [on_demand] and (for spot) [spot]"],
        )
    meta = data.get("sheet", {})
    if not isinstance(meta, Mapping):
        raise PriceSheetError(f"{origin}: sheet must be a table")
    unit: Literal["hour", "month"] = meta.get("unit", "hour")
    if unit not in ("hour", "month"):
        raise PriceSheetError(f'{origin}: sheet.unit: "{unit}" is not "hour" or "month"')
    if "on_demand" not in data:
        raise PriceSheetError(
            f"{origin}: [on_demand] prices are missing",
            details=["every sheet needs [on_demand] cpu and memory prices; [spot] is optional"],
        )
    on_demand = _rates(data, "on_demand", unit, origin)
    spot = _rates(data, "spot", unit, origin) if "spot" in data else None
    warnings = []
    if spot is not None and (spot.cpu > on_demand.cpu or spot.memory > on_demand.memory):
        warnings.append(
            f"{origin}: spot prices are above on-demand ones; are [spot] and [on_demand] swapped?"
        )
    return PriceSheet(
        name=str(meta.get("name", origin)),
        source=str(meta.get("source", origin)),
        date=str(meta.get("date", "undated")),
        currency=str(meta.get("currency", "USD")),
        on_demand=on_demand,
        spot=spot,
        warnings=tuple(warnings),
    )
