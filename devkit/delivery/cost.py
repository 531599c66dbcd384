"""The cost a release records: `devkit cost`'s estimate of the plan it deploys, at devkit's default
price sheet (the one shipped in the package), so that later readers (`devkit ui`'s environments
view) can put the estimate of today's plan next to what the running release was estimated at."""

from __future__ import annotations

import tomllib
from importlib import resources

from devkit.errors import PriceSheetError
from devkit.planning.cost import cents, estimate
from devkit.planning.planner import Plan
from devkit.planning.pricesheet import PriceSheet, parse_sheet
from devkit.records.release import ReleaseCost


def default_sheet() -> PriceSheet:
    """devkit's own price sheet (devkit/planning/prices.toml)."""
    text = resources.files("devkit.planning").joinpath("prices.toml").read_text()
    return parse_sheet(tomllib.loads(text), "devkit's default price sheet")


def release_cost(plan: Plan, sheet: PriceSheet) -> ReleaseCost | None:
    """The plan's monthly estimate as a release records it; None where the sheet cannot price
    it (no spot prices for a spot environment): a release is never refused over its cost."""
    try:
        found = estimate(plan, sheet)
    except PriceSheetError:
        return None
    return ReleaseCost(
        currency=found.currency,
        min=float(cents(found.total_min)),
        max=float(cents(found.total_max)),
        prices=f"{sheet.name}, {sheet.date}",
    )
