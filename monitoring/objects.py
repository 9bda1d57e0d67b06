"""Kubernetes objects of the monitoring stack for one environment: its namespace and Secrets, rules, scrape
config, dashboards.

Apply order (the MonitoringStack component's, and render's file order): the monitoring Namespace, then the
Secrets in it (Grafana admin, Alertmanager notification), then the Helm release, then the custom resources.
The namespace, the Secrets and the release belong to the environment that owns its cluster's monitoring stack
(monitoring.owns_stack); the others on that cluster add only their custom resources and dashboards.
The chart's Prometheus selects every PrometheusRule and ServiceMonitor in every namespace (helm_values sets the
*SelectorNilUsesHelmValues flags false), so these live next to the models, in the plan's namespace. They are
custom resources: the MonitoringStack component must make them depend on the Helm release (its CRDs).
"""

from __future__ import annotations

import json

from typing import Any

from mlinfra.conventions import (
    ALERTMANAGER_SECRET_NAME,
    COMPONENT_MONITORING,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_SECRET_NAME,
    GRAFANA_ADMIN_USER,
    GRAFANA_ADMIN_USER_KEY,
    GRAFANA_DASHBOARD_LABEL,
    GRAFANA_DASHBOARD_LABEL_VALUE,
    LABEL_ENVIRONMENT,
    LABEL_MODEL,
    PORT_DRIFT_METRICS,
    PORT_METRICS,
    k8s_name,
    selector_labels,
    standard_labels,
)
from mlinfra.monitoring.alertmanager import alertmanager_secret_keys
from mlinfra.monitoring.dashboards import build_dashboard
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming, format_duration
from mlinfra.conventions import PROMETHEUS_PORT
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.files.dump import to_json
from mlinfra.runtimes.catalog import RUNTIMES

MONITORING_API = "monitoring.coreos.com/v1"
PLACEHOLDER = "<pulumi secret: {key}>"  # what a rendered Secret holds instead of a value

# Pod Security for the monitoring namespace. The chart's node-exporter DaemonSet needs the node: hostNetwork,
# hostPID and hostPath mounts of /proc, /sys and / (that is what it measures). Both `baseline` and `restricted`
# forbid those, so enforcing either would reject its pods and the release would never become ready; the
# namespace therefore enforces `privileged`. Audit stays at `baseline`, so the audit log names every pod that
# needs more than baseline (node-exporter only, unless something else moved in). Model serving namespaces
# enforce `restricted` (manifests/serving.py).
MONITORING_PSS = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/audit": "baseline",
    "pod-security.kubernetes.io/audit-version": "latest",
}


def scrape_labels(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, str]:
    """The target labels every scraped series of a model carries (ServiceMonitor relabelings + Prometheus'
    own `namespace`); a static scrape config (the e2e test) must set exactly these."""
    return {"namespace": plan.namespace, "model": model.name, "environment": plan.environment}


def drift_scrape_labels(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, str]:
    """The target labels of the drift monitor's endpoint: the model's, and the `endpoint` label the operator sets
    from the port name (MLModelDown tells the model server's target from the monitor's by it)."""
    return {**scrape_labels(plan, model), "endpoint": PORT_DRIFT_METRICS}


def _meta_label(label: str) -> str:
    """Prometheus' name of a Service label in service discovery: mlinfra.io/model -> ..._mlinfra_io_model."""
    return "__meta_kubernetes_service_label_" + "".join(c if c.isalnum() else "_" for c in label)


def _labels(plan: EnvironmentPlan, model: ModelSpec | None = None) -> dict[str, str]:
    return standard_labels(
        profile=plan.profile_name,
        environment=plan.environment,
        component=COMPONENT_MONITORING,
        model=model.name if model else None,
    )


