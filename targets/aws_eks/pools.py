"""The node pools one EKS environment needs, as the cost model prices them: one CPU pool for the CPU models and the
monitoring stack, one GPU pool per GPU model, each bin-packed by costs.nodes.plan_pool.

Kept apart from nodegroups.py (the node groups deployed for these pools: labels, taints, AMIs, which import the
pod builders) so that pricing, and with it `decide`, needs none of the deployment's modules.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.costs.nodes import MONITORING_PODS, NodePlan, candidate_instances, gpu_matches, model_pod, plan_pool
from mlinfra.costs.prices import PriceTable
from mlinfra.planning.sizing import size_model
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile

NODE_ROOT_VOLUME_GIB = 20  # gp3, encrypted; cost.py prices this size


@dataclass(frozen=True)
class NodePool:
    """One priced pool: the cost line's label, the bin-packing result, and the GPU model it is for (if any)."""

    label: str
    plan: NodePlan
    gpu_model: str | None = None


def node_pools(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> list[NodePool]:
    """The CPU pool (models + monitoring, two nodes at least when highly available) and a pool per GPU model."""
    region = profile.region
    sized = [(m, size_model(m, env)) for m in profile.models]
    cpu_models = [(m, s) for m, s in sized if m.resources.gpus == 0]
    base = [p for m, s in cpu_models for p in [model_pod(m)] * s.min_replicas] + list(MONITORING_PODS)
    peak = [p for m, s in cpu_models for p in [model_pod(m)] * s.peak_replicas] + list(MONITORING_PODS)
    min_nodes = 2 if env.high_availability and cpu_models else 1
    share = profile.costs.peak_share_of_month
    cpu = plan_pool(base, peak, candidate_instances(table.ec2, env, False), table, region, min_nodes, share)
    pools = [NodePool("CPU pool (models + monitoring)", cpu)]
    for m, s in sized:
        if m.resources.gpus > 0:
            candidates = [i for i in candidate_instances(table.ec2, env, True) if gpu_matches(m, i)]
            pod = model_pod(m)
            plan = plan_pool([pod] * s.min_replicas, [pod] * s.peak_replicas, candidates, table, region, 1, share)
            pools.append(NodePool(f"GPU pool for {m.name}", plan, gpu_model=m.name))
    return pools
