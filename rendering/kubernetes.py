"""Render one environment of a profile for a Kubernetes target (onprem-k8s, aws-eks) into files.

Layout (relative to the output directory):
    kubernetes/00-namespace.yaml              the models' Namespace and default-deny NetworkPolicy
    kubernetes/01-monitoring-namespace.yaml   the monitoring Namespace (the Helm release does not create it)
    kubernetes/05-monitoring-secrets.yaml     Grafana admin and Alertmanager notification Secrets (placeholders)
    kubernetes/10-model-<model>.yaml          the model's serving objects, its ServiceMonitor and dashboard ConfigMap
    kubernetes/20-monitoring.yaml             PrometheusRule
    prometheus/rules.yaml                     the PrometheusRule's groups as a plain Prometheus rule file
    alertmanager/alertmanager.yaml            Alertmanager configuration
    grafana/<model>.json                      one dashboard per model (same text as in the ConfigMap)
    helm/kube-prometheus-stack.values.yaml
The numeric prefixes put `kubectl apply -f kubernetes/` in dependency order - namespaces, then the Secrets in
them, then the rest - and keep model files from colliding with the shared ones. Applying by hand follows the
MonitoringStack's order: namespaces and Secrets (00-05; replace every `<pulumi secret: KEY>` placeholder with
the real value first, or Grafana's admin password is that text), then the chart with the helm/ values (it
needs the Secrets, and brings the CRDs), then the whole directory (ServiceMonitors and the PrometheusRule
need those CRDs). `pulumi up` does all of it in that order, with the values from Pulumi secret config.
(render.json, the list of what was written, is added by rendering.output.)
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import ALERTMANAGER_SECRETS_DIR
from mlinfra.manifests.serving import build_model_objects, build_namespace_objects
from mlinfra.monitoring.alertmanager import build_alertmanager_config
from mlinfra.monitoring.helm_values import CHART, build_helm_values
from mlinfra.monitoring.objects import (
    build_dashboard_configmap,
    build_monitoring_namespace,
    build_monitoring_secrets,
    build_prometheus_rule,
    build_service_monitor,
    dashboard_json,
)
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.timing import PRODUCTION, TIMINGS, AlertTiming
from mlinfra.planning.plan import plan_environment
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile
from mlinfra.rendering.dump import to_yaml, to_yaml_documents
from mlinfra.targets.base import RenderedFile

OPTION_TIMING = "timing"  # "production" (default) or "fast" (see monitoring/timing.py)
OPTION_SECRETS_DIR = "alertmanager_secrets_dir"  # where alertmanager.yaml expects credential files


def render_kubernetes(
    profile: Profile, env: str, target: str, options: dict[str, Any] | None = None
) -> list[RenderedFile]:
    """Every file of `env` on a Kubernetes `target`, in a fixed order (the writer adds render.json)."""
    options = options or {}
    timing = timing_option(options.get(OPTION_TIMING))
    secrets_dir = options.get(OPTION_SECRETS_DIR) or ALERTMANAGER_SECRETS_DIR
    return render_plan(plan_environment(profile, env, target), timing, secrets_dir=secrets_dir)


def timing_option(name: str | None) -> AlertTiming:
    if name is None:
        return PRODUCTION
    try:
        return TIMINGS[name]
    except KeyError:
        raise ValueError(f"unknown timing '{name}'; allowed: {', '.join(TIMINGS)}") from None


def render_plan(
    plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION, *, secrets_dir: str = ALERTMANAGER_SECRETS_DIR
) -> list[RenderedFile]:
    """The files of one planned environment."""
    files = [
        RenderedFile("kubernetes/00-namespace.yaml", to_yaml_documents(build_namespace_objects(plan))),
        RenderedFile("kubernetes/01-monitoring-namespace.yaml", to_yaml_documents([build_monitoring_namespace(plan)])),
        RenderedFile("kubernetes/05-monitoring-secrets.yaml", to_yaml_documents(build_monitoring_secrets(plan))),
    ]
    for model in plan.models:
        objects = [
            *build_model_objects(plan, model),
            build_service_monitor(plan, model, timing),
            build_dashboard_configmap(plan, model),
        ]
        files.append(RenderedFile(f"kubernetes/10-model-{model.k8s_name}.yaml", to_yaml_documents(objects)))
    files.append(RenderedFile("kubernetes/20-monitoring.yaml", to_yaml_documents([build_prometheus_rule(plan, timing)])))
    files.append(RenderedFile("prometheus/rules.yaml", to_yaml({"groups": build_rule_groups(plan, timing)})))
    files.append(
        RenderedFile(
            "alertmanager/alertmanager.yaml", to_yaml(build_alertmanager_config(plan, timing, secrets_dir=secrets_dir))
        )
    )
    files += [RenderedFile(f"grafana/{m.k8s_name}.json", dashboard_json(plan, m)) for m in plan.models]
    files.append(RenderedFile(f"helm/{CHART}.values.yaml", to_yaml(build_helm_values(plan, timing))))
    return files
