"""Scores every Kubernetes target shares: what hardening and running a cluster asks of the team."""

from __future__ import annotations

from mlinfra.profiles.model import Profile

HARDENING_GAP = {"none": 0.3, "basic": 0.15, "advanced": 0.0}  # RBAC, NetworkPolicy, patching
SKILL_FIT = {"none": 0.3, "basic": 0.7, "advanced": 1.0}
SKILL_WORDS = {"none": "no", "basic": "basic", "advanced": "advanced"}
OPS_FTE_PER_MODEL = 0.03
OPS_FTE_GPU = 0.1  # drivers, device plugin, node images


def security(profile: Profile, base: float, public_edge_gap: float, where: str) -> tuple[float, str]:
    """Managed isolation `base`, minus running the public edge and what hardening the cluster asks."""
    skills = profile.team.kubernetes_skills
    score = base - (public_edge_gap if profile.security.exposure == "public" else 0.0) - HARDENING_GAP[skills]
    return score, (
        f"inside {where}; hardening the cluster (RBAC, NetworkPolicy, patching) with {SKILL_WORDS[skills]} "
        "Kubernetes skills"
    )


def operations(profile: Profile, base_fte: float) -> tuple[float, str]:
    """The team's FTE against what the cluster needs, times how far its Kubernetes skills carry it."""
    team = profile.team
    has_gpu = any(m.resources.gpus > 0 for m in profile.models)
    need = base_fte + OPS_FTE_PER_MODEL * len(profile.models) + (OPS_FTE_GPU if has_gpu else 0.0)
    capacity = min(1.0, team.ops_fte / need) if need else 1.0
    return capacity * SKILL_FIT[team.kubernetes_skills], (
        f"needs ~{need:.2f} FTE and Kubernetes skills; the team has {team.ops_fte:g} FTE and "
        f"{SKILL_WORDS[team.kubernetes_skills]} Kubernetes skills"
    )
