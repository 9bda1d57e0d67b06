"""What a cost model returns: monthly estimates as lines that name the prices they used; one money format."""

from __future__ import annotations

from dataclasses import dataclass


class EstimateError(ValueError):
    """The profile cannot be priced on a target (e.g. no instance in the price table holds a model)."""


@dataclass(frozen=True)
class CostLine:
    """One line of a monthly cost estimate."""

    item: str  # what is paid for, e.g. "2 x m6i.large worker nodes"
    monthly_eur: float
    price_keys: tuple[str, ...] = ()  # price-table entries or profile fields used (where a figure came from)
    note: str = ""  # e.g. "unconfirmed price (U)"


@dataclass(frozen=True)
class CostEstimate:
    """Monthly cost of a target for one environment, with a per-line breakdown."""

    lines: tuple[CostLine, ...]
    assumptions: tuple[str, ...] = ()
    # Hardware to be bought (onprem.purchase): what it costs up front, the monthly amortisation lines it replaces
    # in a total over years, and its life (a refresh buys it again).
    capex_eur: float = 0.0
    amortised_monthly_eur: float = 0.0
    capex_life_years: float = 0.0

    @property
    def monthly_eur(self) -> float:
        return round(sum(line.monthly_eur for line in self.lines), 2)


def fmt_number(value: float) -> str:
    """A number for item texts: no trailing zeros, thousands separated above 100,000."""
    return f"{value:g}" if value < 1e5 else f"{value:,.0f}"


def money(value: float | None, *, estimated: bool = False, cents: bool = False) -> str:
    """EUR for people: whole euros (or cents), thousands separated, '≈ ' when unconfirmed prices are in it."""
    if value is None:
        return "-"
    return ("≈ " if estimated else "") + (f"{value:,.2f}" if cents else f"{value:,.0f}")
