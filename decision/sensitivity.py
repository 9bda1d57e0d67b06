"""Break-even: how each option's monthly cost moves with the profile's traffic, and where the cheapest one changes.

The sweep scales every model's average and peak requests/s by the same factors and evaluates only the
candidates' cost models (their `cost_function`, set up once per profile for both sweeps: what their estimates over
the environments add up to - sizing, bin packing and price arithmetic), never the feasibility rules, scores or
ranking. Capacity limits (an on-premise cluster's nodes) are not re-checked along the curve: it answers "what would
it cost", not "would it fit".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlinfra.costs.model import EstimateError, fmt_number

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.costs.prices import PriceTable
    from mlinfra.decision.decide import Candidate
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Profile

# Multiples of the profile's traffic the curves are drawn at: 1/16 to 16 times, a factor of 2 apart.
SCALES = (0.0625, 0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
# Peak-to-average ratios the peak sweep tries, the average kept: steady to very bursty.
PEAK_RATIOS = (1.0, 2.0, 4.0, 8.0, 16.0)


@dataclass(frozen=True)
class CostCurve:
    target: str
    points: tuple[tuple[float, float], ...]  # (average requests/s over all models, EUR a month over all envs)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "points": [{"average_rps": r, "monthly_eur": c} for r, c in self.points]}


@dataclass(frozen=True)
class BreakEven:
    average_rps: float  # where the two curves cross (linear between the sweep's points)
    cheaper_below: str
    cheaper_above: str
    monthly_eur: float

    def text(self, today_rps: float) -> str:
        return (
            f"break-even: {self.cheaper_above} costs less than {self.cheaper_below} above ~{_rps(self.average_rps)} "
            f"req/s average ({self.average_rps / today_rps:.2g}x today's {_rps(today_rps)}; ~{self.monthly_eur:,.0f} "
            "EUR/month there)" if today_rps else
            f"break-even: {self.cheaper_above} costs less than {self.cheaper_below} above ~{_rps(self.average_rps)} "
            "req/s average"
        )

    def to_dict(self) -> dict[str, Any]:
        return {"average_rps": self.average_rps, "cheaper_below": self.cheaper_below,
                "cheaper_above": self.cheaper_above, "monthly_eur": self.monthly_eur}


def scaled(profile: Profile, factor: float) -> Profile:
    """The profile with every model's average and peak traffic multiplied by `factor` (no re-validation needed:
    scaling keeps peak >= average and both >= 0)."""
    models = [
        m.model_copy(update={"traffic": m.traffic.model_copy(update={
            "average_rps": round(m.traffic.average_rps * factor, 6), "peak_rps": round(m.traffic.peak_rps * factor, 6),
        })})
        for m in profile.models
    ]
    return profile.model_copy(update={"models": models})


def with_peak_ratio(profile: Profile, ratio: float) -> Profile:
    """The profile with every model's peak set to `ratio` x its average (a model without average traffic keeps its
    peak)."""
    models = [
        m.model_copy(update={"traffic": m.traffic.model_copy(update={"peak_rps": round(m.traffic.average_rps * ratio, 6)})})
        if m.traffic.average_rps else m
        for m in profile.models
    ]
    return profile.model_copy(update={"models": models})


def cost_functions(
    profile: Profile, candidates: Sequence[Candidate], envs: Sequence[EnvironmentSettings], table: PriceTable
) -> dict[str, Callable[[Profile], float]]:
    """Each candidate's cost function of `profile`'s traffic (Target.cost_function), set up once for both sweeps; a
    candidate whose cost model cannot price the profile at all is left out."""
    found: dict[str, Callable[[Profile], float]] = {}
    for c in candidates:
        try:
            found[c.name] = c.cost_function(profile, envs, table)
        except (EstimateError, NotImplementedError):
            continue
    return found


def curves(
    profile: Profile, candidates: Sequence[Candidate], envs: Sequence[EnvironmentSettings], table: PriceTable,
    functions: Mapping[str, Callable[[Profile], float]] | None = None,
) -> list[CostCurve]:
    """Each candidate's monthly cost (all environments) at every scale of the profile's traffic (`functions`: their
    cost_functions when already set up)."""
    today = sum(m.traffic.average_rps for m in profile.models)
    if functions is None:
        functions = cost_functions(profile, candidates, envs, table)
    return sweep([(round(today * f, 6), scaled(profile, f)) for f in SCALES], candidates, functions)


def peak_curves(
    profile: Profile, candidates: Sequence[Candidate], envs: Sequence[EnvironmentSettings], table: PriceTable,
    functions: Mapping[str, Callable[[Profile], float]] | None = None,
) -> list[CostCurve]:
    """Each candidate's monthly cost at every peak-to-average ratio of PEAK_RATIOS, the average kept."""
    if not any(m.traffic.average_rps for m in profile.models):
        return []
    if functions is None:
        functions = cost_functions(profile, candidates, envs, table)
    return sweep([(r, with_peak_ratio(profile, r)) for r in PEAK_RATIOS], candidates, functions)