def build_prometheus_rule(
    plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION, groups: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """PrometheusRule holding exactly the groups of prometheus/rules.yaml (`groups`: build_rule_groups' result
    when the caller has it already)."""
    if groups is None:
        groups = build_rule_groups(plan, timing)
    return {
        "apiVersion": MONITORING_API,
        "kind": "PrometheusRule",
        "metadata": {"name": k8s_name(plan.namespace, "rules"), "namespace": plan.namespace, "labels": _labels(plan)},
        "spec": {"groups": groups},
    }


# kubectl's client-side apply keeps the whole object in an annotation, whose total the API server caps at 256 KiB;
# etcd refuses requests over 1.5 MiB. Rule objects are split well below both (one PrometheusRule grows about 5 KB
# per model: ~50 models reached the first limit).
MAX_OBJECT_BYTES = 256 * 1024
RULE_OBJECT_BUDGET = 192 * 1024
_GROUPS_BUDGET = RULE_OBJECT_BUDGET - 4096  # what the object's metadata and wrapping leave for its groups


def object_bytes(obj: dict[str, Any]) -> int:
    """The object's size as the API server receives it (JSON)."""
    return len(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8"))


def build_prometheus_rules(
    plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION, groups: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The groups of prometheus/rules.yaml as PrometheusRule objects of at most RULE_OBJECT_BUDGET bytes each: the
    first is build_prometheus_rule's (same name), more are named <namespace>-rules-<n>. A group too big for one
    object is cut into consecutive parts <group>.<n> (recording rules keep their order; a record read in a later
    part is at most one evaluation interval older)."""
    if groups is None:
        groups = build_rule_groups(plan, timing)
    parts: list[list[dict[str, Any]]] = [[]]
    for group in _fitting_groups(groups):
        size = object_bytes(group)
        if parts[-1] and sum(object_bytes(g) + 1 for g in parts[-1]) + size > _GROUPS_BUDGET:
            parts.append([])
        parts[-1].append(group)
    rules = []
    for n, part in enumerate(parts, 1):
        rule = build_prometheus_rule(plan, timing, part)
        if n > 1:
            rule["metadata"]["name"] = k8s_name(plan.namespace, "rules", str(n))
        rules.append(rule)
    return rules


def _fitting_groups(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        if object_bytes(group) <= _GROUPS_BUDGET:
            out.append(group)
            continue
        head = {k: v for k, v in group.items() if k != "rules"}
        chunk: list[dict[str, Any]] = []
        pieces: list[list[dict[str, Any]]] = []
        for rule in group["rules"]:
            if chunk and object_bytes({**head, "rules": [*chunk, rule]}) > _GROUPS_BUDGET:
                pieces.append(chunk)
                chunk = []
            chunk.append(rule)
        pieces.append(chunk)
        out += [{**head, "name": f"{group['name']}.{i}", "rules": piece} for i, piece in enumerate(pieces, 1)]
    return out


def build_service_monitor(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming = PRODUCTION) -> dict[str, Any]:
    """Scrape the model's Service on its `metrics` port (and its drift monitor's `drift-metrics` port); label every
    series with model and environment."""
    runtime = RUNTIMES[model.runtime]
    relabel = [
        {"action": "replace", "sourceLabels": [_meta_label(LABEL_MODEL)], "targetLabel": "model"},
        {"action": "replace", "sourceLabels": [_meta_label(LABEL_ENVIRONMENT)], "targetLabel": "environment"},
    ]
    interval = format_duration(timing.scrape_interval)
    endpoints = [
        {"port": PORT_METRICS, "path": runtime.metrics_path, "scheme": "http", "interval": interval,
         "relabelings": relabel},
    ]
    if model.drift is not None:
        # the drift monitor's series name their model themselves (the same name): honorLabels keeps that `model`
        # rather than renaming it exported_model; namespace and environment come from the target as above
        endpoints.append({"port": PORT_DRIFT_METRICS, "path": "/metrics", "scheme": "http", "interval": interval,
                          "honorLabels": True, "relabelings": relabel})
    return {
        "apiVersion": MONITORING_API,
        "kind": "ServiceMonitor",
        "metadata": {"name": model.k8s_name, "namespace": plan.namespace, "labels": _labels(plan, model)},
        "spec": {
            "selector": {
                "matchLabels": selector_labels(profile=plan.profile_name, environment=plan.environment, model=model.name)
            },
            "namespaceSelector": {"matchNames": [plan.namespace]},
            "endpoints": endpoints,
        },
    }


def build_dashboard_configmap(plan: EnvironmentPlan, model: ModelSpec, dashboard: str | None = None) -> dict[str, Any]:
    """The model's dashboard as a ConfigMap the chart's Grafana sidecar picks up (label grafana_dashboard=1);
    `dashboard`: dashboard_json's text when the caller has it already (render writes it as a file too)."""
    if dashboard is None:
        dashboard = dashboard_json(plan, model)
    labels = {**_labels(plan, model), GRAFANA_DASHBOARD_LABEL: GRAFANA_DASHBOARD_LABEL_VALUE}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": k8s_name(model.k8s_name, "dashboard"), "namespace": plan.namespace, "labels": labels},
        "data": {f"{model.k8s_name}.json": dashboard},
    }


def dashboard_json(plan: EnvironmentPlan, model: ModelSpec) -> str:
    """The dashboard as the exact text of grafana/<model>.json and of the ConfigMap."""
    return to_json(build_dashboard(plan, model))


def build_monitoring_namespace(plan: EnvironmentPlan) -> dict[str, Any]:
    """The Namespace of the kube-prometheus-stack release (the MonitoringStack creates it, not Helm)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": plan.monitoring.namespace, "labels": {**_labels(plan), **MONITORING_PSS}},
    }


OPERATOR_WEBHOOK_PORT = 10250  # the chart's prometheusOperator.tls.internalPort: the API server calls its webhooks


def build_monitoring_network_policy(plan: EnvironmentPlan) -> dict[str, Any]:
    """Who may connect to the monitoring namespace: its own pods (Prometheus, Alertmanager, Grafana, the
    operator, kube-state-metrics reach each other) and the API server to the operator's admission webhooks -
    not every pod of the cluster (Alertmanager's and Prometheus' APIs silence alerts and read every metric).
    Ingress only: Prometheus scrapes every namespace, Alertmanager reaches the receivers."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "monitoring-ingress", "namespace": plan.monitoring.namespace, "labels": _labels(plan)},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {}}]},
                {"ports": [{"protocol": "TCP", "port": OPERATOR_WEBHOOK_PORT}]},
                *_keda_ingress(plan),
            ],
        },
    }


