"""Scores every Kubernetes target shares: what hardening and running a cluster asks of the team."""

from __future__ import annotations

from mlinfra.costs.effort import Effort, fte
from mlinfra.costs.model import fmt_number
from mlinfra.profiles.model import Profile

HARDENING_GAP = {"none": 0.3, "basic": 0.15, "advanced": 0.0}  # RBAC, NetworkPolicy, patching
SKILL_FIT = {"none": 0.3, "basic": 0.7, "advanced": 1.0}
SKILL_WORDS = {"none": "no", "basic": "basic", "advanced": "advanced"}


def security(profile: Profile, base: float, public_edge_gap: float, where: str) -> tuple[float, str]:
    """Managed isolation `base`, minus running the public edge and what hardening the cluster asks."""
    skills = profile.team.kubernetes_skills
    score = base - (public_edge_gap if profile.security.exposure == "public" else 0.0) - HARDENING_GAP[skills]
    return score, (
        f"inside {where}; hardening the cluster (RBAC, NetworkPolicy, patching) with {SKILL_WORDS[skills]} "
        "Kubernetes skills"
    )


def operations(profile: Profile, efforts: list[Effort]) -> tuple[float, str]:
    """The team's FTE against the hours the target's effort model bills (every environment), times how far its
    Kubernetes skills carry it."""
    team = profile.team
    need = fte(efforts)
    capacity = min(1.0, team.ops_fte / need) if need else 1.0
    hours = sum(e.hours for e in efforts)
    return capacity * SKILL_FIT[team.kubernetes_skills], (
        f"needs ~{need:.2f} FTE ({fmt_number(round(hours, 1))} h a month, the operations time priced) and Kubernetes "
        f"skills; the team has {team.ops_fte:g} FTE and {SKILL_WORDS[team.kubernetes_skills]} Kubernetes skills"
    )
