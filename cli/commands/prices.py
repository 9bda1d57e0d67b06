"""`mlinfra prices`: the versioned price table the cost model uses, with sources, dates and confidence."""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.costs.prices import PriceError, load_table, price_table
from mlinfra.profiles import load_profile


@click.command()
@click.option(
    "--profile",
    "profile",
    default=None,
    metavar="PROFILE",
    type=click.Path(dir_okay=False, path_type=str),
    help="Show the table as this profile sees it (its costs.prices overrides and costs.usd_to_eur applied).",
)
@format_option()
def prices(profile: str | None, fmt: str) -> None:
    """List the price table: key, value, unit, region, confidence (A vendor, B second-hand, U unconfirmed), source.

    Override any entry in a profile with `costs: {prices: {KEY: VALUE}}`.
    """
    with user_errors():
        try:
            if profile:
                table = price_table(load_profile(profile))
            else:
                table = load_table()
        except PriceError as exc:
            raise DomainError(f"{profile}: {exc}") from None
    if fmt == "json":
        emit_json(
            {
                "version": table.version,
                "date": table.date,
                "hours_per_month": table.hours_per_month,
                "usd_to_eur": {"value": table.usd_to_eur, "date": table.usd_to_eur_date, "source": table.usd_to_eur_source},
                "prices": [p.to_dict() for p in table.prices.values()],
                "onprem_references": list(table.onprem_references),
            }
        )
        return
    from rich.table import Table


    out = console()
    grid = Table(
        title=f"price table {table.version} ({table.date}); USD->EUR {table.usd_to_eur:g} ({table.usd_to_eur_date})",
        title_justify="left",
    )
    for name, kw in (("key", {}), ("value", {"justify": "right"}), ("unit", {}), ("conf", {}), ("date", {}), ("source", {"ratio": 1})):
        grid.add_column(name, **kw)
    for p in table.prices.values():
        value = ("≈ " if not p.exact else "") + f"{p.value:g}"
        source = p.derivation or p.source
        grid.add_row(p.key, value, p.unit, p.confidence + (" *" if p.overridden else ""), p.date, source)
    out.print(grid)
    out.print("conf: A vendor price list, B second-hand, U unconfirmed or derived (≈); * set by the profile", markup=False)
