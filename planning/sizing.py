"""Sizing: how many replicas a model needs, from its traffic, latency SLO and per-replica resources.

What one replica sustains comes from a measurement when the profile has one (models[].capacity, which
`mlinfra calibrate` records), else from the per-framework planning figures below (requests/s one core or GPU
sustains). Either way the decision lists where each model's figure came from, and a profile can override replica
bounds per environment.

Headroom: a measured rps_per_replica is the most one replica served with p95 within the SLO - a saturation point,
with the latency SLO already in it. Sizing plans at TARGET_UTILISATION of it, the same share of saturation the HPA's
CPU target aims at, so the autoscaler has room to react; the tight-SLO discount of the framework figures is not
applied again (the measured p95 already respects the SLO). A measurement on other cores than resources.cpu is
scaled linearly (an approximation, stated as such).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlinfra.profiles.environments import TRAFFIC_SHARE, EnvironmentSettings  # noqa: F401 - re-exported
from mlinfra.profiles.model import Model

# requests/s per CPU core (CPU models) or per GPU (GPU models) at 100 % utilisation
RPS_PER_CORE = {
    "sklearn": 40.0,
    "xgboost": 40.0,
    "lightgbm": 40.0,
    "onnx": 60.0,
    "pytorch": 10.0,
    "tensorflow": 10.0,
    "huggingface": 4.0,
    "llm": 0.5,
    "custom": 20.0,
}
RPS_PER_GPU = {
    "onnx": 400.0,
    "pytorch": 200.0,
    "tensorflow": 200.0,
    "huggingface": 40.0,
    "llm": 4.0,
    "custom": 100.0,
    "sklearn": 40.0,
    "xgboost": 150.0,
    "lightgbm": 40.0,
}
TARGET_UTILISATION = 0.6  # headroom so p95 latency holds while the autoscaler reacts
TIGHT_LATENCY_MS = 100  # below this SLO, plan for lower utilisation (queueing dominates)
DEV_MAX_REPLICAS = 2
MAX_REPLICAS = 1000  # environments.<env>.max_replicas' bound: what one HPA may scale to
PEAK_HEADROOM = 1.2  # peak replicas absorb 20 % more than the stated peak
# Cost planning: the share of the month a service runs at its peak replica count (autoscaled targets pay the
# peak only then; fixed hardware must hold it all month). The share of the profile's traffic an environment
# sees (the profile states production traffic; usage-priced items scale with it) is the environment's
# traffic_share: profiles.environments.TRAFFIC_SHARE by tier, or the profile's override.
PEAK_SHARE_OF_MONTH = 0.15  # the default of costs.peak_share_of_month


@dataclass(frozen=True)
class Sizing:
    capacity_rps_per_replica: float
    replicas_for_average: int
    replicas_for_peak: int
    min_replicas: int
    max_replicas: int
    capped: bool  # the environment's max_replicas is below what peak traffic needs
    peak_replicas: int = 1  # replicas running at peak: what peak traffic needs, within [min, max]

    @property
    def billed_replicas(self) -> float:
        """Time-weighted replicas of an autoscaled target at the default PEAK_SHARE_OF_MONTH."""
        return self.billed(PEAK_SHARE_OF_MONTH)

    def billed(self, peak_share: float) -> float:
        """Time-weighted replicas of an autoscaled target: the floor all month, the peak for `peak_share` of it
        (the profile's costs.peak_share_of_month)."""
        return self.min_replicas + (self.peak_replicas - self.min_replicas) * peak_share


def capacity_rps(model: Model) -> float:
    """Sustainable requests/s of one replica at the target utilisation: the plan's capacity_rps_per_replica, what
    replica counts, SageMaker's invocations per instance and the request-rate autoscaling target divide by."""
    measured = measured_rps(model)
    if measured is not None:
        return round(measured * TARGET_UTILISATION, 4)
    r = model.resources
    raw = RPS_PER_GPU[model.framework] * r.gpus if r.gpus > 0 else RPS_PER_CORE[model.framework] * r.cpu
    return round(raw * default_utilisation(model), 4)


def default_utilisation(model: Model) -> float:
    """Share of the framework figure sizing plans for: lower below TIGHT_LATENCY_MS, where queueing dominates."""
    return TARGET_UTILISATION * (0.75 if model.slo.latency_p95_ms < TIGHT_LATENCY_MS else 1.0)


def measured_rps(model: Model) -> float | None:
    """The measured requests/s of one replica at the profile's resources (None without models[].capacity): as
    measured, or scaled linearly by resources.cpu / capacity.cores for a CPU model measured on other cores."""
    c = model.capacity
    if c is None:
        return None
    return c.rps_per_replica * cores_factor(model)


def cores_factor(model: Model) -> float:
    """resources.cpu / capacity.cores for a CPU model measured on other cores than it requests, else 1."""
    c = model.capacity
    if c is None or model.resources.gpus > 0 or model.resources.cpu == c.cores:
        return 1.0
    return model.resources.cpu / c.cores


def capacity_assumption(model: Model) -> str:
    """Where the model's capacity_rps comes from, with the arithmetic, for the decision's assumptions."""
    cap = fmt(capacity_rps(model))
    c = model.capacity
    if c is not None:
        text = (f"{model.name}: {cap} req/s per replica = {fmt(c.rps_per_replica)} req/s measured (models[].capacity, "
                f"{c.measured_on.isoformat()}, {c.runtime} on {c.cores} core{'s' if c.cores != 1 else ''} of {c.cpu}, "
                f"p95 {fmt(c.p95_ms)} ms at {c.concurrency} in flight)")
        factor = cores_factor(model)
        if factor != 1.0:
            text += (f" x {fmt(round(factor, 4))} (resources.cpu {fmt(model.resources.cpu)} / {c.cores} cores, scaled "
                     "linearly: an approximation, measure at the replica's cores)")
        return text + f" x {TARGET_UTILISATION} target utilisation"
    r = model.resources
    if r.gpus > 0:
        per, units = f"{fmt(RPS_PER_GPU[model.framework])} req/s per GPU", f"{r.gpus} GPU{'s' if r.gpus != 1 else ''}"
    else:
        per, units = f"{fmt(RPS_PER_CORE[model.framework])} req/s per core", f"{fmt(r.cpu)} core{'s' if r.cpu != 1 else ''}"
    return (f"{model.name}: {cap} req/s per replica assumed, not measured ({model.framework} default {per} x {units} "
            f"x {fmt(default_utilisation(model))} utilisation); `mlinfra calibrate` measures it")


def fmt(value: float) -> str:
    """A number as people write it: no trailing zeros."""
    return f"{value:g}"


def size_model(model: Model, env: EnvironmentSettings) -> Sizing:
    """Replica bounds of `model` in `env`: floor from the environment, ceiling from peak traffic (+20 %), both for
    the traffic `env` serves (its traffic_share of the profile's production traffic): staging is not prod."""
    cap = capacity_rps(model)
    average, peak = env_traffic(model, env)
    for_average = max(1, math.ceil(average / cap)) if average else 1
    for_peak = max(1, math.ceil(peak * PEAK_HEADROOM / cap)) if peak else 1
    # dev stays minimal: traffic never lifts its floor above DEV_MAX_REPLICAS (an explicit min_replicas still wins)
    min_replicas = max(env.min_replicas, min(for_average, DEV_MAX_REPLICAS) if env.tier == "dev" else for_average)
    if env.max_replicas is not None:
        max_replicas = env.max_replicas
        min_replicas = min(min_replicas, max_replicas)
    elif env.tier == "dev":
        max_replicas = max(min_replicas, min(for_peak, DEV_MAX_REPLICAS))
    else:
        max_replicas = max(min_replicas, for_peak)
    # never more than a Deployment should hold (the profile's own limit on min/max_replicas): the rest is `capped`
    min_replicas, max_replicas = min(min_replicas, MAX_REPLICAS), min(max_replicas, MAX_REPLICAS)
    return Sizing(
        capacity_rps_per_replica=cap,
        replicas_for_average=for_average,
        replicas_for_peak=for_peak,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        capped=max_replicas < for_peak,
        peak_replicas=min(max_replicas, max(min_replicas, for_peak)),
    )


def service_seconds(model: Model) -> float:
    """Compute time one request takes on one core (CPU models) or one GPU, from the same throughput figures (the
    measured one when the profile has it: the replica's cores or GPUs over its measured requests/s)."""
    r = model.resources
    measured = measured_rps(model)
    if measured is not None:
        return round((r.gpus if r.gpus > 0 else r.cpu) / measured, 6)
    if r.gpus > 0:
        return round(1.0 / RPS_PER_GPU[model.framework], 6)
    return round(1.0 / RPS_PER_CORE[model.framework], 6)


def env_traffic(model: Model, env: EnvironmentSettings) -> tuple[float, float]:
    """Average and peak requests/s `model` serves in `env`: the profile's figures x the environment's share."""
    share = traffic_share(env)
    return round(model.traffic.average_rps * share, 6), round(model.traffic.peak_rps * share, 6)


def traffic_share(env: EnvironmentSettings) -> float:
    """Share of the profile's (production) traffic that `env` sees (environments.<env>.traffic_share, else
    TRAFFIC_SHARE of its tier)."""
    return env.traffic_share
