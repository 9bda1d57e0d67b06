"""Plan one environment of a profile for one target: the EnvironmentPlan every builder and component works from.

What differs between targets comes in as each environment's ClusterSettings (the target's planning hook:
kube context, ingress and storage classes, the GPU type of its nodes); nothing here names a target.

One monitoring stack per cluster (kube-prometheus-stack is cluster-wide: its operator, CRDs and node-exporter's
host ports cannot be installed twice). Environments whose ClusterSettings name the same kube context share the
stack installed by the highest tier among them (prod > staging > dev; on a tie the first declared); an
environment without a kube context has a cluster of its own. The owner's Alertmanager routes the alerts of every
environment on the cluster, each with that environment's own paging policy. The decision is made from the
profile alone, as if every environment deployed with the same target: a stack cannot see another stack's config.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from mlinfra.conventions import k8s_name, monitoring_namespace, namespace_name
from mlinfra.planning.scaling import autoscaling_spec, remote_write_spec, scraped_models
from mlinfra.planning.sizing import size_model
from mlinfra.planning.specs import (
    AccessSpec,
    ClusterSettings,
    DriftSpec,
    EnvironmentPlan,
    ModelSpec,
    MonitoringSpec,
    OwnerSpec,
    ReceiverSpec,
    RoutedEnvironment,
    SmtpSpec,
)
from mlinfra.profiles.environments import EnvironmentSettings, all_environments, resolve_environment
from mlinfra.profiles.model import Model, Notify, Profile
from mlinfra.runtimes.catalog import RUNTIMES, runtime_for

TIER_RANK = {"dev": 0, "staging": 1, "prod": 2}  # who owns a shared monitoring stack: the highest tier


class PlanError(ValueError):
    """The profile lacks something the target needs; the message names the field and the fix."""


def plan_environment(profile: Profile, env: str, target: str, clusters: dict[str, ClusterSettings]) -> EnvironmentPlan:
    """The plan of `env` (raises profiles.environments.UnknownEnvironment) for `target`, whose planning hook
    gave `clusters` (environment name -> ClusterSettings, every environment of the profile)."""
    settings = resolve_environment(profile, env)
    cluster = clusters[env]
    namespace = namespace_name(profile.name, env)
    return EnvironmentPlan(
        profile_name=profile.name,
        environment=env,
        tier=settings.tier,
        target=target,
        namespace=namespace,
        high_availability=settings.high_availability,
        protect=settings.protect,
        exposure=profile.security.exposure,
        authentication=profile.security.authentication,
        classification=profile.data.classification,
        domain=profile.security.domain or f"{profile.name}.internal",
        tls_secret=profile.security.tls_secret_name or k8s_name(namespace, "tls"),
        ingress_class=cluster.ingress_class,
        ingress_namespace=cluster.ingress_namespace,
        models=tuple(_model_spec(m, settings, cluster, profile.monitoring) for m in profile.models),
        monitoring=_monitoring(profile, settings, cluster, monitoring_share(profile, env, clusters)),
        kube_context=cluster.kube_context,
        access=access_spec(profile),
        autoscaling=autoscaling_spec(profile, settings, monitoring_share(profile, env, clusters).owner == env),
    )


def access_spec(profile: Profile) -> AccessSpec:
    """Who may call the models: the authentication, and for exposure internal the allowed caller ranges."""
    s = profile.security
    if s.exposure == "private":  # no entry from outside the cluster at all
        return AccessSpec()
    return AccessSpec(
        authentication=s.authentication,
        allowed_cidrs=tuple(s.allowed_cidrs) if s.exposure == "internal" else (),
        oidc_issuer=s.oidc.issuer if s.authentication == "oidc" and s.oidc else None,
        oidc_audience=tuple(s.oidc.audience) if s.authentication == "oidc" and s.oidc else (),
        api_keys_secret=s.api_keys_key,
    )


@dataclass(frozen=True)
class MonitoringShare:
    """The environments on one cluster, which share its monitoring stack, and the one that installs it."""

    cluster: str | None  # the kubeconfig context; None: the environment's own cluster
    environments: tuple[EnvironmentSettings, ...]  # in profile order
    owner: str

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.environments)


def monitoring_share(profile: Profile, env: str, clusters: dict[str, ClusterSettings]) -> MonitoringShare:
    """Which environments share `env`'s cluster (and so its monitoring stack), and which of them installs it."""
    this = resolve_environment(profile, env)
    context = clusters[env].kube_context
    if context is None:  # a cluster of its own
        return MonitoringShare(cluster=None, environments=(this,), owner=env)
    members = tuple(e for e in all_environments(profile) if clusters[e.name].kube_context == context)
    # max() keeps the first of equal keys: among the highest tier, the first declared
    owner = max(members, key=lambda e: TIER_RANK[e.tier])
    return MonitoringShare(cluster=context, environments=members, owner=owner.name)


