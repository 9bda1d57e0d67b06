"""How AWS SageMaker scores: endpoints autoscale per model, AWS processes the data, nothing to patch.

The figures are judgement encoded as data: visible, few, and named so a reviewer can argue with them."""

from __future__ import annotations

from mlinfra.costs.effort import fte
from mlinfra.costs.model import EstimateError, fmt_number
from mlinfra.costs.prices import price_table
from mlinfra.decision.criteria import Criteria, burst_need, clamp, load_text
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.rules import prod_like, sovereignty
from mlinfra.targets.aws_sagemaker.choice import choose_endpoint
from mlinfra.targets.aws_sagemaker.cost import sagemaker_effort
from mlinfra.targets.aws_sagemaker.edge import has_edge

BURST_GAP = 0.05  # endpoints autoscale per model and Serverless scales to zero
SECURITY_BASE = 0.9  # managed, isolated endpoints behind IAM


def modes(profile: Profile) -> str:
    """How each model is served in production (or the most production-like environment) and why (choice.py), for the
    reasons."""
    env = next((e for e in all_environments(profile) if e.tier == "prod"), None) or prod_like(profile)
    table = price_table(profile)
    try:
        chosen = [choose_endpoint(profile, m, env, table) for m in profile.models]
    except EstimateError:  # no instance holds a model: the option is infeasible and says so
        return ""
    return f"; in {env.name}: " + "; ".join(f"{c.model} {c.mode.replace('realtime', 'real-time')} ({c.why})" for c in chosen)


def criteria(profile: Profile) -> Criteria:
    sov, sov_note = sovereignty(profile)
    security_note = "managed, isolated endpoints behind IAM; no cluster to patch"
    if has_edge(profile):
        security_note += "; callers come through an API Gateway edge" + (
            " whose JWT authorizer checks their OIDC tokens" if profile.security.authentication == "oidc" else "")
    team = profile.team
    efforts = [sagemaker_effort(profile) for _ in all_environments(profile)]
    need = fte(efforts)
    hours = sum(e.hours for e in efforts)
    return Criteria(
        scores={
            "scalability": clamp(1 - BURST_GAP * burst_need(profile)),
            "sovereignty": clamp(sov),
            "security": clamp(SECURITY_BASE),
            "operations": clamp(min(1.0, team.ops_fte / need) if need else 1.0),
        },
        notes={
            "scalability": f"{load_text(profile)}; endpoints autoscale per model{modes(profile)}",
            "sovereignty": sov_note,
            "security": security_note,
            "operations": f"needs ~{need:.2f} FTE ({fmt_number(round(hours, 1))} h a month, the operations time "
            f"priced), no Kubernetes; the team has {team.ops_fte:g} FTE",
        },
    )
