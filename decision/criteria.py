"""The criteria a decision weighs, how cost is scored, and the profile's weights.

Cost is scored relative to the other feasible options, so the ranking (decide.py) computes it; every target
scores the other criteria itself (targets/<name>/criteria.py) and explains each score in one sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mlinfra.planning.sizing import PEAK_HEADROOM, capacity_rps

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Profile

CRITERIA = ("cost", "scalability", "sovereignty", "security", "operations")
NEUTRAL_SCORE = 0.5  # a criterion a target does not score
BURST_FULL = 10.0  # peak/average at which the burst need is 1 (published guidance: "several times")


@dataclass(frozen=True)
class Criteria:
    """A target's scores 0..1 (every criterion but cost) and the sentence that explains each."""

    scores: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)


def clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def cost_score(cost: float, cheapest: float, budget: float | None) -> float:
    """1 for the cheapest; with a budget, minus the share of the budget the extra cost takes (so 100 EUR more
    matters little against 2,000 EUR); without one, cheapest / cost."""
    if cost <= cheapest:
        return 1.0
    if budget:
        return round(max(0.0, 1 - (cost - cheapest) / budget), 3)
    return round(cheapest / cost, 3) if cost > 0 else 1.0


def normalised_weights(profile: Profile) -> dict[str, float]:
    """The profile's weights scaled to sum to 1 (rounded to 4 places for display)."""
    raw = profile.decision.weights.model_dump()
    total = sum(raw.values())
    return {c: round(raw[c] / total, 4) for c in CRITERIA}


def burstiness(profile: Profile) -> float:
    """Total peak / total average requests per second (1 = steady); 'no average' counts as fully bursty."""
    avg = sum(m.traffic.average_rps for m in profile.models)
    peak = sum(m.traffic.peak_rps for m in profile.models)
    if avg <= 0:
        return BURST_FULL if peak > 0 else 1.0
    return round(peak / avg, 3)


def trivial_peak(profile: Profile) -> bool:
    """Every model's peak (with the sizing headroom) fits one replica: however bursty, the load asks for no scaling."""
    return all(m.traffic.peak_rps * PEAK_HEADROOM <= capacity_rps(m) for m in profile.models)


def burst_need(profile: Profile) -> float:
    """0 for steady load or a peak one replica per model holds, 1 for load whose peak is BURST_FULL times its
    average or more."""
    if trivial_peak(profile):
        return 0.0
    return min(1.0, max(0.0, (burstiness(profile) - 1) / (BURST_FULL - 1)))


def load_text(profile: Profile) -> str:
    peak = sum(m.traffic.peak_rps for m in profile.models)
    text = f"peak {peak:g} req/s is {burstiness(profile):.1f}x the average"
    return text + ("; one replica per model holds it, so the load asks for no scaling" if trivial_peak(profile) else "")
