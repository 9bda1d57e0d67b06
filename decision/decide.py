"""decide(profile) -> Decision: hard constraints, monthly costs, weighted criteria, a ranked and explained choice.

Pure: no Pulumi, no network. Targets come from the registry (built-ins and plugins alike) unless given.
Ranking: feasible options within budget come first, then by weighted score; ties go to the cheaper, then by name.
An option over budget never beats one within it; when every option is over budget they are ranked by score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlinfra.decision.constraints import conflicts
from mlinfra.decision.explain import eur, reasons_for, why_lost
from mlinfra.decision.scoring import CRITERIA, cost_score, normalised_weights

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.costs.prices import PriceTable
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Profile
    from mlinfra.targets.base import Target

NEUTRAL_SCORE = 0.5  # a plugin target that does not score a criterion


class DecisionError(ValueError):
    """The decision cannot be made as asked (e.g. decision.targets names a target that is not installed)."""


@dataclass(frozen=True)
class BreakdownLine:
    env: str
    item: str
    monthly_eur: float
    price_keys: tuple[str, ...]
    note: str
    estimated: bool  # uses an unconfirmed (U) price: never shown as exact

    def to_dict(self) -> dict[str, Any]:
        return {
            "env": self.env,
            "item": self.item,
            "monthly_eur": self.monthly_eur,
            "price_keys": list(self.price_keys),
            "note": self.note,
            "estimated": self.estimated,
        }


@dataclass(frozen=True)
class Option:
    target: str
    title: str
    feasible: bool
    violations: tuple[str, ...]
    monthly_cost_eur: float | None
    cost_breakdown: tuple[BreakdownLine, ...]
    criteria: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    score: float | None = None
    rank: int | None = None
    over_budget: bool | None = None
    why: str = ""
    components: tuple[str, ...] = ()
    assumptions: tuple[str, ...] = ()

    @property
    def estimated(self) -> bool:
        return any(line.estimated for line in self.cost_breakdown)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "title": self.title,
            "feasible": self.feasible,
            "violations": list(self.violations),
            "monthly_cost_eur": self.monthly_cost_eur,
            "cost_estimated": self.estimated,
            "cost_breakdown": [line.to_dict() for line in self.cost_breakdown],
            "score": self.score,
            "rank": self.rank,
            "criteria": dict(self.criteria),
            "criteria_notes": dict(self.notes),
            "over_budget": self.over_budget,
            "why": self.why,
            "components": list(self.components),
        }


@dataclass(frozen=True)
class Decision:
    profile: str
    target: str | None
    feasible: bool
    reasons: tuple[str, ...]
    options: tuple[Option, ...]  # chosen first, then by rank, then infeasible by name
    components: tuple[str, ...]
    weights: dict[str, float]
    env: str | None
    environments: tuple[str, ...]  # environments the costs cover
    budget_monthly_eur: float | None
    price_table: dict[str, Any]
    prices_used: tuple[dict[str, Any], ...]
    assumptions: tuple[str, ...]

    @property
    def chosen(self) -> Option | None:
        return self.options[0] if self.target else None

    @property
    def cost_scope(self) -> str:
        if self.env:
            return f"environment {self.env}"
        return f"sum over all environments ({', '.join(self.environments)})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "target": self.target,
            "feasible": self.feasible,
            "reasons": list(self.reasons),
            "options": [o.to_dict() for o in self.options],
            "components": list(self.components),
            "weights": dict(self.weights),
            "env": self.env,
            "environments": list(self.environments),
            "cost_scope": self.cost_scope,
            "budget_monthly_eur": self.budget_monthly_eur,
            "price_table": dict(self.price_table),
            "prices_used": [dict(p) for p in self.prices_used],
            "assumptions": list(self.assumptions),
        }


# ---------------------------------------------------------------------------------------------------------


def decide(profile: Profile, env: str | None = None, targets: Sequence[Target | str] | None = None) -> Decision:
    """Evaluate every target for `profile` (costs for `env`, or summed over all environments) and pick one."""
    from mlinfra.costs.prices import price_table
    from mlinfra.profiles.environments import all_environments, resolve_environment

    envs = [resolve_environment(profile, env)] if env else all_environments(profile)
    table = price_table(profile)
    candidates = _targets(targets)
    names = [t.name for t in candidates]
    allowed = profile.decision.targets
    if allowed:
        unknown = [n for n in allowed if n not in names]
        if unknown:
            raise DecisionError(
                f"decision.targets names {', '.join(repr(n) for n in unknown)}, which "
                f"{'is' if len(unknown) == 1 else 'are'} not installed; installed targets: {', '.join(names)}"
            )
    weights = normalised_weights(profile)
    budget = profile.budget.monthly_eur

    evaluated = [_evaluate(t, profile, envs, table, allowed) for t in candidates]
    feasible = [o for o in evaluated if o.feasible]
    costs = [o.monthly_cost_eur for o in feasible if o.monthly_cost_eur is not None]
    cheapest = min(costs) if costs else None
    scored = [_score(o, weights, cheapest, budget, len(costs)) for o in feasible]
    ranked = sorted(scored, key=lambda o: (bool(o.over_budget), -(o.score or 0.0), o.monthly_cost_eur or 0.0, o.target))
    ranked = [_with(o, rank=i + 1) for i, o in enumerate(ranked)]
    infeasible = sorted((o for o in evaluated if not o.feasible), key=lambda o: o.target)

    if ranked:
        chosen = ranked[0]
        ranked = [chosen] + [_with(o, why=why_lost(o, chosen, weights, budget)) for o in ranked[1:]]
        infeasible = [_with(o, why="infeasible: " + "; ".join(o.violations)) for o in infeasible]
        reasons = reasons_for(chosen, ranked[1:], infeasible, weights, budget, profile)
    else:
        chosen = None
        infeasible = [_with(o, why="infeasible: " + "; ".join(o.violations)) for o in infeasible]
        reasons = ["no target is feasible: " + "; ".join(conflicts(profile, {o.target: list(o.violations) for o in infeasible}))]
    options = tuple(ranked + infeasible)

    used = table.used(k for o in options for line in o.cost_breakdown for k in line.price_keys)
    assumptions = tuple(dict.fromkeys(a for o in options for a in o.assumptions))
    scope = f"environment {env}" if env else f"the sum over all environments ({', '.join(e.name for e in envs)})"
    return Decision(
        profile=profile.name,
        target=chosen.target if chosen else None,
        feasible=chosen is not None,
        reasons=tuple([*reasons, f"monthly costs are for {scope}, in EUR at {table.usd_to_eur:g} EUR/USD "
                       f"({table.usd_to_eur_date}); '≈' marks figures that use unconfirmed prices"]),
        options=options,
        components=tuple(chosen.components) if chosen else (),
        weights=weights,
        env=env,
        environments=tuple(e.name for e in envs),
        budget_monthly_eur=budget,
        price_table={
            "version": table.version,
            "date": table.date,
            "usd_to_eur": table.usd_to_eur,
            "usd_to_eur_date": table.usd_to_eur_date,
            "usd_to_eur_source": table.usd_to_eur_source,
        },
        prices_used=tuple(p.to_dict() for p in used),
        assumptions=assumptions,
    )


def _targets(targets: Sequence[Target | str] | None) -> list[Target]:
    from mlinfra.targets.registry import get_target, load_targets

    if targets is None:
        return load_targets()
    out = []
    for t in targets:
        if isinstance(t, str):
            try:
                out.append(get_target(t))
            except KeyError as exc:
                raise DecisionError(str(exc.args[0])) from None
        else:
            out.append(t)
    return sorted(out, key=lambda t: t.name)


def _evaluate(target: Target, profile: Profile, envs: list[EnvironmentSettings], table: PriceTable, allowed) -> Option:
    from mlinfra.costs.estimate import EstimateError

    violations = list(target.violations(profile))
    if allowed and target.name not in allowed:
        violations.insert(0, f"not among decision.targets ({', '.join(allowed)})")
    lines: list[BreakdownLine] = []
    assumptions: list[str] = []
    total: float | None = 0.0
    try:
        for env in envs:
            estimate = target.estimate(profile, env)
            assumptions += estimate.assumptions
            for line in estimate.lines:
                lines.append(
                    BreakdownLine(
                        env=env.name,
                        item=line.item,
                        monthly_eur=line.monthly_eur,
                        price_keys=tuple(line.price_keys),
                        note=line.note,
                        estimated=any(k in table.prices and not table.prices[k].exact for k in line.price_keys)
                        or "≈" in line.note,
                    )
                )
            total += estimate.monthly_eur
    except NotImplementedError:  # a plugin without a cost model: still ranked, with a neutral cost score
        total, lines = None, []
    except EstimateError as exc:
        total, lines = None, []
        if not violations:
            violations.append(f"cannot be priced: {exc}")
    except Exception:  # noqa: BLE001 - an infeasible option's estimate may fail on the very gap it violates
        if not violations:
            raise
        total, lines = None, []
    notes_fn = getattr(target, "criteria_notes", None)
    return Option(
        target=target.name,
        title=target.title or target.name,
        feasible=not violations,
        violations=tuple(violations),
        monthly_cost_eur=round(total, 2) if total is not None else None,
        cost_breakdown=tuple(lines),
        criteria=dict(target.criteria(profile)),
        notes=dict(notes_fn(profile)) if notes_fn else {},
        components=tuple(target.components(profile)),
        assumptions=tuple(dict.fromkeys(assumptions)),
    )


def _score(
    option: Option, weights: dict[str, float], cheapest: float | None, budget: float | None, n_priced: int
) -> Option:
    criteria = {c: min(1.0, max(0.0, float(option.criteria.get(c, NEUTRAL_SCORE)))) for c in CRITERIA if c != "cost"}
    notes = dict(option.notes)
    cost = option.monthly_cost_eur
    if cost is None or cheapest is None:
        criteria["cost"] = NEUTRAL_SCORE
        notes["cost"] = f"no cost model (neutral {NEUTRAL_SCORE})"
    else:
        criteria["cost"] = cost_score(cost, cheapest, budget)
        approx = "≈ " if option.estimated else ""
        notes["cost"] = f"{approx}{eur(cost)} EUR/month" + (
            ", the cheapest feasible option" if cost <= cheapest else f"; the cheapest feasible option costs {eur(cheapest)}"
        )
        if cost <= cheapest and n_priced == 1:
            notes["cost"] = f"{approx}{eur(cost)} EUR/month, the only feasible option with a cost"
    for c in CRITERIA:
        notes.setdefault(c, f"not scored by target {option.target} (neutral {NEUTRAL_SCORE})")
    ordered = {c: criteria[c] for c in CRITERIA}
    score = round(sum(weights[c] * ordered[c] for c in CRITERIA), 3)
    over = None if budget is None or cost is None else cost > budget
    return _with(option, criteria=ordered, notes={c: notes[c] for c in CRITERIA}, score=score, over_budget=over)


def _with(option: Option, **changes: Any) -> Option:
    from dataclasses import replace

    return replace(option, **changes)
