"""`devkit cost ENV`: what an environment will cost a month, before it is deployed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from devkit.cli.app import app
from devkit.cli.loading import blueprint
from devkit.cli.output import err, out, print_json, print_warnings

if TYPE_CHECKING:
    from decimal import Decimal

    from rich.table import Table

    from devkit.planning.cost import Estimate
    from devkit.planning.pricesheet import PriceSheet


@app.command("cost")
def cost_command(
    ctx: typer.Context,
    env: Annotated[str, typer.Argument(metavar="ENV", help="The environment to estimate.")],
    compare: Annotated[
        str | None,
        typer.Option("--compare", metavar="ENV2", help="Show ENV2 beside it, and the change."),
    ] = None,
    prices: Annotated[
        Path | None,
        typer.Option(
            "--prices",
            metavar="FILE",
            help="Price sheet (.toml or .json). [default: devkit's, see docs/cost.md]",
        ),
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", metavar="NAME", help="One tenant of ENV, service by service."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Estimate ENV's monthly cost from the CPU and memory its pods request, OpenCost's way.

    replicas x 730 h x (vCPU x price per vCPU-hour + GiB x price per GiB-hour), at spot or
    on-demand rates as the profile places each service; autoscaled services as a min-max range.
    An environment with tenants is estimated per tenant, and in total.
    """
    from devkit.planning.cost import comparison, estimate
    from devkit.planning.planner import plan

    sheet = _sheet(prices)
    loaded = blueprint(ctx)
    first = plan(loaded, env, tenant)
    tenants = first.tenants
    if tenants and tenant is None and compare is None:
        per = [estimate(plan(loaded, env, name), sheet) for name in tenants]
        for note in dict.fromkeys(n for e in per for n in e.notes):
            err().print(f"note: {note}", markup=False, soft_wrap=True)
        _show_tenants(dict(zip(tenants, per, strict=True)), json)
        return
    estimates = []
    for planned in (first, plan(loaded, compare)) if compare else (first,):
        print_warnings(planned.environment, planned.warnings)
        estimates.append(estimate(planned, sheet))
    for note in dict.fromkeys(n for e in estimates for n in e.notes):
        err().print(f"note: {note}", markup=False, soft_wrap=True)
    if json:
        print_json(comparison(*estimates) if compare else estimates[0].to_dict())
    elif compare:
        _print_comparison(estimates[0], estimates[1])
    else:
        _print_estimate(estimates[0])


def _show_tenants(per: dict[str, Estimate], json: bool) -> None:
    """Each tenant's monthly estimate and the environment's total."""
    from decimal import Decimal

    from rich.table import Table

    from devkit.planning.cost import cents

    first = next(iter(per.values()))
    low = sum((e.total_min for e in per.values()), Decimal(0))
    high = sum((e.total_max for e in per.values()), Decimal(0))
    if json:
        print_json(
            {
                "project": first.project, "environment": first.environment,
                "currency": first.currency,
                "tenants": [{"tenant": name, **e.to_dict()} for name, e in per.items()],
                "total": {"min": float(cents(low)), "max": float(cents(high))},
            }
        )  # fmt: skip
        return
    table = Table(box=None, pad_edge=False, header_style="bold", show_footer=True)
    table.add_column("tenant", footer="total")
    table.add_column("services", justify="right")
    table.add_column("per month", justify="right", footer=money(low, high, first.currency))
    for name, e in per.items():
        table.add_row(name, str(len(e.services)), money(e.total_min, e.total_max, e.currency))
    _print_table(first, table, " per tenant", "; --tenant NAME for one tenant's services")


