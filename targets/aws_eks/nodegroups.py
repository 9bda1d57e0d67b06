"""The managed node groups of one EKS environment, exactly as the cost model prices them.

One CPU pool for the CPU models and the monitoring stack; one GPU pool per GPU model, with the NVIDIA AMI, the
`nvidia.com/gpu` taint (only pods that tolerate it land there: the GPU models do), the GPU product label the
model's node affinity selects and the `nvidia.com/gpu.present` label the NVIDIA device plugin's chart selects. Instance types and node counts come from costs.nodes.plan_pool through
`node_pools` (pools.py), which cost.py prices: what is deployed is what is priced. Only render and the
deployment import this module (through platform.py); the cost model needs pools.py alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mlinfra.conventions import LABEL_GPU_PRODUCT, RESOURCE_GPU, k8s_name
from mlinfra.costs.prices import PriceTable
from mlinfra.manifests.pod import gpu_products
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Model, Profile
from mlinfra.targets.aws_eks.pools import NODE_ROOT_VOLUME_GIB, node_pools

AMI_CPU = "AL2023_x86_64_STANDARD"
AMI_GPU = "AL2023_x86_64_NVIDIA"  # NVIDIA driver and container toolkit in the AMI
CAPACITY_TYPE = "ON_DEMAND"  # the price table holds on-demand prices
LABEL_NODE_POOL = "mlinfra.io/node-pool"
LABEL_GPU_PRESENT = "nvidia.com/gpu.present"
CPU_POOL = "cpu"


@dataclass(frozen=True, kw_only=True)
class TaintSpec:
    key: str
    value: str
    effect: str  # EKS API spelling: NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE


@dataclass(frozen=True, kw_only=True)
class NodeGroupSpec:
    role: str  # child-name role: "cpu", "gpu-<model>"
    instance_type: str
    min_size: int  # the pool's nodes at the replica floor
    desired_size: int
    max_size: int  # the pool's nodes at peak
    ami_type: str
    capacity_type: str
    root_volume_gib: int
    labels: Mapping[str, str]
    taints: tuple[TaintSpec, ...] = ()

    @property
    def gpu(self) -> bool:
        return self.ami_type == AMI_GPU


def gpu_pool_role(model: Model | str) -> str:
    return k8s_name("gpu", model if isinstance(model, str) else model.name, max_len=40)


def node_groups(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> tuple[NodeGroupSpec, ...]:
    """Node groups for `node_pools`, one instance type each, running the peak count: mlinfra deploys no cluster
    autoscaler, so the nodes the HPA's peak replicas need are there from the start (and priced all month)."""
    groups = []
    for pool in node_pools(profile, env, table):
        inst = pool.plan.instance
        role = gpu_pool_role(pool.gpu_model) if pool.gpu_model else CPU_POOL
        labels: dict[str, str] = {LABEL_NODE_POOL: role}
        taints: tuple[TaintSpec, ...] = ()
        if pool.gpu_model:
            labels[LABEL_GPU_PRESENT] = "true"  # the NVIDIA device plugin's DaemonSet selects these nodes
            if inst.gpu:  # what GPU feature discovery would label: the model's affinity selects it
                labels[LABEL_GPU_PRODUCT] = gpu_products(inst.gpu)[0]
            taints = (TaintSpec(key=RESOURCE_GPU, value="true", effect="NO_SCHEDULE"),)
        groups.append(
            NodeGroupSpec(
                role=role,
                instance_type=inst.name,
                min_size=pool.plan.peak_nodes,
                desired_size=pool.plan.peak_nodes,
                max_size=pool.plan.peak_nodes,
                ami_type=AMI_GPU if pool.gpu_model else AMI_CPU,
                capacity_type=CAPACITY_TYPE,
                root_volume_gib=NODE_ROOT_VOLUME_GIB,
                labels=labels,
                taints=taints,
            )
        )
    return tuple(groups)