def drift_spec(model: Model, monitoring: Monitoring) -> DriftSpec | None:
    """The drift monitor of a model: with monitoring.drift, a models[].drift block and a runtime serving V2 over
    HTTP (the monitor reads that protocol); None otherwise (monitoring.checks reports what is missing)."""
    d = model.drift
    if not monitoring.drift or d is None or not RUNTIMES[runtime_for(model.framework)].v2_http:
        return None
    return DriftSpec(
        image=monitoring.drift_image,
        reference=d.reference,
        reference_kind=d.reference_kind,
        reference_suffix=d.reference_suffix,
        features=tuple(d.features) if d.features is not None else None,
        prediction_column=d.prediction_column,
        categorical=tuple(d.categorical),
        sample_rate=d.sample_rate,
        window=d.window,
        min_samples=d.min_samples,
        bins=d.bins,
        interval_seconds=d.interval_seconds,
        warn_psi=d.warn_psi,
        page_psi=d.page_psi,
    )


def _model_spec(
    model: Model, settings: EnvironmentSettings, cluster: ClusterSettings, monitoring: Monitoring
) -> ModelSpec:
    sizing = size_model(model, settings)
    runtime = runtime_for(model.framework)
    r = model.resources
    gpu_type = (r.gpu_type or cluster.gpu_type) if r.gpus > 0 else None
    return ModelSpec(
        name=model.name,
        k8s_name=k8s_name(model.name),
        framework=model.framework,
        runtime=runtime,
        image=model.image or RUNTIMES[runtime].image,  # framework custom always has an image (profile rule)
        artifact=model.artifact,
        artifact_kind=model.artifact.split("://", 1)[0],
        cpu=r.cpu,
        memory_gib=r.memory_gib,
        gpus=r.gpus,
        gpu_type=gpu_type,
        min_replicas=sizing.min_replicas,
        max_replicas=sizing.max_replicas,
        capacity_rps_per_replica=sizing.capacity_rps_per_replica,
        average_rps=model.traffic.average_rps,
        peak_rps=model.traffic.peak_rps,
        latency_p95_ms=model.slo.latency_p95_ms,
        availability=model.slo.availability,
        traffic_share=settings.traffic_share,
        traffic_expected=settings.traffic_expected,
        owner=model.owner,
        drift=drift_spec(model, monitoring),
    )


def _monitoring(
    profile: Profile, settings: EnvironmentSettings, cluster: ClusterSettings, share: MonitoringShare
) -> MonitoringSpec:
    m = profile.monitoring
    owns = share.owner == settings.name
    routed = share.environments if owns else (settings,)
    return MonitoringSpec(
        namespace=monitoring_namespace(),
        retention_days=settings.retention_days,
        storage_gib=m.storage_gib,
        storage_class=cluster.storage_class,
        # the stack's series: every environment on its cluster (a non-owner's estimate is the owner's)
        scraped=scraped_models(profile, share.environments),
        cluster_nodes=cluster.nodes,
        stack_retention_days=next(e.retention_days for e in share.environments if e.name == share.owner),
        remote_write=remote_write_spec(profile),
        receivers=_receivers(profile.monitoring.notify),
        smtp=None
        if m.smtp is None
        else SmtpSpec(
            smarthost=m.smtp.smarthost,
            from_address=m.smtp.from_address,
            auth_username=m.smtp.auth_username,
            auth_password_secret=m.smtp.auth_password_secret,
            require_tls=m.smtp.require_tls,
        ),
        alerts_page=settings.alerts_page,
        drift=m.drift,
        grafana_admin_password_secret=m.grafana_admin_password_secret,
        runbook_url=m.runbook_url,
        owns_stack=owns,
        stack_owner=share.owner,
        routed_environments=tuple(
            RoutedEnvironment(name=e.name, alerts_page=e.alerts_page, namespace=namespace_name(profile.name, e.name))
            for e in routed
        ),
        owners=owner_specs(profile),
    )


def owner_specs(profile: Profile) -> tuple[OwnerSpec, ...]:
    """The profile's model owners with their receivers, in profile order."""
    return tuple(
        OwnerSpec(name=name, contact=owner.contact, receivers=receivers_for(owner.notify))
        for name, owner in profile.owners.items()
    )


def receivers_for(notify: list[Notify]) -> tuple[ReceiverSpec, ...]:
    """The receivers of a notify list (monitoring.notify or an owner's), named as every plan names them."""
    return _receivers(notify)


def _receivers(notify: list[Notify]) -> tuple[ReceiverSpec, ...]:
    """One receiver per notify entry, named by its type (`slack`), numbered when a type repeats (`email-2`)."""
    counts = Counter(n.type for n in notify)
    seen: Counter[str] = Counter()
    receivers = []
    for n in notify:
        seen[n.type] += 1
        name = n.type if counts[n.type] == 1 else f"{n.type}-{seen[n.type]}"
        if n.type == "email":
            receivers.append(ReceiverSpec(type="email", name=name, to=n.to))
        elif n.type == "slack":
            receivers.append(ReceiverSpec(type="slack", name=name, secret_key=n.webhook_secret, channel=n.channel))
        elif n.type == "msteams":
            receivers.append(ReceiverSpec(type="msteams", name=name, secret_key=n.webhook_secret))
        elif n.type == "webhook":
            receivers.append(ReceiverSpec(type="webhook", name=name, secret_key=n.url_secret))
        else:
            receivers.append(ReceiverSpec(type="pagerduty", name=name, secret_key=n.routing_key_secret))
    return tuple(receivers)
