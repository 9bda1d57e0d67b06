"""Criteria scores 0..1 per target, each with the sentence that explains it, and the weights that combine them.

Cost is scored relative to the other feasible options, so the ranking in decide.py computes it (cost_score);
the other criteria depend only on the profile and are computed here.
The figures below are judgement encoded as data: visible, few, and named so a reviewer can argue with them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlinfra.decision.constraints import EKS, ONPREM, SAGEMAKER

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Profile

CRITERIA = ("cost", "scalability", "sovereignty", "security", "operations")

# Scalability: how much of the burst need a target fails to absorb (0 = absorbs any burst). On premise the
# peak is paid for all month (see the cost model), so bursts that fit the cluster only cost the risk of growth.
BURST_GAP = {SAGEMAKER: 0.05, EKS: 0.15, ONPREM: 0.2}
BURST_FULL = 10.0  # peak/average at which the burst need is 1 (published guidance: "several times")
ONPREM_COMFORTABLE_UTILISATION = 0.5  # above this share of the cluster at peak, on-prem scalability drops
# Sovereignty: what a US-owned cloud region costs against the requirement and the data's class.
SOVEREIGNTY_GAP = {"none": 0.0, "eu": 0.25, "on_premise": 1.0}
CLASS_GAP = {"public": 0.0, "internal": 0.05, "confidential": 0.1, "personal": 0.1}
# Security: managed isolation first, then what hardening a cluster asks of the team.
SECURITY_BASE = {SAGEMAKER: 0.9, EKS: 0.8, ONPREM: 0.8}
HARDENING_GAP = {"none": 0.3, "basic": 0.15, "advanced": 0.0}  # k8s targets: RBAC, NetworkPolicy, patching
PUBLIC_EDGE_GAP = {SAGEMAKER: 0.0, EKS: 0.05, ONPREM: 0.1}  # exposure public: who runs the edge (WAF, DDoS)
# Operations: people-time a target needs (FTE) and how far Kubernetes skills carry it.
OPS_FTE_BASE = {SAGEMAKER: 0.05, EKS: 0.25, ONPREM: 0.15}
OPS_FTE_PER_MODEL = {SAGEMAKER: 0.02, EKS: 0.03, ONPREM: 0.03}
OPS_FTE_GPU = {SAGEMAKER: 0.0, EKS: 0.1, ONPREM: 0.1}  # drivers, device plugin, node images
SKILL_FIT = {"none": 0.3, "basic": 0.7, "advanced": 1.0}
SKILL_WORDS = {"none": "no", "basic": "basic", "advanced": "advanced"}


@dataclass(frozen=True)
class Criteria:
    scores: dict[str, float]
    notes: dict[str, str]


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


def criteria(target: str, profile: Profile) -> Criteria:
    """Scores and explanations of scalability, sovereignty, security and operations for a built-in target."""
    scores: dict[str, float] = {}
    notes: dict[str, str] = {}
    for name, fn in (("scalability", _scalability), ("sovereignty", _sovereignty), ("security", _security), ("operations", _operations)):
        value, note = fn(target, profile)
        scores[name] = round(min(1.0, max(0.0, value)), 3)
        notes[name] = note
    return Criteria(scores=scores, notes=notes)


def _scalability(target: str, profile: Profile) -> tuple[float, str]:
    b = burstiness(profile)
    need = min(1.0, max(0.0, (b - 1) / (BURST_FULL - 1)))
    peak = sum(m.traffic.peak_rps for m in profile.models)
    load = f"peak {peak:g} req/s is {b:.1f}x the average"
    if target == SAGEMAKER:
        return 1 - BURST_GAP[target] * need, f"{load}; endpoints autoscale per model and Serverless scales to zero"
    if target == EKS:
        return 1 - BURST_GAP[target] * need, f"{load}; the cluster autoscaler adds nodes within minutes"
    utilisation = _onprem_utilisation(profile)
    gap = BURST_GAP[target] * need + max(0.0, utilisation - ONPREM_COMFORTABLE_UTILISATION)
    return 1 - gap, f"{load}; fixed capacity: the peak takes {utilisation:.0%} of the declared cluster"


def _onprem_utilisation(profile: Profile) -> float:
    """Peak share of the declared on-prem cluster (the larger of CPU and GPU), over every environment."""
    if profile.onprem is None:
        return 1.0
    from mlinfra.costs.onprem import onprem_share
    from mlinfra.profiles.environments import all_environments

    envs = all_environments(profile)
    shares = [onprem_share(profile, e, len(envs)) for e in envs]
    cpu = sum(s.cpu_node_equivalents for s in shares) / profile.onprem.cpu_nodes
    gpu_total = profile.onprem.gpu_nodes * profile.onprem.gpus_per_node
    gpu = sum(s.gpus for s in shares) / gpu_total if gpu_total else 0.0
    return round(max(cpu, gpu), 4)


def _sovereignty(target: str, profile: Profile) -> tuple[float, str]:
    sov, cls = profile.data.sovereignty, profile.data.classification
    if target == ONPREM:
        return 1.0, f"{cls} data stays in your own data centre"
    gap = SOVEREIGNTY_GAP[sov] + CLASS_GAP[cls]
    return 1 - gap, (
        f"{cls} data processed by AWS in {profile.region}"
        + (" (an EU region, as data.sovereignty requires; a US-owned provider)" if sov == "eu" else "")
    )


def _security(target: str, profile: Profile) -> tuple[float, str]:
    skills = profile.team.kubernetes_skills
    public = profile.security.exposure == "public"
    score = SECURITY_BASE[target] - (PUBLIC_EDGE_GAP[target] if public else 0.0)
    if target == SAGEMAKER:
        note = "managed, isolated endpoints behind IAM; no cluster to patch"
        if profile.security.authentication == "oidc":
            note += "; OIDC callers need a gateway in front (endpoints authenticate with IAM)"
        return score, note
    score -= HARDENING_GAP[skills]
    where = "your network perimeter" if target == ONPREM else "a VPC"
    return score, (
        f"inside {where}; hardening the cluster (RBAC, NetworkPolicy, patching) with {SKILL_WORDS[skills]} "
        "Kubernetes skills"
    )


def _operations(target: str, profile: Profile) -> tuple[float, str]:
    team = profile.team
    has_gpu = any(m.resources.gpus > 0 for m in profile.models)
    need = OPS_FTE_BASE[target] + OPS_FTE_PER_MODEL[target] * len(profile.models) + (OPS_FTE_GPU[target] if has_gpu else 0.0)
    capacity = min(1.0, team.ops_fte / need) if need else 1.0
    if target == SAGEMAKER:
        return capacity, f"needs ~{need:.2f} FTE, no Kubernetes; the team has {team.ops_fte:g} FTE"
    skill = SKILL_FIT[team.kubernetes_skills]
    return capacity * skill, (
        f"needs ~{need:.2f} FTE and Kubernetes skills; the team has {team.ops_fte:g} FTE and "
        f"{SKILL_WORDS[team.kubernetes_skills]} Kubernetes skills"
    )
