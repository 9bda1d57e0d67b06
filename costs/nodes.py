"""Kubernetes capacity for the cost model: what a node offers, what pods ask, first-fit-decreasing bin packing.

Pure arithmetic over the price table's instance sizes, for any target that packs pods onto nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from mlinfra.costs.model import EstimateError, fmt_number
from mlinfra.costs.prices import InstanceType, Price, PriceTable
from mlinfra.planning.sizing import PEAK_SHARE_OF_MONTH

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Model


@dataclass(frozen=True)
class Pod:
    name: str
    cpu: float
    memory_gib: float
    gpus: int = 0


# kube-prometheus-stack requests (Prometheus, Alertmanager, Grafana, operator, kube-state-metrics)
MONITORING_PODS = (
    Pod("prometheus", 0.5, 2.0),
    Pod("alertmanager", 0.1, 0.25),
    Pod("grafana", 0.2, 0.5),
    Pod("prometheus-operator", 0.1, 0.25),
    Pod("kube-state-metrics", 0.1, 0.25),
)
NODE_RESERVED_CPU = 0.3  # kubelet, system daemons, node-exporter, CNI
NODE_RESERVED_MEMORY_GIB = 0.8
NODE_MEMORY_ALLOCATABLE = 0.9  # share of the rest the scheduler may hand out (eviction threshold, page cache)


@lru_cache(maxsize=256)
def allocatable(inst: InstanceType) -> tuple[float, float]:
    """CPU and memory the scheduler can place pods on (cached: the break-even sweep packs thousands of times)."""
    return (
        round(inst.vcpu - NODE_RESERVED_CPU, 4),
        round((inst.memory_gib - NODE_RESERVED_MEMORY_GIB) * NODE_MEMORY_ALLOCATABLE, 4),
    )


def fits(pod: Pod, inst: InstanceType) -> bool:
    cpu, mem = allocatable(inst)
    return pod.cpu <= cpu and pod.memory_gib <= mem and pod.gpus <= inst.gpus


def pack(pods: list[Pod], inst: InstanceType) -> int:
    """Nodes of type `inst` needed for `pods` (first-fit decreasing on the larger of the CPU and memory shares)."""
    cpu_cap, mem_cap = allocatable(inst)
    free: list[list[float]] = []  # per node: cpu, memory, gpus left
    for pod in sorted(pods, key=lambda p: (-max(p.cpu / cpu_cap, p.memory_gib / mem_cap), p.name)):
        if pod.cpu > cpu_cap or pod.memory_gib > mem_cap or pod.gpus > inst.gpus:
            raise EstimateError(f"{pod.name} ({pod.cpu} CPU, {pod.memory_gib} GiB) does not fit {inst.name}")
        for node in free:
            if pod.cpu <= node[0] + 1e-9 and pod.memory_gib <= node[1] + 1e-9 and pod.gpus <= node[2]:
                node[0] -= pod.cpu
                node[1] -= pod.memory_gib
                node[2] -= pod.gpus
                break
        else:
            free.append([cpu_cap - pod.cpu, mem_cap - pod.memory_gib, inst.gpus - pod.gpus])
    return len(free)


def candidate_instances(instances: tuple[InstanceType, ...], env: EnvironmentSettings, gpus: bool) -> list[InstanceType]:
    """Instances a pool may use: GPU or CPU ones; burstable (credit-based) ones only in dev."""
    return [i for i in instances if (i.gpus > 0) == gpus and (env.tier == "dev" or not i.burstable)]


# GPU memory of a large language model without resources.gpu_memory_gib: its weights, plus the KV cache and
# activations of the batch in flight (LLM_KV_CACHE_SHARE of the weights; vLLM's default pre-allocates 90 % of the
# card, of which serving a 7-8B model at moderate concurrency uses a few GiB) and the CUDA context.
BYTES_PER_PARAMETER = {"fp32": 4.0, "bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5}
LLM_KV_CACHE_SHARE = 0.2
LLM_RUNTIME_GIB = 1.0


def gpu_memory_needed(model: Model) -> float:
    """GPU memory one replica needs in GiB: resources.gpu_memory_gib, else for framework llm with parameters_b the
    weights + LLM_KV_CACHE_SHARE + LLM_RUNTIME_GIB; 0 when unknown (not checked)."""
    r = model.resources
    if r.gpu_memory_gib:
        return r.gpu_memory_gib
    if model.framework == "llm" and r.parameters_b:
        weights = r.parameters_b * 1e9 * BYTES_PER_PARAMETER[r.precision] / 2**30
        return round(weights * (1 + LLM_KV_CACHE_SHARE) + LLM_RUNTIME_GIB, 2)
    return 0.0


def gpu_matches(model: Model, inst: InstanceType) -> bool:
    """The instance has the GPUs a replica asks for, of the wanted model, with the GPU memory it needs."""
    r = model.resources
    wanted = r.gpu_type
    return (
        inst.gpus >= r.gpus and (not wanted or inst.gpu == wanted.lower())
        and r.gpus * inst.gpu_memory_gib >= gpu_memory_needed(model) - 1e-9
    )


def model_pod(model: Model) -> Pod:
    r = model.resources
    return Pod(model.name, r.cpu, r.memory_gib, r.gpus)


# ---------------------------------------------------------------------------------------------------------
# Node pools


@dataclass(frozen=True)
class NodePlan:
    instance: InstanceType
    price: Price
    base_nodes: int
    peak_nodes: int
    peak_share: float = PEAK_SHARE_OF_MONTH  # costs.peak_share_of_month

    @property
    def billed_nodes(self) -> float:
        """Time-weighted nodes of an autoscaled pool: the floor all month, the peak for peak_share of it."""
        return self.base_nodes + (self.peak_nodes - self.base_nodes) * self.peak_share


def plan_pool(
    base: list[Pod], peak: list[Pod], candidates: list[InstanceType], table: PriceTable, region: str, min_nodes: int,
    peak_share: float = PEAK_SHARE_OF_MONTH,
) -> NodePlan:
    """The cheapest instance type for a pool, with its node counts at the floor and at peak. An instance whose
    lower bound (the floor's total CPU and memory over its room) already costs more than the best found is not
    packed: the answer is the same, the break-even sweep much faster."""
    best: tuple[float, int, str, NodePlan] | None = None
    base_cpu, base_mem = sum(p.cpu for p in base), sum(p.memory_gib for p in base)
    # every peak pod fits an instance exactly when the largest need in each dimension does (one check per instance)
    need_cpu = max((p.cpu for p in peak), default=0.0)
    need_mem = max((p.memory_gib for p in peak), default=0.0)
    need_gpus = max((p.gpus for p in peak), default=0)
    for inst in candidates:
        cpu_cap, mem_cap = allocatable(inst)
        if need_cpu > cpu_cap or need_mem > mem_cap or need_gpus > inst.gpus:
            continue
        price = table.regional("ec2", inst.name, region)
        if best is not None:
            lower = max(min_nodes, math.ceil(base_cpu / cpu_cap - 1e-9), math.ceil(base_mem / mem_cap - 1e-9))
            if lower * price.value > best[0]:
                continue
        plan = NodePlan(
            instance=inst,
            price=price,
            base_nodes=max(min_nodes, pack(base, inst)),
            peak_nodes=max(min_nodes, pack(peak, inst)),
            peak_share=peak_share,
        )
        rank = (plan.billed_nodes * plan.price.value, plan.peak_nodes, inst.name, plan)
        if best is None or rank[:3] < best[:3]:
            best = rank
    if best is None:
        biggest = max(peak, key=lambda p: (p.gpus, p.cpu, p.memory_gib))
        names = ", ".join(i.name for i in candidates) or "none"
        raise EstimateError(
            f"no instance in the price table fits {biggest.name} ({fmt_number(biggest.cpu)} CPU, "
            f"{fmt_number(biggest.memory_gib)} GiB, {biggest.gpus} GPU) after node reservations (candidates: {names})"
        )
    return best[3]
