"""Plain, frozen specs for one environment of a profile. Builders and components take these, never the profile."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ArtifactKind = Literal["s3", "pvc", "oci", "https"]


@dataclass(frozen=True, kw_only=True)
class ClusterSettings:
    """Where one environment runs, as its target sees it (the target's planning hook, Target.cluster)."""

    # the kubeconfig context of an existing cluster; None: a cluster of the environment's own (or no cluster)
    kube_context: str | None = None
    ingress_class: str | None = None
    # namespace of an in-cluster ingress controller NetworkPolicies admit; None: the edge is outside the cluster
    ingress_namespace: str | None = None
    storage_class: str | None = None  # None: the cluster's default StorageClass
    gpu_type: str | None = None  # GPU type of the GPU nodes, for models that name none
    nodes: int | None = None  # worker nodes of the cluster, when the target knows them (sizes the monitoring stack)


@dataclass(frozen=True, kw_only=True)
class DriftSpec:
    """The drift monitor beside one model server (models[].drift with monitoring.drift, a V2 runtime)."""

    image: str  # monitoring.drift_image
    reference: str  # s3://, https:// or pvc:// URL of the reference sample (one .csv or .parquet file)
    reference_kind: Literal["s3", "https", "pvc"]
    reference_suffix: Literal[".csv", ".parquet"]
    features: tuple[str, ...] | None  # None: the reference's columns but the prediction
    prediction_column: str | None
    categorical: tuple[str, ...]
    sample_rate: float
    window: int
    min_samples: int
    bins: int
    interval_seconds: float
    warn_psi: float  # PSI of the ticket (warning)
    page_psi: float  # PSI of the page (critical)


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """One model as deployed in one environment."""

    name: str  # model name from the profile (also the `model` label on metrics)
    k8s_name: str  # RFC 1123 object name (Deployment, Service, ...)
    framework: str
    runtime: str  # key into mlinfra.runtimes.catalog.RUNTIMES
    image: str  # pinned image reference
    artifact: str
    artifact_kind: ArtifactKind
    cpu: float
    memory_gib: float
    gpus: int
    gpu_type: str | None
    min_replicas: int
    max_replicas: int
    # requests/s one replica serves at the target utilisation (sizing.capacity_rps: the measured models[].capacity x
    # TARGET_UTILISATION, else the framework default): what replica counts and request-rate autoscaling divide by
    capacity_rps_per_replica: float
    average_rps: float
    peak_rps: float
    latency_p95_ms: float
    availability: float
    # Traffic of this environment: the share of the profile's (production) traffic it serves, and whether that
    # traffic is continuous, so silence is a fault (profiles.environments.EnvironmentSettings.traffic_expected)
    traffic_share: float = 1.0
    traffic_expected: bool = True
    drift: DriftSpec | None = None  # the drift monitor beside the server; None: none
    owner: str | None = None  # the profile's models[].owner: its model alerts carry `owner` and go to its receivers

    @property
    def expected_rps(self) -> float:
        """Average requests/s this environment is expected to serve."""
        return expected_rps(self.average_rps, self.traffic_share)

    @property
    def expects_traffic(self) -> bool:
        """Whether silence is a fault (no-traffic alert, and a missing latency/error SLI pages)."""
        return expects_traffic(self.traffic_expected, self.average_rps, self.traffic_share)

    @property
    def error_budget(self) -> float:
        """Allowed error ratio, 1 - availability."""
        return round(1 - self.availability, 10)


def expected_rps(average_rps: float, traffic_share: float) -> float:
    """Average requests/s an environment serving `traffic_share` of the profile's traffic is expected to serve."""
    return round(average_rps * traffic_share, 6)


def expects_traffic(traffic_expected: bool, average_rps: float, traffic_share: float) -> bool:
    """Whether an environment's silence is a fault: its traffic is continuous and some is expected (ModelSpec's
    figures, for callers that have the profile's and the environment's rather than a plan)."""
    return traffic_expected and expected_rps(average_rps, traffic_share) > 0


@dataclass(frozen=True, kw_only=True)
class ReceiverSpec:
    """One alert receiver; secrets are named by Pulumi config key, never by value."""

    type: Literal["email", "slack", "msteams", "webhook", "pagerduty"]
    name: str  # receiver name in Alertmanager, unique per plan
    to: str | None = None  # email
    secret_key: str | None = None  # Pulumi secret config key (slack/msteams webhook, webhook url, pagerduty key)
    channel: str | None = None  # slack


@dataclass(frozen=True, kw_only=True)
class OwnerSpec:
    """An owner of models (the profile's owners.<name>): who answers for their model alerts, and how to reach them."""

    name: str  # also the `owner` label of its models' alerts and the prefix of its receivers (<name>-page)
    contact: str
    receivers: tuple[ReceiverSpec, ...]  # named as the platform's (`email`, `slack-2`), unique within the owner


@dataclass(frozen=True, kw_only=True)
class SmtpSpec:
    smarthost: str
    from_address: str
    auth_username: str | None
    auth_password_secret: str | None
    require_tls: bool


@dataclass(frozen=True, kw_only=True)
class RoutedEnvironment:
    """An environment whose alerts an Alertmanager routes, with that environment's own paging policy."""

    name: str
    alerts_page: bool  # its critical alerts page (otherwise they are routed as tickets)
    # its models' namespace: alerts about it without an `environment` label (the chart's own) route like it
    namespace: str | None = None


@dataclass(frozen=True, kw_only=True)
class AutoscalingSpec:
    """How the models scale (the profile's autoscaling section)."""

    metric: Literal["requests", "cpu"] = "requests"  # requests: KEDA ScaledObject; cpu: HPA on CPU only
    install_keda: bool = False  # this environment installs the cluster's KEDA (with the monitoring stack)
    keda_namespace: str = "keda"
    # dev's schedule (timezone, start cron, end cron) for models that scale to zero outside it; None: none
    schedule: tuple[str, str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class RemoteWriteSpec:
    """The long-term store the Prometheus writes to (monitoring.remote_write); credentials by secret key only."""

    kind: Literal["thanos", "mimir"]
    url: str
    tenant: str | None = None
    auth: Literal["none", "basic", "bearer"] = "none"
    username: str | None = None
    credentials_secret: str | None = None  # Pulumi secret config key of the password or token


@dataclass(frozen=True, kw_only=True)
class ScrapedModel:
    """One model's replicas a monitoring stack scrapes (any environment on the stack's cluster)."""

    environment: str
    model: str
    runtime: str
    max_replicas: int
    # the drift monitor beside each replica (its own scrape target): the features it scores, 0 when they are the
    # reference sample's columns (unknown until it runs); None: no monitor
    drift_features: int | None = None


@dataclass(frozen=True, kw_only=True)
class MonitoringSpec:
    namespace: str
    retention_days: int
    storage_gib: int
    storage_class: str | None  # None = the cluster's default StorageClass
    receivers: tuple[ReceiverSpec, ...]
    smtp: SmtpSpec | None  # None: no relay set (the profile has no email notify, or a target that needs none)
    alerts_page: bool  # critical alerts go to paging receivers (false in dev)
    drift: bool  # monitoring.drift: models with a DriftSpec get the monitor and its alerts
    grafana_admin_password_secret: str  # Pulumi secret config key of the Grafana admin password
    runbook_url: str  # base URL of the runbooks page; alerts link <runbook_url>#<alert>
    # One monitoring stack per cluster: environments on the same cluster share the one installed by the highest
    # tier among them (planning.plan.monitoring_owner). The owner installs the monitoring namespace, its Secrets
    # and the release; every environment installs its own rules, ServiceMonitors and dashboards.
    owns_stack: bool  # this environment installs the cluster's monitoring stack
    stack_owner: str  # the environment that does (this one when owns_stack)
    # every environment whose alerts this environment's Alertmanager routes, in profile order: the owner's are
    # all environments on its cluster; a non-owner's just itself (what `render` writes for it)
    routed_environments: tuple[RoutedEnvironment, ...]
    # what the stack scrapes, for its series estimate (monitoring.series): every model of every environment on the
    # cluster, at its maximum replicas; the cluster's nodes (None: estimated from the replicas)
    scraped: tuple[ScrapedModel, ...] = ()
    cluster_nodes: int | None = None
    stack_retention_days: int | None = None  # the owner's retention, which the stack keeps (None: this one's)
    remote_write: RemoteWriteSpec | None = None
    # owners of the plan's models (profile order), whose receivers get their models' alerts; () without owners
    owners: tuple[OwnerSpec, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AccessSpec:
    """Who may call the exposed models, enforced where they are exposed (manifests.gate on Kubernetes)."""

    authentication: Literal["none", "api_key", "oidc"] = "none"
    allowed_cidrs: tuple[str, ...] = ()  # exposure internal: the only caller addresses; empty: any address
    oidc_issuer: str | None = None  # authentication oidc: the tokens' issuer (discovery and JWKS from it)
    oidc_audience: tuple[str, ...] = ()  # authentication oidc: accepted `aud` values (the first is the client ID)
    api_keys_secret: str | None = None  # authentication api_key: Pulumi secret config key of the keys, one a line


@dataclass(frozen=True, kw_only=True)
class EnvironmentPlan:
    """Everything needed to build one environment's objects for one target."""

    profile_name: str
    environment: str
    tier: Literal["dev", "staging", "prod"]
    target: str
    namespace: str
    high_availability: bool
    protect: bool  # protect=True on stateful resources (prod)
    exposure: Literal["private", "internal", "public"]
    authentication: Literal["none", "api_key", "oidc"]
    classification: str
    domain: str  # DNS suffix of ingress hosts
    tls_secret: str
    ingress_class: str | None
    ingress_namespace: str | None
    models: tuple[ModelSpec, ...]
    monitoring: MonitoringSpec
    kube_context: str | None = None  # onprem-k8s: the explicit kubeconfig context
    access: AccessSpec = AccessSpec()  # who may call the exposed models (exposure internal/public)
    autoscaling: AutoscalingSpec = AutoscalingSpec()

    def __post_init__(self) -> None:
        mon = self.monitoring
        own = [r for r in mon.routed_environments if r.name == self.environment]
        if mon.owns_stack != (mon.stack_owner == self.environment):
            raise ValueError(
                f"environment '{self.environment}': monitoring.owns_stack is {mon.owns_stack} "
                f"but monitoring.stack_owner is '{mon.stack_owner}'"
            )
        if len(own) != 1 or own[0].alerts_page != mon.alerts_page:
            raise ValueError(
                f"environment '{self.environment}': monitoring.routed_environments must hold it once, with "
                f"alerts_page {mon.alerts_page}; got {[(r.name, r.alerts_page) for r in mon.routed_environments]}"
            )
        if not mon.owns_stack and len(mon.routed_environments) != 1:
            raise ValueError(
                f"environment '{self.environment}' does not own the monitoring stack ('{mon.stack_owner}' does): "
                "its routed_environments are itself only"
            )
