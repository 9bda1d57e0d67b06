"""AWS SageMaker monthly cost per environment: one endpoint per model (Serverless when it may serve the model and
is cheaper, real-time instances otherwise), CloudWatch alarms, dashboard and logs."""

from __future__ import annotations

import math
from dataclasses import replace

from mlinfra.costs.assumptions import CLOUD, LOG_KB_PER_REQUEST, PAYLOAD_KB
from mlinfra.costs.lines import priced_line
from mlinfra.costs.model import CostEstimate, CostLine, EstimateError, fmt_number
from mlinfra.costs.nodes import gpu_matches
from mlinfra.costs.prices import InstanceType, PriceTable
from mlinfra.planning.sizing import Sizing, service_seconds, size_model, traffic_share
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Model, Profile

ALARMS_PER_MODEL = 3  # latency, errors, no traffic (+1 when drift is on)
SERVERLESS_MAX_MEMORY_GIB = 6


def serverless_blocker(model: Model) -> str:
    """Why SageMaker Serverless cannot serve `model` ('' when it can): no GPUs, at most 6 GiB of memory."""
    r = model.resources
    if r.gpus > 0:
        return f"Serverless ruled out: the model needs {r.gpus} GPU{'s' if r.gpus != 1 else ''}"
    if r.memory_gib > SERVERLESS_MAX_MEMORY_GIB:
        return f"Serverless ruled out: {fmt_number(r.memory_gib)} GiB exceeds its {SERVERLESS_MAX_MEMORY_GIB} GiB maximum"
    return ""


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
    return priced_line(
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
    return priced_line(
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
    lines.append(priced_line(f"CloudWatch: {alarms} alarms, 1 dashboard", (alarms * alarm.value + dashboard.value) * fx, (alarm, dashboard)))
    lines.append(priced_line(f"CloudWatch Logs: {fmt_number(round(log_gb, 2))} GB", log_gb * logs.value * fx, (logs,)))
    if profile.monitoring.drift:
        metric = table.regional("cloudwatch", "metric", region)
        lines.append(priced_line(f"CloudWatch: {n} drift-score custom metric{'s' if n != 1 else ''}", n * metric.value * fx, (metric,)))
    return CostEstimate(lines=tuple(lines), assumptions=CLOUD)
