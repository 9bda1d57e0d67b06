"""The one place that owns names: type tokens, child and Kubernetes names, labels, metric and alert names.

Pure module (no Pulumi import). Everything that names something - components, manifests, rules,
dashboards, renders - takes its names from here so that a rename happens in exactly one place.
"""

from __future__ import annotations

import hashlib
import re

PACKAGE = "mlinfra"

# --- Pulumi type tokens and child names ---------------------------------------------------------------


def type_token(module: str, cls: str) -> str:
    """Pulumi component type token `<pkg>:<module>:<Class>`."""
    return f"{PACKAGE}:{module}:{cls}"


def child_name(name: str, role: str) -> str:
    """Name of a component's child resource: unique per component instance by construction."""
    return f"{name}-{role}"


# --- Component type tokens (components/, preview and guardrails find resources by these) ----------------

TYPE_ENVIRONMENT = type_token("environment", "Environment")  # parent of one environment; inputs = guardrail context
TYPE_MODEL_SERVER = type_token("serving", "KubernetesModelServer")
TYPE_MONITORING_STACK = type_token("monitoring", "MonitoringStack")
TYPE_KEDA = type_token("autoscaling", "KedaOperator")  # the cluster's KEDA (autoscaling on requests)
MONITORING_RELEASE_NAME = "kube-prometheus-stack"  # Helm release name (prefix of the chart's object names)
PROMETHEUS_PORT = 9090  # the chart's Prometheus Service port (prometheus.service.port)
# aws-eks: the cluster the Kubernetes components above deploy onto (components/aws_eks/)
TYPE_EKS_NETWORK = type_token("eks", "EksNetwork")
TYPE_EKS_CLUSTER = type_token("eks", "EksCluster")
TYPE_EKS_NODE_GROUPS = type_token("eks", "EksNodeGroups")
TYPE_EKS_ADDONS = type_token("eks", "EksAddons")
TYPE_SERVICE_ACCOUNT_ROLE = type_token("eks", "ServiceAccountRole")  # IRSA: an IAM role for one ServiceAccount
# the AWS pieces every AWS target shares (components/aws/)
TYPE_ENCRYPTION_KEY = type_token("aws", "EncryptionKey")  # the stack's KMS key, its policy and alias
TYPE_MODEL_STORE = type_token("aws", "ModelStore")  # S3 bucket for artifacts, ECR repository for images
TYPE_ALERT_TOPICS = type_token("aws", "AlertTopics")  # SNS topics per severity route, their subscriptions
# aws-sagemaker (components/sagemaker.py, components/cloudwatch.py)
TYPE_SAGEMAKER_ENDPOINT = type_token("sagemaker", "SageMakerEndpoint")
TYPE_CLOUDWATCH_MONITORING = type_token("sagemaker", "CloudWatchMonitoring")
TYPE_DATA_QUALITY_MONITOR = type_token("sagemaker", "DataQualityMonitor")  # Model Monitor schedule, its alert
TYPE_SAGEMAKER_EDGE = type_token("sagemaker", "SageMakerEdge")  # API Gateway and Lambda proxy in front of the endpoints
TYPE_SAGEMAKER_NETWORK = type_token("sagemaker", "SageMakerNetwork")  # the VPC of an isolated profile's endpoints


# Former type tokens, {current: (earlier, ...)}: a renamed component keeps its old token here and the program
# aliases it (components/aliases.py), so `pulumi up` moves the deployed component and its whole subtree instead of
# deleting and recreating them. tests/components/test_urns.py fails when a URN changes without an alias.
FORMER_TYPE_TOKENS: dict[str, tuple[str, ...]] = {}

# --- Kubernetes names -----------------------------------------------------------------------------------

K8S_LABEL_MAX = 63
RFC1123_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


def k8s_name(*parts: str, max_len: int = K8S_LABEL_MAX) -> str:
    """Join parts into an RFC 1123 label; overlong names keep a stable hash suffix so they stay unique."""
    raw = "-".join(p for p in parts if p)
    name = re.sub(r"[^a-z0-9-]+", "-", raw.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if len(name) <= max_len:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:8]
    return f"{name[: max_len - 9].rstrip('-')}-{digest}"


def namespace_name(profile_name: str, environment: str) -> str:
    """Namespace that holds one profile's models in one environment."""
    return k8s_name(profile_name, environment)


def monitoring_namespace() -> str:
    """Namespace of the kube-prometheus-stack release."""
    return "monitoring"


# --- Standard labels -------------------------------------------------------------------------------------

LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_ENVIRONMENT = "mlinfra.io/environment"
LABEL_MODEL = "mlinfra.io/model"


