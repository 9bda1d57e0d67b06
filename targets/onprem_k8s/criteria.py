"""How the existing on-premise cluster scores: fixed capacity, full sovereignty, the team runs the cluster.

The figures are judgement encoded as data: visible, few, and named so a reviewer can argue with them."""

from __future__ import annotations

from mlinfra.decision.criteria import Criteria, burst_need, clamp, load_text
from mlinfra.profiles.model import Profile
from mlinfra.targets.kubernetes import criteria as k8s
from mlinfra.targets.onprem_k8s.cost import onprem_efforts
from mlinfra.targets.onprem_k8s.feasibility import utilisation

# On premise the peak is paid for all month (see the cost model): bursts that fit the cluster only cost the
# risk of growth, and a cluster that is already busy at peak leaves no room for it.
BURST_GAP = 0.2
COMFORTABLE_UTILISATION = 0.5
SECURITY_BASE = 0.8
PUBLIC_EDGE_GAP = 0.1  # exposure public: you run the edge (WAF, DDoS protection)


def criteria(profile: Profile) -> Criteria:
    used = utilisation(profile)
    scalability = 1 - BURST_GAP * burst_need(profile) - max(0.0, used - COMFORTABLE_UTILISATION)
    security, security_note = k8s.security(profile, SECURITY_BASE, PUBLIC_EDGE_GAP, "your network perimeter")
    operations, operations_note = k8s.operations(profile, onprem_efforts(profile))
    return Criteria(
        scores={
            "scalability": clamp(scalability),
            "sovereignty": 1.0,
            "security": clamp(security),
            "operations": clamp(operations),
        },
        notes={
            "scalability": f"{load_text(profile)}; fixed capacity: the peak takes {used:.0%} of the declared cluster",
            "sovereignty": f"{profile.data.classification} data stays in your own data centre",
            "security": security_note,
            "operations": operations_note,
        },
    )
