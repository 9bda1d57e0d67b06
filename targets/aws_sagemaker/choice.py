"""Serverless, real-time or asynchronous, per model and environment: the one choice the cost model prices and the
deployment deploys (`choose_endpoint`), so what `decide` shows is what `pulumi up` creates.

- Asynchronous when the latency SLO is longer than a synchronous invocation may take (60 s for real-time and
  Serverless endpoints alike): requests are queued, results land in the model store (up to one hour of
  processing, 1 GB payloads); instances as for real-time.
- Serverless when it may serve the model (no GPUs, at most 6 GiB, no data capture: monitoring.drift needs the
  captured requests and Serverless endpoints cannot capture; no VPC isolation asked for by private exposure or
  confidential data; outside dev a peak concurrency within its 200 per endpoint) and it is not dearer than
  real-time instances.
  Outside dev, a p95 SLO shorter than a cold start (COLD_START_MS) keeps the concurrency of average traffic
  provisioned (warm), priced as such; bursts above it start on demand.
- Real-time otherwise: the cheapest SageMaker instance holding one replica, the replica bounds from sizing, and
  outside dev at least two instances when the availability SLO is 99.9 % or more (one instance is one failure
  domain: SageMaker spreads the instances of a variant over availability zones only when there are several).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal, NamedTuple

from mlinfra.costs.lines import priced_line
from mlinfra.costs.model import CostLine, EstimateError, fmt_number
from mlinfra.costs.nodes import gpu_matches
from mlinfra.costs.prices import InstanceType, Price, PriceTable
from mlinfra.planning.sizing import (
    DEV_MAX_REPLICAS,
    PEAK_HEADROOM,
    TARGET_UTILISATION,
    Sizing,
    env_traffic,
    service_seconds,
    size_model,
    traffic_share,
)
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Model, Profile
from mlinfra.targets.aws.rules import no_instance

SERVERLESS_MAX_MEMORY_GIB = 6  # MemorySizeInMB: 1024 .. 6144 in steps of 1024
SERVERLESS_MAX_CONCURRENCY = 200  # MaxConcurrency per endpoint
# InvokeEndpoint: "customer model containers must respond to requests within 60 seconds" (API reference); an SLO
# above it can only be met asynchronously (InvokeEndpointAsync: up to 3600 s of processing).
SYNC_INVOCATION_LIMIT_MS = 60_000
ASYNC_INVOCATION_LIMIT_MS = 3_600_000
# A Serverless cold start (container and model loaded on demand) takes seconds - AWS gives no figure, reports
# range 1-10 s: a p95 SLO below this is not met while requests wait for one, so such models keep their average
# concurrency provisioned outside dev.
COLD_START_MS = 5_000
# Network isolation: real-time endpoints can run their model containers in the customer's VPC (VpcConfig on the
# model); Serverless endpoints cannot. Private exposure and confidential data ask for it.
ISOLATED_CLASSES = ("confidential",)
HA_AVAILABILITY = 0.999  # from this availability SLO on, a real-time variant runs at least HA_MIN_INSTANCES
HA_MIN_INSTANCES = 2

Mode = Literal["serverless", "realtime", "async"]


@dataclass(frozen=True, kw_only=True)
class EndpointChoice:
    """How one model is served in one environment, with the cost line that priced exactly this."""

    model: str
    mode: Mode
    line: CostLine
    why: str  # one sentence: why this mode
    instance_type: str | None = None  # real-time
    min_instances: int = 0  # real-time: the autoscaling floor (and the initial count)
    max_instances: int = 0  # real-time: the autoscaling ceiling
    memory_mb: int | None = None  # Serverless
    max_concurrency: int | None = None  # Serverless
    provisioned_concurrency: int | None = None  # Serverless: invocations kept warm (None: on demand only)

    @property
    def instances(self) -> bool:
        """Runs on instances this stack sizes and autoscales (real-time and asynchronous)."""
        return on_instances(self.mode)


def on_instances(mode: Mode) -> bool:
    """Whether an endpoint of `mode` runs on instances this stack sizes and autoscales (real-time and asynchronous)."""
    return mode != "serverless"


def serverless_blocker(
    model: Model, drift: bool = False, isolation: str = "", concurrency: int = 0, peak_rps: float | None = None
) -> str:
    """Why SageMaker Serverless cannot serve `model` ('' when it can): GPUs, more than 6 GiB, data capture, VPC
    isolation (`isolation`: the profile field asking for it) or a peak `concurrency` above its 200 per endpoint."""
    r = model.resources
    peak_rps = model.traffic.peak_rps if peak_rps is None else peak_rps
    if r.gpus > 0:
        return f"Serverless ruled out: the model needs {r.gpus} GPU{'s' if r.gpus != 1 else ''}"
    if r.memory_gib > SERVERLESS_MAX_MEMORY_GIB:
        return f"Serverless ruled out: {fmt_number(r.memory_gib)} GiB exceeds its {SERVERLESS_MAX_MEMORY_GIB} GiB maximum"
    if drift:
        return "Serverless ruled out: monitoring.drift needs data capture, which Serverless endpoints do not support"
    if isolation:
        return (f"Serverless ruled out: {isolation} asks for the model container inside your VPC (VpcConfig), and "
                "Serverless endpoints cannot be attached to a VPC")
    if concurrency > SERVERLESS_MAX_CONCURRENCY:
        return (f"Serverless ruled out: peak concurrency {concurrency} ({fmt_number(peak_rps)} req/s x "
                f"{fmt_number(service_seconds(model))} s per request x {PEAK_HEADROOM} headroom / "
                f"{TARGET_UTILISATION} utilisation) exceeds its {SERVERLESS_MAX_CONCURRENCY} per endpoint")
    return ""


def vpc_isolation(profile: Profile) -> str:
    """The profile field that asks for network isolation of the endpoints ('' when none does)."""
    if profile.security.exposure == "private":
        return "security.exposure 'private'"
    if profile.data.classification in ISOLATED_CLASSES:
        return f"data.classification '{profile.data.classification}'"
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
        pool = [i for i in table.sagemaker if (r.gpus > 0) == (i.gpus > 0) and (env.tier == "dev" or not i.burstable)]
        if r.gpus:
            pool = [i for i in pool if not r.gpu_type or i.gpu == r.gpu_type.lower()]
        raise EstimateError(no_instance(model, "SageMaker", pool))
    return min(options, key=lambda i: (table.regional("sagemaker", i.name, region).value, i.name))


def realtime_sizing(model: Model, env: EnvironmentSettings) -> Sizing:
    """The model's sizing, with the floor raised to HA_MIN_INSTANCES for an availability SLO >= HA_AVAILABILITY
    outside dev (dev stays minimal, as sizing keeps it: it does not page, the SLO is production's)."""
    sizing = size_model(model, env)
    floor = HA_MIN_INSTANCES if model.slo.availability >= HA_AVAILABILITY and env.tier != "dev" else 1
    if sizing.min_replicas >= floor:
        return sizing
    return replace(
        sizing, min_replicas=floor, max_replicas=max(sizing.max_replicas, floor),
        peak_replicas=max(sizing.peak_replicas, floor),
    )


def serverless_memory_gb(model: Model) -> int:
    """Configured memory: the model's memory rounded up to whole GB, 1 to 6."""
    return min(SERVERLESS_MAX_MEMORY_GIB, max(1, math.ceil(model.resources.memory_gib)))


def peak_concurrency(model: Model, env: EnvironmentSettings) -> int:
    """Concurrent invocations at the environment's peak: requests/s x seconds per request, with the peak headroom and
    the target utilisation of sizing."""
    peak = env_traffic(model, env)[1]
    return max(1, math.ceil(peak * PEAK_HEADROOM * service_seconds(model) / TARGET_UTILISATION))


def serverless_concurrency(model: Model, env: EnvironmentSettings) -> int:
    """The endpoint's MaxConcurrency: peak concurrency, at most 200; dev stays as small as its replicas
    (DEV_MAX_REPLICAS)."""
    cap = DEV_MAX_REPLICAS if env.tier == "dev" else SERVERLESS_MAX_CONCURRENCY
    return min(peak_concurrency(model, env), cap)


def realtime_eur(profile: Profile, sizing: Sizing, price: Price, table: PriceTable) -> float:
    """A real-time or asynchronous endpoint's month in EUR: the instance-months `sizing` bills (the floor all month,
    the peak for costs.peak_share_of_month of it) at the instance's price."""
    return sizing.billed(profile.costs.peak_share_of_month) * price.value * table.hours_per_month * table.usd_to_eur


def _realtime_line(
    profile: Profile,
    model: Model, sizing: Sizing, inst: InstanceType, table: PriceTable, region: str, kind: str = "real-time"
) -> CostLine:
    price = table.regional("sagemaker", inst.name, region)
    billed = sizing.billed(profile.costs.peak_share_of_month)
    span = f"{sizing.min_replicas}" + (f"-{sizing.peak_replicas}" if sizing.peak_replicas != sizing.min_replicas else "")
    return priced_line(
        f"{model.name}: {kind} endpoint, {span} x {inst.name}",
        realtime_eur(profile, sizing, price, table),
        (price,),
        note=f"{fmt_number(round(billed, 3))} instance-months billed",
    )


def provisioned_concurrency(model: Model, env: EnvironmentSettings) -> int | None:
    """Warm invocations for a Serverless endpoint whose p95 SLO is shorter than a cold start: the concurrency of
    average traffic (at least one, at most the endpoint's maximum); None in dev and for SLOs a cold start meets."""
    if env.tier == "dev" or model.slo.latency_p95_ms >= COLD_START_MS:
        return None
    average = math.ceil(model.traffic.average_rps * traffic_share(env) * service_seconds(model) / TARGET_UTILISATION)
    return max(1, min(average, serverless_concurrency(model, env)))


def serverless_usage(
    profile: Profile, model: Model, env: EnvironmentSettings, hours_per_month: float
) -> tuple[int, float, float, float]:
    """A Serverless endpoint's month: its memory in GB, requests, GB-seconds of compute and GB of data processed."""
    memory_gb = serverless_memory_gb(model)
    requests = model.traffic.average_rps * traffic_share(env) * hours_per_month * 3600
    return (memory_gb, requests, memory_gb * service_seconds(model) * requests,
            requests * profile.costs.payload_kb_per_request / 1e6)


def serverless_eur(
    profile: Profile, model: Model, env: EnvironmentSettings, table: PriceTable, provisioned: int | None
) -> float:
    """A Serverless endpoint's month in EUR: compute and data processed on demand, and `provisioned` invocations
    kept warm all month (requests priced at the on-demand rate: an upper bound)."""
    region = profile.region
    memory_gb, _, gb_seconds, data_gb = serverless_usage(profile, model, env, table.hours_per_month)
    usd = (gb_seconds * table.regional("sagemaker-serverless", "gb-second", region).value
           + data_gb * table.regional("sagemaker-serverless", "data-gb", region).value)
    if provisioned:
        warm_gb_seconds = provisioned * memory_gb * table.hours_per_month * 3600
        usd += warm_gb_seconds * table.regional("sagemaker-serverless", "provisioned-gb-second", region).value
    return usd * table.usd_to_eur


def _serverless_line(
    profile: Profile,
    model: Model, env: EnvironmentSettings, table: PriceTable, region: str, provisioned: int | None
) -> CostLine:
    memory_gb, requests, gb_seconds, data_gb = serverless_usage(profile, model, env, table.hours_per_month)
    compute = table.regional("sagemaker-serverless", "gb-second", region)
    data = table.regional("sagemaker-serverless", "data-gb", region)
    prices: tuple[Price, ...] = (compute, data)
    note = (f"{fmt_number(round(gb_seconds))} GB-s at {fmt_number(service_seconds(model))} s/request, "
            f"{fmt_number(round(data_gb, 2))} GB processed")
    item = f"{model.name}: Serverless {memory_gb} GB, {fmt_number(round(requests / 1e6, 3))} M requests"
    if provisioned:
        prices = (*prices, table.regional("sagemaker-serverless", "provisioned-gb-second", region))
        item += f", {provisioned} provisioned"
        note += (f"; {provisioned} provisioned concurrency x {memory_gb} GB all month (requests priced at the "
                 "on-demand rate: an upper bound)")
    return priced_line(item, serverless_eur(profile, model, env, table, provisioned), prices, note=note)


class EndpointPrice(NamedTuple):
    """The choice in figures, without its texts: what `choose_endpoint` describes and the break-even sweep
    (sweep.py) adds up at every point of its traffic."""

    mode: Mode
    monthly_eur: float  # the chosen endpoint's month, to the cent (its cost line)
    sizing: Sizing  # the real-time replica bounds (also an asynchronous endpoint's)
    blocker: str  # why Serverless cannot serve the model ('' when it can; not asked for asynchronous endpoints)
    provisioned: int | None  # Serverless invocations kept warm, as priced
    realtime_eur: float  # instances, to the cent
    serverless_eur: float | None  # to the cent; None when Serverless is ruled out (or the endpoint is asynchronous)


def price_endpoint(
    profile: Profile, model: Model, env: EnvironmentSettings, table: PriceTable, inst: InstanceType
) -> EndpointPrice:
    """The rule, on figures: asynchronous for SLOs beyond a synchronous invocation, else Serverless when nothing rules
    it out and it is not dearer to the cent than real-time instances of `inst`, real-time otherwise."""
    sizing = realtime_sizing(model, env)
    realtime = round(realtime_eur(profile, sizing, table.regional("sagemaker", inst.name, profile.region), table), 2)
    if model.slo.latency_p95_ms > SYNC_INVOCATION_LIMIT_MS:
        return EndpointPrice("async", realtime, sizing, "", None, realtime, None)
    blocker = serverless_blocker(
        model, profile.monitoring.drift, vpc_isolation(profile),
        peak_concurrency(model, env) if env.tier != "dev" else 0,  # dev is capped at its replicas and does not page
        env_traffic(model, env)[1],
    )
    if blocker:
        return EndpointPrice("realtime", realtime, sizing, blocker, None, realtime, None)
    warm = provisioned_concurrency(model, env)
    serverless = round(serverless_eur(profile, model, env, table, warm), 2)
    if serverless <= realtime:
        return EndpointPrice("serverless", serverless, sizing, "", warm, realtime, serverless)
    return EndpointPrice("realtime", realtime, sizing, "", warm, realtime, serverless)


def choose_endpoint(profile: Profile, model: Model, env: EnvironmentSettings, table: PriceTable) -> EndpointChoice:
    """Asynchronous for SLOs beyond a synchronous invocation, else Serverless when eligible and not dearer,
    real-time otherwise (`price_endpoint` decides; raises EstimateError: no instance fits)."""
    region = profile.region
    inst = sagemaker_instance(model, env, table, region)
    priced = price_endpoint(profile, model, env, table, inst)
    sizing, blocker, warm = priced.sizing, priced.blocker, priced.provisioned
    slo_ms = model.slo.latency_p95_ms
    if priced.mode == "async":
        return EndpointChoice(
            model=model.name, mode="async", line=_realtime_line(profile, model, sizing, inst, table, region, "asynchronous"),
            why=(f"asynchronous: the {fmt_number(slo_ms / 1000)} s p95 SLO is longer than the "
                 f"{SYNC_INVOCATION_LIMIT_MS // 1000} s a real-time or Serverless invocation may take"),
            instance_type=inst.name, min_instances=sizing.min_replicas, max_instances=sizing.max_replicas,
        )
    realtime = _realtime_line(profile, model, sizing, inst, table, region)
    serverless = None if blocker else _serverless_line(profile, model, env, table, region, warm)
    if priced.mode == "serverless":
        cold = (f"; {warm} invocation{'s' if warm != 1 else ''} kept warm (provisioned concurrency): the p95 SLO "
                f"{fmt_number(slo_ms)} ms is shorter than a cold start ({COLD_START_MS // 1000} s assumed)") if warm else ""
        return EndpointChoice(
            model=model.name, mode="serverless", line=serverless,  # type: ignore[arg-type]
            why=f"Serverless is not dearer than {realtime.item.split(': ', 1)[1]} ({realtime.monthly_eur:.2f} EUR){cold}",
            memory_mb=serverless_memory_gb(model) * 1024, max_concurrency=serverless_concurrency(model, env),
            provisioned_concurrency=warm,
        )
    why = blocker or (f"real-time is cheaper than {serverless.item.split(': ', 1)[1]} "  # type: ignore[union-attr]
                      f"({serverless.monthly_eur:.2f} EUR)")  # type: ignore[union-attr]
    line = replace(realtime, note="; ".join(n for n in (blocker, realtime.note) if n)) if blocker else realtime
    return EndpointChoice(
        model=model.name, mode="realtime", line=line, why=why, instance_type=inst.name,
        min_instances=sizing.min_replicas, max_instances=sizing.max_replicas,
    )
