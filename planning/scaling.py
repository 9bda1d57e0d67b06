"""How an environment's models scale, and what its monitoring stack scrapes: the plan's autoscaling and
remote-write specs, from the profile's autoscaling and monitoring.remote_write sections.

Scale to zero (dev with autoscaling.dev_schedule): outside the schedule and without requests a model runs no
replica. Only for runtimes that start within SCALE_TO_ZERO_MAX_STARTUP_S - the hold of the model-down alert
(monitoring.rules.HOLD): a model woken by its schedule is ready before that alert could fire, so waking never
pages; the others (Triton, vLLM, TGI: minutes of loading) keep their minimum replicas.
"""

from __future__ import annotations

from mlinfra.planning.sizing import size_model
from mlinfra.planning.specs import AutoscalingSpec, EnvironmentPlan, ModelSpec, RemoteWriteSpec, ScrapedModel
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Model, Profile
from mlinfra.runtimes.catalog import RUNTIMES, runtime_for

SCALE_TO_ZERO_MAX_STARTUP_S = 300  # = monitoring.rules.HOLD[MLModelDown] (a unit test holds them together)


def autoscaling_spec(profile: Profile, settings: EnvironmentSettings, owns_stack: bool) -> AutoscalingSpec:
    """The environment's autoscaling: KEDA installed by the owner of the cluster's monitoring stack (when the
    profile asks mlinfra to install it), dev's schedule for dev environments only."""
    a = profile.autoscaling
    schedule = a.dev_schedule
    return AutoscalingSpec(
        metric=a.metric,
        install_keda=a.metric == "requests" and a.keda == "install" and owns_stack,
        keda_namespace=a.keda_namespace,
        schedule=(schedule.timezone, schedule.start, schedule.end)
        if schedule is not None and settings.tier == "dev" and a.metric == "requests"
        else None,
    )


def scales_to_zero(plan: EnvironmentPlan, model: ModelSpec) -> bool:
    """Whether `model` scales to zero outside the environment's schedule (its runtime starts fast enough)."""
    return plan.autoscaling.schedule is not None and RUNTIMES[model.runtime].startup_seconds <= SCALE_TO_ZERO_MAX_STARTUP_S


def scraped_models(profile: Profile, environments: tuple[EnvironmentSettings, ...]) -> tuple[ScrapedModel, ...]:
    """Every model of every environment a monitoring stack watches, at its maximum replicas, with its drift
    monitor's features where it has one."""
    return tuple(
        ScrapedModel(environment=env.name, model=m.name, runtime=runtime_for(m.framework),
                     max_replicas=size_model(m, env).max_replicas, drift_features=drift_features(profile, m))
        for env in environments
        for m in profile.models
    )


def drift_features(profile: Profile, model: Model) -> int | None:
    """The features a model's drift monitor scores (0: the reference's columns, unknown here), None without one -
    the condition of planning.plan.drift_spec (monitoring.drift, models[].drift, a V2 runtime; a test holds them
    equal)."""
    d = model.drift
    if not profile.monitoring.drift or d is None or not RUNTIMES[runtime_for(model.framework)].v2_http:
        return None
    return len(d.features) if d.features is not None else 0


def remote_write_spec(profile: Profile) -> RemoteWriteSpec | None:
    rw = profile.monitoring.remote_write
    if rw is None:
        return None
    return RemoteWriteSpec(kind=rw.kind, url=rw.url, tenant=rw.tenant, auth=rw.auth, username=rw.username,
                           credentials_secret=rw.credentials_secret)
