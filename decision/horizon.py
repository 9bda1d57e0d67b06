"""Totals over the decision's horizon (decision.horizon_years): on demand, with each savings plan, and with the
hardware to be bought (onprem.purchase) paid up front and refreshed instead of amortised monthly.

Pure arithmetic over an option's monthly lines: a commitment discounts the lines whose first price key belongs to a
service it covers (the price table's `commitments`), assuming the whole of them is committed - the steady floor
is, the peak hours above it may not be, so the savings are an upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Horizon:
    years: int
    on_demand_eur: float
    commitments: tuple[tuple[str, float], ...] = ()  # (plan name, total EUR over the horizon)
    capex_eur: float = 0.0  # purchases inside the horizon (first buy and refreshes)

    @property
    def best_eur(self) -> float:
        return min([self.on_demand_eur, *(total for _, total in self.commitments)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "years": self.years,
            "on_demand_eur": self.on_demand_eur,
            "commitments": [{"plan": name, "total_eur": total} for name, total in self.commitments],
            "capex_eur": self.capex_eur,
            "best_eur": self.best_eur,
        }


def service_of(key: str) -> str:
    return key.split("/", 1)[0]


def horizon(
    lines: list[tuple[float, tuple[str, ...]]], years: int, commitments: tuple[dict[str, Any], ...],
    capex_eur: float = 0.0, amortised_monthly_eur: float = 0.0, capex_life_years: float = 0.0,
) -> Horizon:
    """`lines`: (EUR a month, price keys) of every environment. A plan longer than the horizon is not offered (it
    would bill beyond it); purchases: the first at month 0, a refresh every capex_life_years that starts inside."""
    months = 12 * years
    monthly = sum(eur for eur, _ in lines)
    buys = math.ceil(years / capex_life_years) if capex_eur and capex_life_years else 0
    capex = round(capex_eur * buys, 2)
    base = (monthly - amortised_monthly_eur) * months + capex if capex_eur else monthly * months
    plans = []
    for c in commitments:
        if c["term_years"] > years:
            continue
        covered = set(c["services"])
        saved = sum(eur for eur, keys in lines if keys and service_of(keys[0]) in covered) * float(c["discount"])
        if saved:
            plans.append((str(c["name"]), round(base - saved * months, 2)))
    return Horizon(years=years, on_demand_eur=round(base, 2), commitments=tuple(plans), capex_eur=capex)