def sweep(
    variants: Sequence[tuple[float, Profile]], candidates: Sequence[Candidate],
    functions: Mapping[str, Callable[[Profile], float]],
) -> list[CostCurve]:
    """Each candidate's monthly cost (all environments) at every (x, variant of the profile's traffic), from its
    cost function; a variant it cannot price (no instance holds the load) is left out of its curve."""
    found: dict[str, list[tuple[float, float]]] = {c.name: [] for c in candidates}
    for c in candidates:
        monthly = functions.get(c.name)
        if monthly is None:
            continue
        for x, variant in variants:
            try:
                total = monthly(variant)
            except (EstimateError, NotImplementedError):
                continue
            found[c.name].append((x, round(total, 2)))
    return [CostCurve(name, tuple(points)) for name, points in found.items() if points]


def peak_text(b: BreakEven, today_ratio: float) -> str:
    """A break-even of the peak sweep (its x is a peak-to-average ratio)."""
    return (f"break-even: {b.cheaper_below} costs less than {b.cheaper_above} below a peak of ~{b.average_rps:.2g}x "
            f"the average (today {today_ratio:.2g}x)")


def break_evens(found: Sequence[CostCurve]) -> list[BreakEven]:
    """Where the cheapest option changes along the sweep, the crossing interpolated linearly between points."""
    by_rps: dict[float, dict[str, float]] = {}
    for curve in found:
        for rps, cost in curve.points:
            by_rps.setdefault(rps, {})[curve.target] = cost
    xs = sorted(x for x, costs in by_rps.items() if len(costs) == len(found))
    result: list[BreakEven] = []
    for lo, hi in zip(xs, xs[1:]):
        a = min(by_rps[lo], key=lambda t: (by_rps[lo][t], t))
        b = min(by_rps[hi], key=lambda t: (by_rps[hi][t], t))
        if a == b:
            continue
        # cost difference b - a goes from positive (a cheaper) at lo to <= 0 at hi
        d_lo = by_rps[lo][b] - by_rps[lo][a]
        d_hi = by_rps[hi][b] - by_rps[hi][a]
        share = d_lo / (d_lo - d_hi) if d_lo != d_hi else 1.0
        x = lo + (hi - lo) * share
        cost = by_rps[lo][a] + (by_rps[hi][a] - by_rps[lo][a]) * share
        result.append(BreakEven(average_rps=round(x, 3), cheaper_below=a, cheaper_above=b, monthly_eur=round(cost, 2)))
    return result


def _rps(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:,.0f}"


def no_break_even_text(found: Sequence[CostCurve], today_rps: float) -> str:
    """What the sweep found when the cheapest option never changes: the span it covered and the option that stays
    the cheapest at today's traffic."""
    at_today = {c.target: dict(c.points).get(round(today_rps, 6)) for c in found}
    cheapest = min((t for t, v in at_today.items() if v is not None), key=lambda t: (at_today[t], t), default=None)
    span = f"{fmt_number(SCALES[0])} to {fmt_number(SCALES[-1])} times today's traffic"
    ratios = f"peak ratios {fmt_number(PEAK_RATIOS[0])} to {fmt_number(PEAK_RATIOS[-1])}"
    return f"no break-even from {span} nor across {ratios}" + (f": {cheapest} stays the cheapest" if cheapest else "")
