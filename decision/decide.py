"""decide(profile) -> Decision: hard constraints, monthly costs, weighted criteria, a ranked and explained choice.

Pure: no Pulumi, no network, and no target named here: the candidates are given (targets.resolve passes every
installed target) and each brings its own feasibility rules, cost model and criteria scores (`Candidate`).
One target serves every environment of a profile (dev tests what prod runs), so feasibility is checked in every
environment and options are ranked on the cost summed over all of them; `env` narrows the costs shown to one
environment without changing the choice.
Ranking: feasible options within budget come first, then by weighted score; ties go to the cheaper, then by name.
An option over budget never beats one within it; when every option is over budget they are ranked by score.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from mlinfra.costs.model import CostEstimate, EstimateError, fmt_number, money
from mlinfra.costs.prices import PriceTable, price_table
from mlinfra.decision.criteria import CRITERIA, NEUTRAL_SCORE, Criteria, burstiness, cost_score, normalised_weights
from mlinfra.decision.explain import reasons_for, why_lost
from mlinfra.decision.horizon import Horizon, horizon
from mlinfra.decision.sensitivity import (
    BreakEven,
    CostCurve,
    break_evens,
    cost_functions,
    curves,
    no_break_even_text,
    peak_curves,
    peak_text,
)
from mlinfra.planning.sizing import capacity_assumption
from mlinfra.profiles.environments import EnvironmentSettings, all_environments, resolve_environment
from mlinfra.profiles.model import Profile


class Candidate(Protocol):
    """What the decision needs of a target (targets.base.Target implements it)."""

    name: str
    title: str

    def violations(self, profile: Profile) -> list[str]: ...
    def environment_feasibility(self, profile: Profile, env: EnvironmentSettings) -> list[str]: ...
    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate: ...
    def cost_function(
        self, profile: Profile, envs: Sequence[EnvironmentSettings], table: PriceTable
    ) -> Callable[[Profile], float]: ...
    def criteria(self, profile: Profile) -> Criteria: ...
    def components(self, profile: Profile) -> list[str]: ...
    def consequences(self, profile: Profile) -> list[str]: ...


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
    consequences: tuple[str, ...] = ()  # what choosing it means for the team (the decision record lists them)
    horizon: Horizon | None = None  # totals over decision.horizon_years
    # what rules the option out in each environment, checked on that environment's own traffic (the profile-wide
    # violations are in `violations` too, with these prefixed "in <env>: ")
    env_violations: dict[str, tuple[str, ...]] = field(default_factory=dict)
    env_feasible: dict[str, bool] = field(default_factory=dict)  # no profile-wide violation and none of its own

    @property
    def estimated(self) -> bool:
        return any(line.estimated for line in self.cost_breakdown)

    def env_cost(self, env: str) -> float | None:
        """This option's monthly cost in one environment."""
        if self.monthly_cost_eur is None:
            return None
        return round(sum(line.monthly_eur for line in self.cost_breakdown if line.env == env), 2)

    def feasible_in(self, env: str) -> bool:
        """Feasible in one environment: no profile-wide violation and none of that environment's own."""
        return self.env_feasible.get(env, self.feasible)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "title": self.title,
            "feasible": self.feasible,
            "violations": list(self.violations),
            "feasible_by_env": dict(self.env_feasible),
            "violations_by_env": {env: list(vs) for env, vs in self.env_violations.items()},
            "monthly_cost_eur": self.monthly_cost_eur,
            "cost_estimated": self.estimated,
            "monthly_cost_eur_by_env": {
                env: self.env_cost(env) for env in dict.fromkeys(line.env for line in self.cost_breakdown)
            },
            "cost_breakdown": [line.to_dict() for line in self.cost_breakdown],
            "score": self.score,
            "rank": self.rank,
            "criteria": dict(self.criteria),
            "criteria_notes": dict(self.notes),
            "over_budget": self.over_budget,
            "why": self.why,
            "components": list(self.components),
            "consequences": list(self.consequences),
            "horizon": self.horizon.to_dict() if self.horizon else None,
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
    cost_curves: tuple[CostCurve, ...] = ()  # the feasible options' monthly cost against traffic (sensitivity.py)
    break_even: tuple[BreakEven, ...] = ()
    peak_break_even: tuple[BreakEven, ...] = ()  # along the peak-to-average ratio (average_rps holds the ratio)
    average_rps: float = 0.0  # the profile's average requests/s over all models (where the curves are today)

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
            "cost_curves": [c.to_dict() for c in self.cost_curves],
            "break_even": [b.to_dict() for b in self.break_even],
            "peak_break_even": [{"peak_ratio": b.average_rps, "cheaper_below": b.cheaper_below,
                                 "cheaper_above": b.cheaper_above, "monthly_eur": b.monthly_eur}
                                for b in self.peak_break_even],
            "average_rps": self.average_rps,
        }