def standard_labels(*, profile: str, environment: str, component: str, model: str | None = None) -> dict[str, str]:
    """`app.kubernetes.io/*` labels plus mlinfra's own, identical wherever an object is built."""
    labels = {
        LABEL_NAME: model or component,
        LABEL_INSTANCE: k8s_name(profile, environment, model or component),
        LABEL_COMPONENT: component,
        LABEL_PART_OF: profile,
        LABEL_MANAGED_BY: PACKAGE,
        LABEL_ENVIRONMENT: environment,
    }
    if model:
        labels[LABEL_MODEL] = model
    return labels


def selector_labels(*, profile: str, environment: str, model: str) -> dict[str, str]:
    """The immutable subset of labels used in Deployment/Service/PDB selectors."""
    return {LABEL_INSTANCE: k8s_name(profile, environment, model), LABEL_MODEL: model}


# --- Metric, recording-rule and alert names --------------------------------------------------------------
# Runtime metrics (MLServer, Triton, vLLM) are normalised by recording rules into this one schema, so alerts
# and dashboards are runtime-independent. Every normalised series carries the labels `model` and `environment`.

RECORD_PREFIX = "mlinfra:model"


def keda_hpa_name(scaled_object: str) -> str:
    """The HorizontalPodAutoscaler KEDA creates for a ScaledObject (its default: keda-hpa-<ScaledObject name>)."""
    return f"keda-hpa-{scaled_object}"


# requests waiting in the LLM runtimes' queues (runtimes.catalog.Runtime.waiting_metric), summed per model
RECORD_REQUESTS_WAITING = f"{RECORD_PREFIX}_requests_waiting:sum"


def recorded(metric: str, window: str) -> str:
    """Name of a normalised recording rule, e.g. `mlinfra:model_error_ratio:rate5m`."""
    return f"{RECORD_PREFIX}_{metric}:rate{window}"


ALERT_LATENCY_HIGH = "MLModelLatencyHigh"  # aws-sagemaker's p95 alarm; the Kubernetes rules burn a latency budget
ALERT_LATENCY_FAST_BURN = "MLModelLatencyBudgetFastBurn"
ALERT_LATENCY_SLOW_BURN = "MLModelLatencyBudgetSlowBurn"
ALERT_MODEL_DOWN = "MLModelDown"
ALERT_ERROR_BUDGET_FAST_BURN = "MLModelErrorBudgetFastBurn"
ALERT_ERROR_BUDGET_SLOW_BURN = "MLModelErrorBudgetSlowBurn"
ALERT_NO_TRAFFIC = "MLModelNoTraffic"
ALERT_SATURATED = "MLModelReplicasAtMax"
ALERT_CRASH_LOOPING = "MLModelPodCrashLooping"
ALERT_NOT_READY = "MLModelPodsNotReady"
ALERT_DRIFT_HIGH = "MLModelDriftHigh"
ALERT_DRIFT_SEVERE = "MLModelDriftSevere"  # the drift score above models[].drift.page_psi (critical)
ALERT_DRIFT_STALE = "MLModelDriftMonitorStale"  # the drift monitor stopped computing: its alerts cannot fire

SEVERITY_PAGE = "critical"
SEVERITY_TICKET = "warning"

# The drift monitor's series (mlinfra drift serve, beside the model server): per model and feature the 0..1 score
# (feature "prediction" for the predictions), the rows in its window, when it last computed, samples it dropped.
DRIFT_SCORE_METRIC = "mlinfra_model_drift_score"
DRIFT_PSI_METRIC = "mlinfra_model_drift_psi"
DRIFT_KS_METRIC = "mlinfra_model_drift_ks"  # numeric features and a numeric prediction
DRIFT_WINDOW_SAMPLES_METRIC = "mlinfra_model_drift_window_samples"
DRIFT_LAST_COMPUTED_METRIC = "mlinfra_model_drift_last_computed_timestamp_seconds"
DRIFT_SAMPLED_ROWS_METRIC = "mlinfra_model_drift_sampled_rows_total"
DRIFT_DROPPED_METRIC = "mlinfra_model_drift_dropped_samples_total"
DRIFT_DECODE_ERRORS_METRIC = "mlinfra_model_drift_decode_errors_total"

# Config keys (Pulumi stack config, namespace `mlinfra`)
CONFIG_PROFILE_KEY = "profile"
CONFIG_TARGET_KEY = "target"  # optional: deploy this target instead of the decided one
CONFIG_KUBE_CONTEXT_KEY = "kubeContext"  # optional: kubeconfig context of this stack's environment only (the profile sets the others)

