"""Cost estimates against figures computed by hand, and price sheets that must be refused."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from devkit import Autoscale, Blueprint, Kubernetes, Resources, Uptime
from devkit.errors import PriceSheetError
from devkit.planning.cost import cents, estimate
from devkit.planning.planner import plan
from devkit.planning.pricesheet import parse_sheet
from devkit.profiles import on_demand, spot

# Round numbers, so the expected figures can be checked with pencil and paper.
SHEET: dict[str, Any] = {
    "sheet": {"name": "test", "source": "hand-made", "date": "2026-01-01", "currency": "USD"},
    "on_demand": {"cpu": 0.04, "memory": 0.005},
    "spot": {"cpu": 0.01, "memory": 0.002},
}


def sheet(**tables: Any) -> Any:
    return parse_sheet({**SHEET, **tables}, "prices.toml")


def app() -> Blueprint:
    bp = Blueprint("acme")
    bp.service("api", image="api:1", resources=Resources(cpu="500m", memory="1Gi"))
    bp.service("db", image="postgres:16", stateful=True, resources=Resources(cpu="1", memory="2Gi"))
    bp.service("idle", image="busybox:1")
    return bp


def test_on_demand_by_hand() -> None:
    bp = app()
    bp.environment("prod", Kubernetes(), replicas=3)
    result = estimate(plan(bp, "prod"), sheet())
    costs = {s.service: s for s in result.services}
    # api: 3 x 730 x (0.5 x 0.04 + 1 x 0.005) = 3 x 730 x 0.025 = 54.75
    assert costs["api"].monthly_min == costs["api"].monthly_max == Decimal("54.75")
    # db: 1 x 730 x (1 x 0.04 + 2 x 0.005) = 730 x 0.05 = 36.50
    assert costs["db"].monthly_min == Decimal("36.5")
    # idle: no requests, no profile to give it any -> 0, with a note
    assert costs["idle"].monthly_min == 0 and costs["idle"].note is not None
    assert result.total_min == result.total_max == Decimal("91.25")
    assert result.notes == (
        'environment "prod" has no capacity profile: priced at on-demand rates',
    )


def test_spot_with_stateful_on_demand_and_right_sized_requests_by_hand() -> None:
    bp = app()
    bp.environment("staging", Kubernetes(), profile=spot(provider="eks"))
    costs = {s.service: s for s in estimate(plan(bp, "staging"), sheet()).services}
    # api on spot, floor 2: 2 x 730 x (0.5 x 0.01 + 1 x 0.002) = 2 x 730 x 0.007 = 10.22
    assert (costs["api"].capacity, costs["api"].monthly_min) == ("spot", Decimal("10.22"))
    # db stays on demand: 730 x 0.05 = 36.50
    assert (costs["db"].capacity, costs["db"].monthly_min) == ("on-demand", Decimal("36.5"))
    # idle gets the default requests (100m, 128Mi) and the floor of 2:
    # 2 x 730 x (0.1 x 0.01 + 0.125 x 0.002) = 2 x 730 x 0.00125 = 1.825 -> 1.83 shown
    assert costs["idle"].monthly_min == Decimal("1.825")
    assert cents(costs["idle"].monthly_min) == Decimal("1.83")


def test_autoscaled_service_is_a_range_by_hand() -> None:
    bp = app()
    bp.environment(
        "prod", Kubernetes(), profile=on_demand(),
        overrides={"api": {"autoscale": Autoscale(min=2, max=10)}},
    )  # fmt: skip
    api = next(s for s in estimate(plan(bp, "prod"), sheet()).services if s.service == "api")
    # 730 x 0.025 = 18.25 a replica: 2 -> 36.50, 10 -> 182.50
    assert (api.replicas_min, api.replicas_max) == (2, 10)
    assert (api.monthly_min, api.monthly_max) == (Decimal("36.5"), Decimal("182.5"))


def test_spot_with_fallback_ranges_from_spot_to_on_demand_rates() -> None:
    bp = app()
    bp.environment("staging", Kubernetes(), profile=spot(fallback=True))
    api = next(s for s in estimate(plan(bp, "staging"), sheet()).services if s.service == "api")
    assert api.capacity == "spot, falls back to on-demand"
    # 2 x 730 x 0.007 = 10.22 on spot; 2 x 730 x 0.025 = 36.50 on demand
    assert (api.monthly_min, api.monthly_max) == (Decimal("10.22"), Decimal("36.5"))


def test_uptime_schedule_counts_only_its_hours() -> None:
    bp = app()
    bp.environment(
        "dev", Kubernetes(), profile=on_demand(uptime=Uptime("Mon-Fri", "08:00", stop="20:00"))
    )
    result = estimate(plan(bp, "dev"), sheet())
    # 5 days x 12 h = 60 of 168 hours a week: 730 x 60 / 168 = 260.714... hours a month
    assert result.hours == Decimal(730) * 60 / 168
    db = next(s for s in result.services if s.service == "db")
    assert cents(db.monthly_min) == Decimal("13.04")  # 260.714 x 0.05 = 13.0357
    assert "scaled to zero outside Mon-Fri 08:00-20:00 UTC: 260.71 of 730 hours" in result.notes[0]


def test_json_form_for_ci() -> None:
    bp = app()
    bp.environment("prod", Kubernetes(), replicas=3)
    document = estimate(plan(bp, "prod"), sheet()).to_dict()
    assert document["total"] == {"min": 91.25, "max": 91.25}
    assert document["services"][0]["service"] == "api"
    assert document["services"][0]["monthly"] == {"min": 54.75, "max": 54.75}
    assert document["prices"] == {"name": "test", "source": "hand-made", "date": "2026-01-01"}


def test_monthly_prices_can_be_given_as_such() -> None:
    monthly = sheet(
        sheet={"unit": "month"},
        on_demand={"cpu": 29.2, "memory": 3.65},
        spot={"cpu": 7.3, "memory": 1.46},
    )
    assert monthly.on_demand.cpu == Decimal("0.04")  # 29.2 / 730
    assert monthly.spot is not None and monthly.spot.memory == Decimal("0.002")


def test_default_sheet_is_valid_and_says_where_it_comes_from() -> None:
    path = Path(__file__).resolve().parents[2] / "devkit" / "planning" / "prices.toml"
    text = path.read_text()
    default = parse_sheet(tomllib.loads(text), "prices.toml")
    assert "Google Compute Engine" in default.source and "ILLUSTRATIVE" in text
    assert default.on_demand.cpu == Decimal("0.031611")
    assert default.spot is not None and default.spot.cpu < default.on_demand.cpu


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        (
            {"on_demand": {"cpu": 0.04}},
            "prices.toml: on_demand.memory: missing; give the price per GiB-hour",
        ),
        ({"spot": {"cpu": -0.01, "memory": 0.002}}, "prices.toml: spot.cpu: -0.01 is negative"),
        (
            {"on_demand": {"cpu": "cheap", "memory": 0.005}},
            "on_demand.cpu: 'cheap' is not a number",
        ),
        (
            {"on_demand": {"cpu": float("nan"), "memory": 0.005}},
            "on_demand.cpu: nan is not a finite number",
        ),
        ({"on_demand": {"cpu": True, "memory": 0.005}}, "on_demand.cpu: True is not a number"),
        ({"on_demand": {"cpu": 0.04, "memory": 0.005, "gpu": 1}}, "on_demand.gpu: unknown price"),
        ({"reserved": {}}, "prices.toml: unknown table [reserved]"),
        ({"sheet": {"unit": "day"}}, 'sheet.unit: "day" is not "hour" or "month"'),
    ],
)
def test_bad_sheets_are_refused(tables: dict[str, Any], message: str) -> None:
    with pytest.raises(PriceSheetError) as info:
        sheet(**tables)
    assert message in info.value.render()
    assert info.value.exit_code == 2


def test_missing_on_demand_table() -> None:
    with pytest.raises(PriceSheetError, match=r"\[on_demand\] prices are missing"):
        parse_sheet({"spot": {"cpu": 0.01, "memory": 0.002}}, "prices.toml")


def test_monthly_prices_where_hourly_are_expected_are_caught_with_the_conversion() -> None:
    # 0.031611 per vCPU-hour is 23.08 per vCPU-month: the 730x mix-up.
    with pytest.raises(PriceSheetError) as info:
        sheet(on_demand={"cpu": 23.08, "memory": 0.004237})
    text = info.value.render()
    assert "on_demand.cpu: 23.08 per vCPU-hour looks like a monthly price" in text
    assert "as an hourly price that is 0.031616 (23.08 / 730 hours)" in text
    assert 'set unit = "month"' in text
    with pytest.raises(
        PriceSheetError, match=r"memory: 3\.09 per GiB-hour looks like a monthly price"
    ):
        sheet(spot={"cpu": 0.01, "memory": 3.09})


def test_hourly_prices_marked_monthly_are_caught_too() -> None:
    with pytest.raises(PriceSheetError) as info:
        sheet(sheet={"unit": "month"}, on_demand={"cpu": 0.031611, "memory": 3.09})
    assert (
        "on_demand.cpu: 0.031611 per vCPU-month looks like an hourly price" in info.value.render()
    )


def test_spot_environment_needs_spot_prices() -> None:
    bp = app()
    bp.environment("staging", Kubernetes(), profile=spot())
    no_spot = parse_sheet({"on_demand": SHEET["on_demand"]}, "mine.toml")
    with pytest.raises(
        PriceSheetError,
        match=r'no \[spot\] prices, but environment "staging" runs api, idle on spot',
    ):
        estimate(plan(bp, "staging"), no_spot)
    bp.environment("prod", Kubernetes(), profile=on_demand())
    assert estimate(plan(bp, "prod"), no_spot).total_min > 0


def test_swapped_tables_are_pointed_out() -> None:
    swapped = sheet(on_demand=SHEET["spot"], spot=SHEET["on_demand"])
    assert "are [spot] and [on_demand] swapped?" in swapped.warnings[0]
