"""Monthly cost estimates per target and environment: pure arithmetic over the sizing and the price table.

Each line names the price keys (or profile fields) it used. Planning assumptions are constants here and are
repeated in every estimate's `assumptions`, so a reader can check the arithmetic by hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from mlinfra.costs.prices import InstanceType, Price, PriceTable
from mlinfra.planning.sizing import PEAK_SHARE_OF_MONTH, service_seconds, size_model, traffic_share
from mlinfra.targets.base import CostEstimate, CostLine

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.planning.sizing import Sizing
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Model, Profile


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
NODE_ROOT_VOLUME_GIB = 20
PAYLOAD_KB = 10  # request + response per inference call
LOG_KB_PER_REQUEST = 1  # SageMaker endpoint logs in CloudWatch Logs
ALARMS_PER_MODEL = 3  # latency, errors, no traffic (+1 when drift is on)
SERVERLESS_MAX_MEMORY_GIB = 6
LCU_NEW_CONNECTIONS_PER_S = 25
LCU_GB_PER_HOUR = 1.0

ASSUMPTIONS = (
    f"a month is the price table's hours_per_month; autoscaled targets run their peak replica count "
    f"{PEAK_SHARE_OF_MONTH:.0%} of the month, on-premise capacity is held for the peak all month",
    "usage-priced items (Serverless, load balancer capacity, logs) assume dev sees 5 % and staging 20 % of the "
    "profile's traffic",
    f"requests carry {PAYLOAD_KB} KB (request + response) and write {LOG_KB_PER_REQUEST} KB of logs",
    "free tiers (CloudWatch, Serverless first 2 months) are not deducted; NAT data, S3 and ECR storage are not "
    "included (volumes unknown)",
)


class EstimateError(ValueError):
    """The profile cannot be priced on this target (e.g. no instance in the table fits a model)."""


# ---------------------------------------------------------------------------------------------------------
# Helpers


def keys_of(price: Price) -> tuple[str, ...]:
    """The key of a price plus the keys a derived price was computed from."""
    return (price.key, *price.inputs)


def _note(*prices: Price) -> str:
    unconfirmed = [p for p in prices if not p.exact]
    if not unconfirmed:
        return ""
    return "; ".join(f"≈ {p.key}: {p.derivation or 'unconfirmed price (U)'}" for p in unconfirmed)


def _line(item: str, eur: float, prices: tuple[Price, ...], extra_keys: tuple[str, ...] = (), note: str = "") -> CostLine:
    keys = tuple(dict.fromkeys(k for p in prices for k in keys_of(p))) + extra_keys
    text = "; ".join(n for n in (note, _note(*prices)) if n)
    return CostLine(item=item, monthly_eur=round(eur, 2), price_keys=keys, note=text)


def _fmt(value: float) -> str:
    return f"{value:g}" if value < 1e5 else f"{value:,.0f}"


def allocatable(inst: InstanceType) -> tuple[float, float]:
    """CPU and memory the scheduler can place pods on."""
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
        if not fits(pod, inst):
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


def gpu_matches(model: Model, inst: InstanceType) -> bool:
    wanted = model.resources.gpu_type
    return inst.gpus >= model.resources.gpus and (not wanted or inst.gpu == wanted.lower())


def model_pod(model: Model) -> Pod:
    r = model.resources
    return Pod(model.name, r.cpu, r.memory_gib, r.gpus)


def _ops_rate(profile: Profile) -> float:
    return profile.costs.onprem.ops_hourly_rate_eur


# ---------------------------------------------------------------------------------------------------------
# Node pools (EKS)


@dataclass(frozen=True)
class NodePlan:
    instance: InstanceType
    price: Price
    base_nodes: int
    peak_nodes: int

    @property
    def billed_nodes(self) -> float:
        return self.base_nodes + (self.peak_nodes - self.base_nodes) * PEAK_SHARE_OF_MONTH


def plan_pool(
    base: list[Pod], peak: list[Pod], candidates: list[InstanceType], table: PriceTable, region: str, min_nodes: int
) -> NodePlan:
    """The cheapest instance type for a pool, with its node counts at the floor and at peak."""
    best: tuple[float, int, str, NodePlan] | None = None
    for inst in candidates:
        if not all(fits(p, inst) for p in peak):
            continue
        plan = NodePlan(
            instance=inst,
            price=table.regional("ec2", inst.name, region),
            base_nodes=max(min_nodes, pack(base, inst)),
            peak_nodes=max(min_nodes, pack(peak, inst)),
        )
        rank = (plan.billed_nodes * plan.price.value, plan.peak_nodes, inst.name, plan)
        if best is None or rank[:3] < best[:3]:
            best = rank
    if best is None:
        biggest = max(peak, key=lambda p: (p.gpus, p.cpu, p.memory_gib))
        names = ", ".join(i.name for i in candidates) or "none"
        raise EstimateError(
            f"no instance in the price table fits {biggest.name} ({_fmt(biggest.cpu)} CPU, "
            f"{_fmt(biggest.memory_gib)} GiB, {biggest.gpus} GPU) after node reservations (candidates: {names})"
        )
    return best[3]


# ---------------------------------------------------------------------------------------------------------
# AWS EKS


def estimate_eks(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
    """One EKS cluster per environment: control plane, node pools, volumes, NAT, ALB, monitoring, ops time."""
    region, hours, fx = profile.region, table.hours_per_month, table.usd_to_eur
    lines: list[CostLine] = []
    cp = table.regional("eks", "control-plane", region)
    lines.append(_line("EKS control plane (1 cluster)", cp.value * hours * fx, (cp,)))

    sized = [(m, size_model(m, env)) for m in profile.models]
    cpu_models = [(m, s) for m, s in sized if m.resources.gpus == 0]
    base = [p for m, s in cpu_models for p in [model_pod(m)] * s.min_replicas] + list(MONITORING_PODS)
    peak = [p for m, s in cpu_models for p in [model_pod(m)] * s.peak_replicas] + list(MONITORING_PODS)
    min_nodes = 2 if env.high_availability and cpu_models else 1
    pools = [("CPU pool (models + monitoring)", plan_pool(base, peak, candidate_instances(table.ec2, env, False), table, region, min_nodes))]
    for m, s in sized:
        if m.resources.gpus > 0:
            gpu_candidates = [i for i in candidate_instances(table.ec2, env, True) if gpu_matches(m, i)]
            pod = model_pod(m)
            pools.append((f"GPU pool for {m.name}", plan_pool([pod] * s.min_replicas, [pod] * s.peak_replicas, gpu_candidates, table, region, 1)))

    gp3 = table.regional("ebs", "gp3-gb", region)
    total_nodes = 0.0
    for label, plan in pools:
        total_nodes += plan.billed_nodes
        lines.append(
            _line(
                f"{label}: {plan.base_nodes} x {plan.instance.name}"
                + (f", {plan.peak_nodes} at peak" if plan.peak_nodes != plan.base_nodes else ""),
                plan.billed_nodes * plan.price.value * hours * fx,
                (plan.price,),
                note=f"{_fmt(round(plan.billed_nodes, 3))} node-months billed",
            )
        )
    lines.append(
        _line(
            f"node root volumes ({NODE_ROOT_VOLUME_GIB} GiB gp3 each)",
            total_nodes * NODE_ROOT_VOLUME_GIB * gp3.value * fx,
            (gp3,),
        )
    )
    nat = table.regional("nat", "hour", region)
    lines.append(_line("NAT gateway (egress of private worker nodes)", nat.value * hours * fx, (nat,)))
    if profile.security.exposure != "private":
        lines.append(_alb_line(profile, env, table))
    storage = profile.monitoring.storage_gib
    lines.append(_line(f"Prometheus volume ({storage} GiB gp3)", storage * gp3.value * fx, (gp3,)))
    c = profile.costs
    ops_hours = c.eks_ops_hours_per_cluster_month + c.eks_ops_hours_per_node_month * total_nodes
    lines.append(
        CostLine(
            item=f"operations time ({_fmt(round(ops_hours, 2))} h)",
            monthly_eur=round(ops_hours * _ops_rate(profile), 2),
            price_keys=(
                "costs.eks_ops_hours_per_cluster_month",
                "costs.eks_ops_hours_per_node_month",
                "costs.onprem.ops_hourly_rate_eur",
            ),
        )
    )
    return CostEstimate(lines=tuple(lines), assumptions=ASSUMPTIONS)


def _alb_line(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostLine:
    region, hours, fx = profile.region, table.hours_per_month, table.usd_to_eur
    alb = table.regional("alb", "hour", region)
    lcu = table.regional("alb", "lcu-hour", region)
    rps = sum(m.traffic.average_rps for m in profile.models) * traffic_share(env)
    lcus = max(rps / LCU_NEW_CONNECTIONS_PER_S, rps * PAYLOAD_KB * 3600 / 1e6 / LCU_GB_PER_HOUR)
    return _line(
        f"application load balancer ({profile.security.exposure}), {_fmt(round(lcus, 3))} LCU",
        (alb.value + lcus * lcu.value) * hours * fx,
        (alb, lcu),
    )


# ---------------------------------------------------------------------------------------------------------
# AWS SageMaker


def serverless_blocker(model: Model) -> str:
    """Why SageMaker Serverless cannot serve `model` ('' when it can): no GPUs, at most 6 GiB of memory."""
    r = model.resources
    if r.gpus > 0:
        return f"Serverless ruled out: the model needs {r.gpus} GPU{'s' if r.gpus != 1 else ''}"
    if r.memory_gib > SERVERLESS_MAX_MEMORY_GIB:
        return f"Serverless ruled out: {_fmt(r.memory_gib)} GiB exceeds its {SERVERLESS_MAX_MEMORY_GIB} GiB maximum"
    return ""


def serverless_eligible(model: Model) -> bool:
    return not serverless_blocker(model)


def sagemaker_instance(model: Model, env: EnvironmentSettings, table: PriceTable, region: str) -> InstanceType:
    """Cheapest SageMaker instance holding one replica (one replica per instance)."""
    r = model.resources
    options = [
        i
        for i in table.sagemaker
        if i.vcpu >= r.cpu and i.memory_gib >= r.memory_gib and gpu_matches(model, i)
        and (r.gpus > 0) == (i.gpus > 0) and (env.tier == "dev" or not i.burstable)
    ]
    if not options:
        raise EstimateError(
            f"no SageMaker instance in the price table holds model '{model.name}' ({_fmt(r.cpu)} CPU, "
            f"{_fmt(r.memory_gib)} GiB, {r.gpus} GPU{', ' + r.gpu_type if r.gpus and r.gpu_type else ''})"
        )
    return min(options, key=lambda i: (table.regional("sagemaker", i.name, region).value, i.name))


def _realtime_line(model: Model, sizing: Sizing, env: EnvironmentSettings, table: PriceTable, region: str) -> CostLine:
    inst = sagemaker_instance(model, env, table, region)
    price = table.regional("sagemaker", inst.name, region)
    billed = sizing.billed_replicas
    span = f"{sizing.min_replicas}" + (f"-{sizing.peak_replicas}" if sizing.peak_replicas != sizing.min_replicas else "")
    return _line(
        f"{model.name}: real-time endpoint, {span} x {inst.name}",
        billed * price.value * table.hours_per_month * table.usd_to_eur,
        (price,),
        note=f"{_fmt(round(billed, 3))} instance-months billed",
    )


def _serverless_line(model: Model, env: EnvironmentSettings, table: PriceTable, region: str) -> CostLine:
    memory_gb = min(SERVERLESS_MAX_MEMORY_GIB, max(1, math.ceil(model.resources.memory_gib)))
    requests = model.traffic.average_rps * traffic_share(env) * table.hours_per_month * 3600
    gb_seconds = memory_gb * service_seconds(model) * requests
    data_gb = requests * PAYLOAD_KB / 1e6
    compute = table.regional("sagemaker-serverless", "gb-second", region)
    data = table.regional("sagemaker-serverless", "data-gb", region)
    return _line(
        f"{model.name}: Serverless {memory_gb} GB, {_fmt(round(requests / 1e6, 3))} M requests",
        (gb_seconds * compute.value + data_gb * data.value) * table.usd_to_eur,
        (compute, data),
        note=f"{_fmt(round(gb_seconds))} GB-s at {_fmt(service_seconds(model))} s/request, {_fmt(round(data_gb, 2))} GB processed",
    )


def estimate_sagemaker(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
    """One endpoint per model (Serverless when eligible and cheaper), CloudWatch monitoring, ops time."""
    region, fx = profile.region, table.usd_to_eur
    lines: list[CostLine] = []
    total_requests = 0.0
    for model in profile.models:
        sizing = size_model(model, env)
        realtime = _realtime_line(model, sizing, env, table, region)
        blocker = serverless_blocker(model)
        if blocker:
            chosen = replace(realtime, note="; ".join(n for n in (blocker, realtime.note) if n))
        else:
            serverless = _serverless_line(model, env, table, region)
            chosen = serverless if serverless.monthly_eur <= realtime.monthly_eur else realtime
        lines.append(chosen)
        total_requests += model.traffic.average_rps * traffic_share(env) * table.hours_per_month * 3600

    n = len(profile.models)
    alarms = n * (ALARMS_PER_MODEL + (1 if profile.monitoring.drift else 0))
    alarm = table.regional("cloudwatch", "alarm", region)
    dashboard = table.regional("cloudwatch", "dashboard", region)
    logs = table.regional("cloudwatch", "logs-gb", region)
    log_gb = total_requests * LOG_KB_PER_REQUEST / 1e6
    lines.append(_line(f"CloudWatch: {alarms} alarms, 1 dashboard", (alarms * alarm.value + dashboard.value) * fx, (alarm, dashboard)))
    lines.append(_line(f"CloudWatch Logs: {_fmt(round(log_gb, 2))} GB", log_gb * logs.value * fx, (logs,)))
    if profile.monitoring.drift:
        metric = table.regional("cloudwatch", "metric", region)
        lines.append(_line(f"CloudWatch: {n} drift-score custom metric{'s' if n != 1 else ''}", n * metric.value * fx, (metric,)))
    return CostEstimate(lines=tuple(lines), assumptions=ASSUMPTIONS)


# ---------------------------------------------------------------------------------------------------------
# On premise


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
            item=f"CPU node hardware: {_fmt(share.cpu_node_equivalents)} node-equivalents "
            f"({_fmt(share.cpu)} CPU, {_fmt(share.memory_gib)} GiB at peak)",
            monthly_eur=round(share.cpu_node_equivalents * c.server_price_usd * fx / months, 2),
            price_keys=("costs.onprem.server_price_usd", "costs.onprem.amortisation_years", "costs.onprem.node_cpu", "costs.onprem.node_memory_gib"),
            note=f"{_fmt(c.server_price_usd)} USD over {_fmt(months)} months",
        )
    ]
    if share.gpus:
        lines.append(
            CostLine(
                item=f"GPU node hardware: {_fmt(share.gpu_node_equivalents)} nodes ({share.gpus} GPUs at peak, "
                f"{o.gpus_per_node} per node)",
                monthly_eur=round(share.gpu_node_equivalents * c.gpu_server_price_usd * fx / months, 2),
                price_keys=("costs.onprem.gpu_server_price_usd", "costs.onprem.amortisation_years", "onprem.gpus_per_node"),
                note=f"{_fmt(c.gpu_server_price_usd)} USD over {_fmt(months)} months",
            )
        )
    kw = (share.cpu_node_equivalents * c.server_power_w
          + share.gpu_node_equivalents * (c.server_power_w + o.gpus_per_node * c.gpu_power_w)) / 1000
    lines.append(
        CostLine(
            item=f"power: {_fmt(round(kw, 4))} kW average",
            monthly_eur=round(kw * hours * c.electricity_eur_per_kwh, 2),
            price_keys=("costs.onprem.server_power_w", "costs.onprem.gpu_power_w", "costs.onprem.electricity_eur_per_kwh"),
        )
    )
    if c.colocation_eur_per_kw_month:
        lines.append(
            CostLine(
                item=f"colocation: {_fmt(round(kw, 4))} kW",
                monthly_eur=round(kw * c.colocation_eur_per_kw_month, 2),
                price_keys=("costs.onprem.colocation_eur_per_kw_month",),
            )
        )
    nodes = share.cpu_node_equivalents + share.gpu_node_equivalents
    ops_hours = nodes * c.ops_hours_per_node_month
    lines.append(
        CostLine(
            item=f"operations time ({_fmt(round(ops_hours, 2))} h)",
            monthly_eur=round(ops_hours * c.ops_hourly_rate_eur, 2),
            price_keys=("costs.onprem.ops_hours_per_node_month", "costs.onprem.ops_hourly_rate_eur"),
        )
    )
    return CostEstimate(
        lines=tuple(lines),
        assumptions=(
            ASSUMPTIONS[0],
            "on premise: the existing cluster's share is priced in node-equivalents (the larger of the CPU and "
            "memory shares); the monitoring stack is shared by every environment; storage is part of the hardware",
        ),
    )
