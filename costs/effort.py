"""Operations effort: one model of the team's time per target, read by both the operations score (as FTE) and the
cost (as billed hours), so the two can never disagree.

A target states what its operations take a month in one environment as parts (what, hours, the profile fields
behind the hours); the cost bills those hours at costs.onprem.ops_hourly_rate_eur, and the score compares their
sum over every environment with team.ops_fte.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.costs.model import CostLine, fmt_number

# Productive hours of one employed engineer a month: about 1,600 a year (holidays, sickness, training and meetings
# off 2,080 contract hours), the figure behind the fully loaded hourly rate.
HOURS_PER_FTE_MONTH = round(1600 / 12, 2)  # 133.33
RATE_KEY = "costs.onprem.ops_hourly_rate_eur"


@dataclass(frozen=True)
class EffortPart:
    what: str
    hours: float  # a month
    keys: tuple[str, ...] = ()  # the profile fields the hours come from


@dataclass(frozen=True)
class Effort:
    """Operations hours a month of one target in one environment."""

    parts: tuple[EffortPart, ...]

    @property
    def hours(self) -> float:
        return round(sum(p.hours for p in self.parts), 4)

    def line(self, rate_eur: float) -> CostLine:
        """The cost line billing these hours."""
        keys = tuple(dict.fromkeys(k for p in self.parts for k in p.keys)) + (RATE_KEY,)
        detail = "; ".join(f"{p.what} {fmt_number(round(p.hours, 2))} h" for p in self.parts if p.hours)
        return CostLine(
            item=f"operations time ({fmt_number(round(self.hours, 2))} h)",
            monthly_eur=round(self.hours * rate_eur, 2),
            price_keys=keys,
            note=detail,
        )


def fte(efforts: list[Effort]) -> float:
    """Full-time equivalents the hours of `efforts` (one per environment) take."""
    return round(sum(e.hours for e in efforts) / HOURS_PER_FTE_MONTH, 3)


def models_part(n_models: int, hours_per_model: float) -> EffortPart:
    """Every target: each model in each environment (rollouts, alerts and their follow-up, model updates)."""
    return EffortPart(
        f"{n_models} model{'s' if n_models != 1 else ''} x {fmt_number(hours_per_model)} h",
        n_models * hours_per_model, ("costs.ops_hours_per_model_month",),
    )