def _sheet(path: Path | None) -> PriceSheet:
    import json
    import tomllib

    from devkit.delivery.cost import default_sheet
    from devkit.errors import PriceSheetError
    from devkit.planning.pricesheet import parse_sheet

    if path is None:
        return default_sheet()
    if path.suffix not in (".toml", ".json"):
        raise PriceSheetError(f"{path}: a price sheet is a .toml or .json file")
    try:
        text = path.read_text()
    except OSError as exc:
        raise PriceSheetError(f"{path}: cannot read it: {exc.strerror}") from None
    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise PriceSheetError(f"{path}: not valid {path.suffix[1:].upper()}: {exc}") from None
    if not isinstance(data, dict):
        raise PriceSheetError(f"{path}: a price sheet is a table (object) of tables")
    return parse_sheet(data, str(path))


def money(low: Decimal, high: Decimal, currency: str) -> str:
    from devkit.planning.cost import cents

    if cents(low) == cents(high):
        return f"{cents(low):,} {currency}"
    return f"{cents(low):,}-{cents(high):,} {currency}"


def _print_estimate(estimate: Estimate) -> None:
    from rich.table import Table

    table = Table(box=None, pad_edge=False, header_style="bold", show_footer=True)
    table.add_column("service", footer="total")
    table.add_column("capacity")
    table.add_column("replicas", justify="right")
    table.add_column("vCPU", justify="right")
    table.add_column("GiB", justify="right")
    table.add_column(
        "per month",
        justify="right",
        footer=money(estimate.total_min, estimate.total_max, estimate.currency),
    )
    for s in estimate.services:
        replicas = (
            f"{s.replicas_min}"
            if s.replicas_min == s.replicas_max
            else (f"{s.replicas_min}-{s.replicas_max}")
        )
        table.add_row(
            s.service, s.capacity, replicas, f"{s.cpu:g}", f"{s.memory_gib:g}",
            money(s.monthly_min, s.monthly_max, estimate.currency),
        )  # fmt: skip
    _print_table(estimate, table)


def _print_table(estimate: Estimate, table: Table, per: str = "", hint: str = "") -> None:
    """An estimate's table under its title, above the price sheet it used."""
    out().print(
        f"{estimate.project} · {estimate.environment}: estimated monthly cost{per} "
        f"({estimate.hours:.0f} h a month{hint})",
        markup=False,
    )
    out().print(table)
    out().print(f"prices: {estimate.sheet.name}, {estimate.sheet.date}", style="dim", markup=False)


def _print_comparison(base: Estimate, other: Estimate) -> None:
    from decimal import Decimal

    from rich.table import Table

    from devkit.planning.cost import cents

    table = Table(box=None, pad_edge=False, header_style="bold", show_footer=True)
    table.add_column("service", footer="total")
    table.add_column(
        base.environment,
        justify="right",
        footer=money(base.total_min, base.total_max, base.currency),
    )
    table.add_column(
        other.environment,
        justify="right",
        footer=money(other.total_min, other.total_max, other.currency),
    )
    change_low = cents(other.total_min) - cents(base.total_min)
    change_high = cents(other.total_max) - cents(base.total_max)
    table.add_column("change", justify="right", footer=_signed(change_low, change_high))
    first = {s.service: s for s in base.services}
    second = {s.service: s for s in other.services}
    zero = Decimal(0)
    for name in [*first, *(n for n in second if n not in first)]:
        a, b = first.get(name), second.get(name)
        a_low, a_high = (a.monthly_min, a.monthly_max) if a else (zero, zero)
        b_low, b_high = (b.monthly_min, b.monthly_max) if b else (zero, zero)
        table.add_row(
            name,
            money(a_low, a_high, base.currency) if a else "-",
            money(b_low, b_high, other.currency) if b else "-",
            _signed(cents(b_low) - cents(a_low), cents(b_high) - cents(a_high)),
        )
    out().print(
        f"{base.project}: {base.environment} and {other.environment}, per month", markup=False
    )
    out().print(table)
    out().print(f"prices: {base.sheet.name}, {base.sheet.date}", style="dim", markup=False)


def _signed(low: Decimal, high: Decimal) -> str:
    if low == high:
        return f"{low:+,}"
    return f"{low:+,} to {high:+,}"
