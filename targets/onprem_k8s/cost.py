"""On-premise TCO: the share of the existing cluster a profile occupies, priced as hardware amortisation,
power, colocation and operations time (all from the profile's costs.onprem assumptions)."""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.costs.assumptions import month
from mlinfra.costs.effort import Effort, EffortPart, models_part
from mlinfra.costs.model import CostEstimate, CostLine, EstimateError, fmt_number
from mlinfra.costs.nodes import MONITORING_PODS, NODE_MEMORY_ALLOCATABLE, NODE_RESERVED_CPU, NODE_RESERVED_MEMORY_GIB
from mlinfra.costs.prices import PriceTable
from mlinfra.planning.sizing import size_model
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile


@dataclass(frozen=True)
class OnpremShare:
    """The share of the existing cluster a profile occupies in one environment, in node-equivalents."""

    cpu: float
    memory_gib: float
    gpus: int
    cpu_node_equivalents: float
    gpu_node_equivalents: float


def onprem_share(profile: Profile, env: EnvironmentSettings, n_envs: int) -> OnpremShare:
    """Peak demand of `env` (fixed hardware holds the peak) plus its 1/n share of the cluster's monitoring stack."""
    assert profile.onprem is not None
    o, c = profile.onprem, profile.costs.onprem
    cpu = sum(p.cpu for p in MONITORING_PODS) / n_envs
    mem = sum(p.memory_gib for p in MONITORING_PODS) / n_envs
    gpus = 0
    for model in profile.models:
        s = size_model(model, env)
        if model.resources.gpus > 0:
            gpus += model.resources.gpus * s.peak_replicas
        else:
            cpu += model.resources.cpu * s.peak_replicas
            mem += model.resources.memory_gib * s.peak_replicas
    cpu_cap = c.node_cpu - NODE_RESERVED_CPU
    mem_cap = (c.node_memory_gib - NODE_RESERVED_MEMORY_GIB) * NODE_MEMORY_ALLOCATABLE
    return OnpremShare(
        cpu=round(cpu, 4),
        memory_gib=round(mem, 4),
        gpus=gpus,
        cpu_node_equivalents=round(max(cpu / cpu_cap, mem / mem_cap), 4),
        gpu_node_equivalents=round(gpus / o.gpus_per_node, 4),
    )


def onprem_effort(profile: Profile, share: OnpremShare) -> Effort:
    """Operations hours of one environment: its share of running the cluster's nodes (node-equivalents x
    costs.onprem.ops_hours_per_node_month) and its models - what the cost bills and the operations score weighs."""
    c = profile.costs
    nodes = c.onprem.base_node_equivalents + share.cpu_node_equivalents + share.gpu_node_equivalents
    return Effort((
        EffortPart(f"{fmt_number(nodes)} node-equivalents x {fmt_number(c.onprem.ops_hours_per_node_month)} h",
                   nodes * c.onprem.ops_hours_per_node_month, ("costs.onprem.ops_hours_per_node_month",)),
        models_part(len(profile.models), c.ops_hours_per_model_month),
    ))


def onprem_efforts(profile: Profile) -> list[Effort]:
    """The effort of every environment (for the operations score); none without a cluster."""
    if profile.onprem is None:
        return []
    envs = all_environments(profile)
    return [onprem_effort(profile, onprem_share(profile, env, len(envs))) for env in envs]


def estimate_onprem(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
    """TCO of the cluster share used: hardware amortisation, power, colocation, operations time."""
    if profile.onprem is None:
        raise EstimateError("onprem-k8s needs an `onprem` block (an existing cluster) to be priced")
    o, c = profile.onprem, profile.costs.onprem
    share = onprem_share(profile, env, len(profile.environment_names))
    fx, hours = table.usd_to_eur, table.hours_per_month
    months = c.amortisation_years * 12
    lines = [
        CostLine(
            item=f"CPU node hardware: {fmt_number(share.cpu_node_equivalents)} node-equivalents "
            f"({fmt_number(share.cpu)} CPU, {fmt_number(share.memory_gib)} GiB at peak)",
            monthly_eur=round(share.cpu_node_equivalents * c.server_price_usd * fx / months, 2),
            price_keys=("costs.onprem.server_price_usd", "costs.onprem.amortisation_years", "costs.onprem.node_cpu", "costs.onprem.node_memory_gib"),
            note=f"{fmt_number(c.server_price_usd)} USD over {fmt_number(months)} months",
        )
    ]
    if c.base_node_equivalents:
        lines.append(CostLine(
            item=f"cluster base share (node hardware): {fmt_number(c.base_node_equivalents)} node-equivalents",
            monthly_eur=round(c.base_node_equivalents * c.server_price_usd * fx / months, 2),
            price_keys=("costs.onprem.base_node_equivalents", "costs.onprem.server_price_usd",
                        "costs.onprem.amortisation_years"),
            note="control plane, ingress, storage and the failover spare every environment needs, whatever its size",
        ))
    if share.gpus:
        lines.append(
            CostLine(
                item=f"GPU node hardware: {fmt_number(share.gpu_node_equivalents)} nodes ({share.gpus} GPUs at peak, "
                f"{o.gpus_per_node} per node)",
                monthly_eur=round(share.gpu_node_equivalents * c.gpu_server_price_usd * fx / months, 2),
                price_keys=("costs.onprem.gpu_server_price_usd", "costs.onprem.amortisation_years", "onprem.gpus_per_node"),
                note=f"{fmt_number(c.gpu_server_price_usd)} USD over {fmt_number(months)} months",
            )
        )
    kw = ((share.cpu_node_equivalents + c.base_node_equivalents) * c.server_power_w
          + share.gpu_node_equivalents * (c.server_power_w + o.gpus_per_node * c.gpu_power_w)) / 1000
    lines.append(
        CostLine(
            item=f"power: {fmt_number(round(kw, 4))} kW average",
            monthly_eur=round(kw * hours * c.electricity_eur_per_kwh, 2),
            price_keys=("costs.onprem.server_power_w", "costs.onprem.gpu_power_w", "costs.onprem.electricity_eur_per_kwh"),
        )
    )
    if c.colocation_eur_per_kw_month:
        lines.append(
            CostLine(
                item=f"colocation: {fmt_number(round(kw, 4))} kW",
                monthly_eur=round(kw * c.colocation_eur_per_kw_month, 2),
                price_keys=("costs.onprem.colocation_eur_per_kw_month",),
            )
        )
    lines.append(onprem_effort(profile, share).line(c.ops_hourly_rate_eur))
    hardware = sum(line.monthly_eur for line in lines if "node hardware" in line.item)
    capex = ((share.cpu_node_equivalents + c.base_node_equivalents) * c.server_price_usd
             + share.gpu_node_equivalents * c.gpu_server_price_usd) * fx
    return CostEstimate(
        capex_eur=round(capex, 2) if o.purchase else 0.0,
        amortised_monthly_eur=round(hardware, 2) if o.purchase else 0.0,
        capex_life_years=c.amortisation_years if o.purchase else 0.0,
        lines=tuple(lines),
        assumptions=(
            month(profile),
            "on premise: the existing cluster's share is priced in node-equivalents (the larger of the CPU and "
            "memory shares); the monitoring stack is shared by every environment; storage is part of the hardware",
        ),
    )
