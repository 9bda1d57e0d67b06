"""How AWS EKS scores: nodes scale within minutes, AWS processes the data, the team runs a cluster.

The figures are judgement encoded as data: visible, few, and named so a reviewer can argue with them."""

from __future__ import annotations

from mlinfra.costs.model import EstimateError
from mlinfra.costs.prices import price_table
from mlinfra.decision.criteria import Criteria, burst_need, clamp, load_text
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.rules import sovereignty
from mlinfra.targets.aws_eks.cost import eks_effort, eks_efforts
from mlinfra.targets.kubernetes import criteria as k8s

BURST_GAP = 0.2  # node groups are sized for the peak (no cluster autoscaler): bursts beyond it wait for a resize
SECURITY_BASE = 0.8
PUBLIC_EDGE_GAP = 0.05  # exposure public: the ALB with WAF is managed, the rules are yours


def criteria(profile: Profile) -> Criteria:
    sov, sov_note = sovereignty(profile)
    security, security_note = k8s.security(profile, SECURITY_BASE, PUBLIC_EDGE_GAP, "a VPC")
    try:
        efforts = eks_efforts(profile, price_table(profile))
    except EstimateError:  # no instance holds a model: infeasible anyway; score the cluster and models alone
        efforts = [eks_effort(profile, 0.0, env.name) for env in all_environments(profile)]
    operations, operations_note = k8s.operations(profile, efforts)
    return Criteria(
        scores={
            "scalability": clamp(1 - BURST_GAP * burst_need(profile)),
            "sovereignty": clamp(sov),
            "security": clamp(security),
            "operations": clamp(operations),
        },
        notes={
            "scalability": f"{load_text(profile)}; node groups hold the sized peak, pods scale within them; more "
            "than that needs the node groups resized",
            "sovereignty": sov_note,
            "security": security_note,
            "operations": operations_note,
        },
    )
