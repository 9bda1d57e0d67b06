"""Plain-language explanations: why the chosen option won, what it gives up, why each alternative lost."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlinfra.costs.model import money
from mlinfra.decision.criteria import CRITERIA, burstiness, trivial_peak

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.decision.decide import Option
    from mlinfra.profiles.model import Profile

BURSTY = 3.0  # peak/average from which the load shape is worth a reason of its own


def cost_text(option: Option) -> str:
    """Monthly cost in whole EUR, '≈' when it rests on unconfirmed prices."""
    return money(option.monthly_cost_eur or 0, estimated=option.estimated)


def _gaps(loser: Option, winner: Option, weights: dict[str, float]) -> list[tuple[float, str]]:
    """Criteria where `loser` trails `winner`, largest weighted gap first."""
    gaps = [(weights[c] * (winner.criteria[c] - loser.criteria[c]), c) for c in CRITERIA]
    return sorted((g for g in gaps if g[0] > 0.0005), key=lambda g: (-g[0], g[1]))


def why_lost(option: Option, chosen: Option, weights: dict[str, float], budget: float | None) -> str:
    """One line: budget first, then the score gap and the two criteria that cost the most."""
    parts = []
    if option.over_budget and not chosen.over_budget:
        parts.append(f"over the {money(budget or 0)} EUR budget ({cost_text(option)} EUR/month)")
    parts.append(f"scores {option.score:.2f} against {chosen.score:.2f} for {chosen.target}")
    for _, c in _gaps(option, chosen, weights)[:2]:
        parts.append(f"{c} {option.criteria[c]:.2f} vs {chosen.criteria[c]:.2f}: {option.notes[c]}")
    return "; ".join(parts)


def reasons_for(
    chosen: Option, others: list[Option], infeasible: list[Option], weights: dict[str, float], budget: float | None,
    profile: Profile,
) -> list[str]:
    """Why `chosen` won, its trade-offs, the budget, the infeasible options and the load shape."""
    reasons: list[str] = []
    if others:
        runner = others[0]
        pricier = [o for o in others if o.over_budget and not chosen.over_budget and (o.score or 0) > (chosen.score or 0)]
        if pricier:
            reasons.append(
                f"{chosen.target} ranks first as the best-scoring option within budget ({chosen.score:.2f}); "
                "scoring higher but over budget: " + ", ".join(f"{o.target} ({o.score:.2f})" for o in pricier)
            )
        else:
            reasons.append(
                f"{chosen.target} ranks first with a weighted score of {chosen.score:.2f}, ahead of "
                + ", ".join(f"{o.target} ({o.score:.2f})" for o in others)
            )
        leads = [c for _, c in _gaps(runner, chosen, weights)][:3]
    else:
        reasons.append(f"{chosen.target} is the only feasible option (score {chosen.score:.2f})")
        leads = sorted(CRITERIA, key=lambda c: (-weights[c] * chosen.criteria[c], c))[:3]
    # scalability is always said: how the chosen option absorbs the load (on SageMaker, how each model is served
    # and the field or figure that decided it)
    for c in [*leads, *(["scalability"] if "scalability" not in leads else [])]:
        reasons.append(f"{c} ({chosen.criteria[c]:.2f}, weight {weights[c]:.2f}): {chosen.notes[c]}")
    if others:
        gives_up = _gaps(chosen, others[0], weights)[:2]
        for _, c in gives_up:
            reasons.append(
                f"trade-off: {others[0].target} is better on {c} ({others[0].criteria[c]:.2f} vs "
                f"{chosen.criteria[c]:.2f}): {others[0].notes[c]}"
            )
    if budget is not None and chosen.monthly_cost_eur is not None:
        if chosen.over_budget:
            reasons.append(
                f"over budget: {cost_text(chosen)} EUR/month exceeds budget.monthly_eur {money(budget)}, "
                "and every feasible option does"
            )
        else:
            reasons.append(f"within budget: {cost_text(chosen)} of {money(budget)} EUR/month")
    for o in infeasible:
        reasons.append(f"{o.target} is infeasible: {o.violations[0]}")
    b = burstiness(profile)
    if (b >= BURSTY and not trivial_peak(profile) and others
            and all(chosen.criteria["scalability"] >= o.criteria["scalability"] for o in others)):
        reasons.append(f"bursty load (peak {b:.1f}x average) favours capacity that scales with demand")
    if profile.team.ops_fte == 0:
        reasons.insert(1, (
            "warning: team.ops_fte is 0, so nobody owns the service: someone must answer its alerts, roll out models "
            f"and follow upgrades ({chosen.target}: {chosen.notes['operations']}); set team.ops_fte to the time "
            "the team gives it"))
    return reasons