# ---------------------------------------------------------------------------------------------------------


def decide(profile: Profile, targets: Sequence[Candidate], env: str | None = None) -> Decision:
    """Evaluate every candidate for `profile` in every environment and pick one for all of them.

    `env` (raises UnknownEnvironment) shows that environment's costs; the choice is the same for every env."""
    envs = all_environments(profile)
    if env:
        resolve_environment(profile, env)
    table = price_table(profile)
    candidates = sorted(targets, key=lambda t: t.name)
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
    ranked = [replace(o, rank=i + 1) for i, o in enumerate(ranked)]
    infeasible = sorted((o for o in evaluated if not o.feasible), key=lambda o: o.target)
    infeasible = [replace(o, why="infeasible: " + "; ".join(o.violations)) for o in infeasible]

    priced = {o.target for o in ranked if o.monthly_cost_eur is not None}
    sweeping = [t for t in candidates if t.name in priced]
    functions = cost_functions(profile, sweeping, envs, table) if len(priced) > 1 else {}
    swept = curves(profile, sweeping, envs, table, functions) if len(priced) > 1 else []
    crossings = break_evens(swept)
    peaks = break_evens(peak_curves(profile, sweeping, envs, table, functions)) if swept else []
    if ranked:
        chosen = ranked[0]
        ranked = [chosen] + [replace(o, why=why_lost(o, chosen, weights, budget)) for o in ranked[1:]]
        reasons = reasons_for(chosen, ranked[1:], infeasible, weights, budget, profile)
    else:
        chosen = None
        reasons = [_nothing_feasible(infeasible)]
    options = tuple(ranked + infeasible)

    used = table.used(k for o in options for line in o.cost_breakdown for k in line.price_keys)
    # where each model's requests/s per replica comes from (measured or the framework default), then the costs'
    capacity = [capacity_assumption(m) for m in profile.models]
    assumptions = tuple(dict.fromkeys([*capacity, *(a for o in options for a in o.assumptions)]))
    every = ", ".join(e.name for e in envs)
    scope = (f"environment {env} (the choice weighs the sum over all environments: {every})" if env
             else f"the sum over all environments ({every})")
    today = sum(m.traffic.average_rps for m in profile.models)
    reasons = [
        *reasons,
        *(b.text(today) for b in crossings),
        *(peak_text(b, burstiness(profile)) for b in peaks),
        *([no_break_even_text(swept, today)] if swept and not crossings and not peaks else []),
        f"one target serves every environment ({every}), so what dev and staging test is what prod runs; "
        "config mlinfra:target pins another for one stack",
        f"monthly costs are for {scope}, in EUR at {table.usd_to_eur:g} EUR/USD ({table.usd_to_eur_date}); "
        "'≈' marks figures that use unconfirmed prices",
    ]
    if env:
        reasons.insert(len(reasons) - 2, _env_reason(profile, resolve_environment(profile, env), options))
        options = tuple(_only_env(o, env) for o in options)
    return Decision(
        profile=profile.name,
        target=chosen.target if chosen else None,
        feasible=chosen is not None,
        reasons=tuple(reasons),
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
        cost_curves=tuple(swept),
        break_even=tuple(crossings),
        peak_break_even=tuple(peaks),
        average_rps=today,
    )


def _nothing_feasible(infeasible: list[Option]) -> str:
    """One line: every distinct violation once, with the targets it rules out (shared rules are not repeated)."""
    by_text: dict[str, list[str]] = {}
    for o in infeasible:
        for v in o.violations:
            by_text.setdefault(v, []).append(o.target)
    return "no target is feasible: " + "; ".join(f"{', '.join(names)}: {v}" for v, names in by_text.items())