# --- Ports (named container/Service ports; ServiceMonitors and NetworkPolicies refer to these names) -----

PORT_HTTP = "http"
PORT_GRPC = "grpc"
PORT_METRICS = "metrics"

# --- Alertmanager secrets (mounted files; configs reference paths, never values) -------------------------

ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets"  # the operator mounts alertmanagerSpec.secrets here

# --- Model serving objects (manifests; ServiceMonitors, dashboards and components refer to these) ---------

COMPONENT_MODEL_SERVER = "model-server"  # app.kubernetes.io/component of every per-model serving object
COMPONENT_SERVING = "serving"  # component of the shared per-environment objects (Namespace, default deny)
CONTAINER_SERVER = "server"  # the serving container; dashboards filter container_* metrics on it
RESOURCE_GPU = "nvidia.com/gpu"  # extended resource and taint key of NVIDIA GPU nodes
LABEL_GPU_PRODUCT = "nvidia.com/gpu.product"  # node label set by NVIDIA GPU feature discovery
DEFAULT_DENY_POLICY = "default-deny"  # NetworkPolicy name denying everything not explicitly allowed
CONTAINER_DRIFT = "drift"  # the drift monitor beside the model server (manifests/drift.py)
PORT_DRIFT_PROXY = "drift-proxy"  # its V2 proxy: the Service's (or the gate's) way to the model when drift is on
PORT_DRIFT_METRICS = "drift-metrics"  # its /metrics, /healthz, /readyz; a second ServiceMonitor endpoint
# The drift monitor's image: mlinfra itself with `mlinfra[drift]`, entry point `mlinfra drift serve` (Dockerfile).
# mlinfra publishes no image: build and push it, and name it in monitoring.drift_image.
DRIFT_IMAGE = "ghcr.io/mlinfra/mlinfra:0.1.0"


def artifact_secret_name(model_k8s_name: str) -> str:
    """Optional Secret of a model's artifact credentials (S3 shared files, registry config.json, netrc)."""
    return k8s_name(model_k8s_name, "artifact")


# --- Monitoring objects (alert routing, notification secrets, dashboards, runbooks) ------------------------

COMPONENT_MONITORING = "monitoring"  # app.kubernetes.io/component of ServiceMonitors, rules, dashboards
ALERTMANAGER_SECRET_NAME = "mlinfra-alertmanager-notify"  # one Secret, one key per Pulumi secret config key
RECEIVER_PAGE = "mlinfra-page"  # Alertmanager receivers: paging (critical), tickets (warning), nothing
RECEIVER_TICKET = "mlinfra-ticket"
RECEIVER_NULL = "null"


def owner_receiver(owner: str, route: str) -> str:
    """Alertmanager receiver (and SNS topic key) of a model owner's route `page` or `ticket`: `<owner>-page`."""
    return f"{owner}-{route}"


GRAFANA_DASHBOARD_LABEL = "grafana_dashboard"  # the chart's Grafana sidecar loads ConfigMaps labelled so
GRAFANA_DASHBOARD_LABEL_VALUE = "1"
RUNBOOK_URL = "https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md"  # alerts link <this>#<alert>


def runbook_url(alert: str, base: str = RUNBOOK_URL) -> str:
    """Where an alert's runbook is: the heading named after the alert on the runbooks page `base`
    (the profile's monitoring.runbook_url; default this repository's docs/runbooks.md)."""
    return f"{base}#{alert.lower()}"


def dashboard_uid(profile: str, environment: str, model: str) -> str:
    """Grafana dashboard uid (at most 40 characters), stable across renders."""
    return k8s_name("mlinfra", profile, environment, model, max_len=40)


def secret_file(secret_key: str, secrets_dir: str = ALERTMANAGER_SECRETS_DIR) -> str:
    """Path of a notification secret inside the Alertmanager pod (the operator mounts the Secret there)."""
    return f"{secrets_dir}/{ALERTMANAGER_SECRET_NAME}/{secret_key}"


# --- Monitoring namespace and Grafana admin credentials (MonitoringStack creates both before the release) --

GRAFANA_ADMIN_SECRET_NAME = "mlinfra-grafana-admin"  # grafana.admin.existingSecret of the chart values
GRAFANA_ADMIN_USER = "admin"
GRAFANA_ADMIN_USER_KEY = "admin-user"  # keys of that Secret (the chart's defaults, set explicitly)
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"
DEFAULT_GRAFANA_ADMIN_PASSWORD_SECRET = "grafanaAdminPassword"  # default Pulumi secret config key of its value