def _keda_ingress(plan: EnvironmentPlan) -> list[dict[str, Any]]:
    """KEDA (autoscaling.metric requests) asks Prometheus for the models' request rates: its namespace may reach
    Prometheus' port (the only one listening there on it)."""
    if plan.autoscaling.metric != "requests":
        return []
    keda = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": plan.autoscaling.keda_namespace}}}
    return [{"from": [keda], "ports": [{"protocol": "TCP", "port": PROMETHEUS_PORT}]}]


def build_grafana_admin_secret(plan: EnvironmentPlan, password: Any = None) -> dict[str, Any]:
    """The Secret named in the chart's grafana.admin.existingSecret: user `admin` and the password.

    `password` is the value of the Pulumi secret config key monitoring.grafana_admin_password_secret (the
    component passes the secret Output); without it the placeholder `<pulumi secret: KEY>` - what render writes.
    """
    if password is None:
        password = PLACEHOLDER.format(key=plan.monitoring.grafana_admin_password_secret)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": GRAFANA_ADMIN_SECRET_NAME, "namespace": plan.monitoring.namespace, "labels": _labels(plan)},
        "stringData": {GRAFANA_ADMIN_USER_KEY: GRAFANA_ADMIN_USER, GRAFANA_ADMIN_PASSWORD_KEY: password},
    }


def build_monitoring_secrets(plan: EnvironmentPlan) -> list[dict[str, Any]]:
    """The Secrets the release reads (placeholder values): Grafana admin, and the notification Secret if any."""
    notify = build_alertmanager_secret(plan)
    return [build_grafana_admin_secret(plan), *([notify] if notify is not None else [])]


def build_alertmanager_secret(plan: EnvironmentPlan, string_data: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The notification Secret mounted into Alertmanager; None when no receiver needs a credential.

    `string_data` maps each key of alertmanager_secret_keys(plan) to its value (the component passes Pulumi
    secret Outputs); without it every value is the placeholder `<pulumi secret: KEY>` - what render writes.
    """
    keys = alertmanager_secret_keys(plan)
    if not keys:
        return None
    if string_data is None:
        string_data = {key: PLACEHOLDER.format(key=config_key) for key, config_key in keys.items()}
    elif set(string_data) != set(keys):
        raise ValueError(f"secret values for {sorted(string_data)}, expected exactly {sorted(keys)}")
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": ALERTMANAGER_SECRET_NAME,
            "namespace": plan.monitoring.namespace,
            "labels": _labels(plan),
        },
        "stringData": dict(string_data),
    }


def build_monitoring_objects(plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION) -> list[dict[str, Any]]:
    """Every monitoring object the environment deploys, in apply order: namespace and Secrets (the owner of the
    cluster's monitoring stack only), then what needs the CRDs (PrometheusRule, per model ServiceMonitor) and
    the dashboards."""
    objects = ([build_monitoring_namespace(plan), build_monitoring_network_policy(plan), *build_monitoring_secrets(plan)]
               if plan.monitoring.owns_stack else [])
    objects += build_prometheus_rules(plan, timing)
    for model in plan.models:
        objects.append(build_service_monitor(plan, model, timing))
        objects.append(build_dashboard_configmap(plan, model))
    return objects