def _env_reason(profile: Profile, env: EnvironmentSettings, options: Sequence[Option]) -> str:
    """What `--env` checks: the environment's own traffic, and which options hold it (and why not the others)."""
    average = sum(m.traffic.average_rps for m in profile.models) * env.traffic_share
    peak = sum(m.traffic.peak_rps for m in profile.models) * env.traffic_share
    ok = [o.target for o in options if o.feasible_in(env.name)]
    not_ok = [o for o in options if not o.feasible_in(env.name)]
    text = (f"{env.name} is checked on its own traffic: {fmt_number(round(average, 3))} req/s average, "
            f"{fmt_number(round(peak, 3))} at peak ({fmt_number(env.traffic_share)} of the profile's, "
            f"environments.{env.name}.traffic_share); feasible there: {', '.join(ok) or 'none'}")
    for o in not_ok:
        own = o.env_violations.get(env.name, ())
        text += f"; {o.target} not: {'; '.join(own) if own else 'ruled out for the whole profile (see above)'}"
    return text


def _only_env(option: Option, env: str) -> Option:
    """The option with one environment's cost lines, cost and own violations (its feasibility for the choice, scores
    and rank stay those of the whole profile)."""
    return replace(
        option,
        monthly_cost_eur=option.env_cost(env),
        cost_breakdown=tuple(line for line in option.cost_breakdown if line.env == env),
        env_violations={env: option.env_violations.get(env, ())},
        env_feasible={env: option.feasible_in(env)},
    )


def _evaluate(
    target: Candidate, profile: Profile, envs: list[EnvironmentSettings], table: PriceTable, allowed: Sequence[str]
) -> Option:
    violations = list(target.violations(profile))
    per_env = {env.name: tuple(target.environment_feasibility(profile, env)) for env in envs}
    own = {f"in {e}: {v}" for e, vs in per_env.items() for v in vs}  # the rest of `violations` holds everywhere
    if allowed and target.name not in allowed:
        violations.insert(0, f"not among decision.targets ({', '.join(allowed)})")
    lines: list[BreakdownLine] = []
    assumptions: list[str] = []
    total: float | None = 0.0
    capex = amortised = life = 0.0
    try:
        for env in envs:
            estimate = target.estimate(profile, env, table)
            assumptions += estimate.assumptions
            capex += estimate.capex_eur
            amortised += estimate.amortised_monthly_eur
            life = estimate.capex_life_years or life
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
    scored = target.criteria(profile)
    over = horizon(
        [(line.monthly_eur, line.price_keys) for line in lines], profile.decision.horizon_years, table.commitments,
        capex, amortised, life,
    ) if total is not None else None
    return Option(
        target=target.name,
        title=target.title or target.name,
        feasible=not violations,
        violations=tuple(violations),
        monthly_cost_eur=round(total, 2) if total is not None else None,
        cost_breakdown=tuple(lines),
        criteria=dict(scored.scores),
        notes=dict(scored.notes),
        components=tuple(target.components(profile)),
        assumptions=tuple(dict.fromkeys(assumptions)),
        consequences=tuple(target.consequences(profile)),
        horizon=over,
        env_violations=per_env,
        env_feasible={e: not vs and all(v in own for v in violations) for e, vs in per_env.items()},
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
        shown = money(cost, estimated=option.estimated)
        notes["cost"] = f"{shown} EUR/month" + (
            ", the cheapest feasible option" if cost <= cheapest else f"; the cheapest feasible option costs {money(cheapest)}"
        )
        if cost <= cheapest and n_priced == 1:
            notes["cost"] = f"{shown} EUR/month, the only feasible option with a cost"
    for c in CRITERIA:
        notes.setdefault(c, f"not scored by target {option.target} (neutral {NEUTRAL_SCORE})")
    ordered = {c: criteria[c] for c in CRITERIA}
    score = round(sum(weights[c] * ordered[c] for c in CRITERIA), 3)
    over = None if budget is None or cost is None else cost > budget
    return replace(option, criteria=ordered, notes={c: notes[c] for c in CRITERIA}, score=score, over_budget=over)
