"""Monthly cost estimates per target and environment: pure arithmetic over the sizing and the price table.

Each line names the price keys (or profile fields) it used. Planning assumptions are constants here and are
repeated in every estimate's `assumptions`, so a reader can check the arithmetic by hand.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

from mlinfra.costs.nodes import (
    MONITORING_PODS,
    EstimateError,
    candidate_instances,
    fmt_number,
    gpu_matches,
    model_pod,
    plan_pool,
)
from mlinfra.costs.prices import InstanceType, Price, PriceTable
from mlinfra.planning.sizing import PEAK_SHARE_OF_MONTH, service_seconds, size_model, traffic_share
from mlinfra.targets.base import CostEstimate, CostLine

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.planning.sizing import Sizing
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Model, Profile

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

__all__ = ["ASSUMPTIONS", "EstimateError", "estimate_eks", "estimate_sagemaker", "sagemaker_instance", "serverless_blocker"]


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


def _ops_rate(profile: Profile) -> float:
    return profile.costs.onprem.ops_hourly_rate_eur


# ---------------------------------------------------------------------------------------------------------
# Node pools (EKS)


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
                note=f"{fmt_number(round(plan.billed_nodes, 3))} node-months billed",
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
            item=f"operations time ({fmt_number(round(ops_hours, 2))} h)",
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
        f"application load balancer ({profile.security.exposure}), {fmt_number(round(lcus, 3))} LCU",
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
        return f"Serverless ruled out: {fmt_number(r.memory_gib)} GiB exceeds its {SERVERLESS_MAX_MEMORY_GIB} GiB maximum"
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
            f"no SageMaker instance in the price table holds model '{model.name}' ({fmt_number(r.cpu)} CPU, "
            f"{fmt_number(r.memory_gib)} GiB, {r.gpus} GPU{', ' + r.gpu_type if r.gpus and r.gpu_type else ''})"
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
        note=f"{fmt_number(round(billed, 3))} instance-months billed",
    )


def _serverless_line(model: Model, env: EnvironmentSettings, table: PriceTable, region: str) -> CostLine:
    memory_gb = min(SERVERLESS_MAX_MEMORY_GIB, max(1, math.ceil(model.resources.memory_gib)))
    requests = model.traffic.average_rps * traffic_share(env) * table.hours_per_month * 3600
    gb_seconds = memory_gb * service_seconds(model) * requests
    data_gb = requests * PAYLOAD_KB / 1e6
    compute = table.regional("sagemaker-serverless", "gb-second", region)
    data = table.regional("sagemaker-serverless", "data-gb", region)
    return _line(
        f"{model.name}: Serverless {memory_gb} GB, {fmt_number(round(requests / 1e6, 3))} M requests",
        (gb_seconds * compute.value + data_gb * data.value) * table.usd_to_eur,
        (compute, data),
        note=f"{fmt_number(round(gb_seconds))} GB-s at {fmt_number(service_seconds(model))} s/request, {fmt_number(round(data_gb, 2))} GB processed",
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
    lines.append(_line(f"CloudWatch Logs: {fmt_number(round(log_gb, 2))} GB", log_gb * logs.value * fx, (logs,)))
    if profile.monitoring.drift:
        metric = table.regional("cloudwatch", "metric", region)
        lines.append(_line(f"CloudWatch: {n} drift-score custom metric{'s' if n != 1 else ''}", n * metric.value * fx, (metric,)))
    return CostEstimate(lines=tuple(lines), assumptions=ASSUMPTIONS)
