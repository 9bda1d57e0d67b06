"""Render one environment of a profile for a Kubernetes target (onprem-k8s, aws-eks) into files.

Layout (relative to the output directory):
    kubernetes/00-namespace.yaml              the models' Namespace and default-deny NetworkPolicy
    kubernetes/01-monitoring-namespace.yaml   the monitoring Namespace (the Helm release does not create it) and
                                              its NetworkPolicy (its own pods and the API server only)  *
    kubernetes/10-model-<model>.yaml          the model's serving objects, its ServiceMonitor and dashboard ConfigMap
    kubernetes/20-monitoring.yaml             PrometheusRule
    prometheus/rules.yaml                     the PrometheusRule's groups as a plain Prometheus rule file
    alertmanager/alertmanager.yaml            Alertmanager configuration
    grafana/<model>.json                      one dashboard per model (same text as in the ConfigMap)
    drift/<model>.yaml                        the drift monitor's config per model with one (monitoring.drift; the
                                              same text as in its ConfigMap; `mlinfra drift serve --config` reads it)
    helm/kube-prometheus-stack.values.yaml    *
    SECRETS.md                                the Secrets to create before applying (never written: no placeholder
                                              that `kubectl apply` would turn into a real password)
* only for the environment that owns its cluster's monitoring stack (planning.plan.monitoring_share: environments
on one cluster share one kube-prometheus-stack, installed by the highest tier among them). Its alertmanager.yaml
and Helm values route the alerts of every environment on the cluster. Another environment's render leaves the
starred files out and its alertmanager.yaml routes its own alerts only - exactly as the owner's routes them, so
it can be checked and run on its own (the e2e test does) - and render.json says who owns the stack.
The numeric prefixes put `kubectl apply -f kubernetes/` in dependency order - namespaces, then the Secrets in
them, then the rest - and keep model files from colliding with the shared ones. Applying by hand follows the
MonitoringStack's order: namespaces (00-01), the Secrets SECRETS.md lists (created from your values with the
kubectl commands it gives), then the chart with the helm/ values (it needs the Secrets, and brings the CRDs),
then the whole directory (ServiceMonitors and the PrometheusRule
need those CRDs); a non-owner's directory after the owner's. `pulumi up` does all of it in that order, with the
values from Pulumi secret config.
(render.json, the list of what was written and the notes, is added by rendering.output.)
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import ALERTMANAGER_SECRETS_DIR
from mlinfra.manifests.drift import config_text as drift_config_text
from mlinfra.manifests.gate import API_KEYS_FILE, build_api_keys_secret, gated
from mlinfra.manifests.serving import build_model_objects, build_namespace_objects
from mlinfra.monitoring.alertmanager import build_alertmanager_config
from mlinfra.monitoring.helm_values import CHART, build_helm_values
from mlinfra.monitoring.ownership import stack_ownership
from mlinfra.monitoring.objects import (
    build_dashboard_configmap,
    build_monitoring_namespace,
    build_monitoring_network_policy,
    build_monitoring_secrets,
    build_prometheus_rules,
    build_service_monitor,
    dashboard_json,
)
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.remote_write import build_remote_write_secret, secret_sources
from mlinfra.monitoring.series import plan_estimate
from mlinfra.monitoring.helm_values import volume_gib
from mlinfra.monitoring.timing import PRODUCTION, TIMINGS, AlertTiming
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile
from mlinfra.files.dump import to_yaml, to_yaml_documents
from mlinfra.files.rendered import RenderedFile, RenderedFiles
from mlinfra.runtimes.catalog import RUNTIMES

OPTION_TIMING = "timing"  # "production" (default) or "fast" (see monitoring/timing.py)
OPTION_SECRETS_DIR = "alertmanager_secrets_dir"  # where alertmanager.yaml expects credential files
MONITORING_NAMESPACE_FILE = "kubernetes/01-monitoring-namespace.yaml"
SECRETS_FILE = "SECRETS.md"
HELM_VALUES_FILE = f"helm/{CHART}.values.yaml"
OWNER_ONLY_FILES = (MONITORING_NAMESPACE_FILE, HELM_VALUES_FILE)


def timing_option(name: str | None) -> AlertTiming:
    if name is None:
        return PRODUCTION
    try:
        return TIMINGS[name]
    except KeyError:
        raise ValueError(f"unknown timing '{name}'; allowed: {', '.join(TIMINGS)}") from None


def render_plan(
    plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION, *, secrets_dir: str = ALERTMANAGER_SECRETS_DIR
) -> RenderedFiles:
    """The files of one planned environment, with render.json's note on who owns the monitoring stack."""
    owner = plan.monitoring.owns_stack
    files = [RenderedFile("kubernetes/00-namespace.yaml", to_yaml_documents(build_namespace_objects(plan)))]
    if owner:
        files.append(RenderedFile(MONITORING_NAMESPACE_FILE, to_yaml_documents(
            [build_monitoring_namespace(plan), build_monitoring_network_policy(plan)])))
    dashboards = {m.name: dashboard_json(plan, m) for m in plan.models}  # each in its ConfigMap and as a file
    for model in plan.models:
        objects = [
            *build_model_objects(plan, model),
            build_service_monitor(plan, model, timing),
            build_dashboard_configmap(plan, model, dashboards[model.name]),
        ]
        files.append(RenderedFile(f"kubernetes/10-model-{model.k8s_name}.yaml", to_yaml_documents(objects)))
    groups = build_rule_groups(plan, timing)  # the PrometheusRule's and rules.yaml's
    rules = build_prometheus_rules(plan, timing, groups)
    files.append(RenderedFile("kubernetes/20-monitoring.yaml", to_yaml_documents(rules)))
    files.append(RenderedFile("prometheus/rules.yaml", to_yaml({"groups": [g for r in rules for g in r["spec"]["groups"]]})))
    files.append(
        RenderedFile(
            "alertmanager/alertmanager.yaml", to_yaml(build_alertmanager_config(plan, timing, secrets_dir=secrets_dir))
        )
    )
    files += [RenderedFile(f"grafana/{m.k8s_name}.json", dashboards[m.name]) for m in plan.models]
    files += [RenderedFile(f"drift/{m.k8s_name}.yaml", drift_config_text(m, RUNTIMES[m.runtime]))
              for m in plan.models if m.drift is not None]
    if owner:
        files.append(RenderedFile(HELM_VALUES_FILE, to_yaml(build_helm_values(plan, timing))))
    secrets = secrets_to_create(plan)
    if secrets:
        files.append(RenderedFile(SECRETS_FILE, secrets_text(plan, secrets)))
    notes: dict[str, Any] = {"monitoring_stack": _ownership_note(plan), "monitoring_series": series_note(plan)}
    if secrets:
        notes["secrets_to_create"] = [
            {"namespace": s["metadata"]["namespace"], "name": s["metadata"]["name"], "keys": keys}
            for s, keys in secrets
        ]
    return RenderedFiles(files, notes=notes)


def secrets_to_create(plan: EnvironmentPlan) -> list[tuple[dict[str, Any], dict[str, str]]]:
    """The Secrets the environment's objects read, each with {Secret key: where its value comes from} - the
    Pulumi secret config key, or a literal (Grafana's user name). `pulumi up` creates them from secret config;
    render never writes them."""
    out: list[tuple[dict[str, Any], dict[str, str]]] = []
    if plan.monitoring.owns_stack:
        for secret in build_monitoring_secrets(plan):
            keys = {k: _source(v) for k, v in secret["stringData"].items()}
            out.append((secret, keys))
        remote_write = build_remote_write_secret(plan)
        if remote_write is not None:
            out.append((remote_write, secret_sources(plan)))
    if gated(plan) and plan.access.api_keys_secret:
        for model in plan.models:
            secret = build_api_keys_secret(plan, model, "")
            out.append((secret, {API_KEYS_FILE: f"config:{plan.access.api_keys_secret} (one key a line, as "
                                 '`"<key>" 1;` lines)'}))
    return out


def _source(value: str) -> str:
    key = value.removeprefix("<pulumi secret: ").removesuffix(">")
    return f"config:{key}" if key != value else f"literal:{value}"


def secrets_text(plan: EnvironmentPlan, secrets: list[tuple[dict[str, Any], dict[str, str]]]) -> str:
    """SECRETS.md: each Secret to create before `kubectl apply`, with the command that reads the values from files."""
    lines = [
        f"# Secrets of {plan.profile_name} / {plan.environment}",
        "",
        "`mlinfra render` writes no Secret: a placeholder applied by `kubectl apply` would become the real value",
        "(Grafana's admin password, say). `pulumi up` creates these from the stack's secret config; to apply this",
        "directory by hand, create them first, each value in a file (`config:KEY` names the Pulumi secret config key",
        "that holds it):",
        "",
    ]
    for secret, keys in secrets:
        meta = secret["metadata"]
        lines += [f"## {meta['namespace']}/{meta['name']}", ""]
        lines += [f"- `{k}`: {v.replace('config:', 'secret config key ').replace('literal:', 'the text ')}"
                  for k, v in keys.items()]
        args = " ".join(
            f"--from-literal={k}={v.removeprefix('literal:')}" if v.startswith("literal:") else f"--from-file={k}=./{k}"
            for k, v in keys.items()
        )
        lines += ["", "```bash", f"kubectl -n {meta['namespace']} create secret generic {meta['name']} {args}", "```", ""]
    return "\n".join(lines)


def series_note(plan: EnvironmentPlan) -> dict[str, Any]:
    """render.json's estimate of the active series of the environment's monitoring stack, what it is sized to,
    and where the series also go (monitoring.remote_write)."""
    note = plan_estimate(plan).as_dict()
    note["prometheus"]["volume_gib"] = volume_gib(plan)  # monitoring.storage_gib, or more when the series need it
    rw = plan.monitoring.remote_write
    note["remote_write"] = {"kind": rw.kind, "url": rw.url} if rw is not None else None
    return note


def _ownership_note(plan: EnvironmentPlan) -> dict[str, Any]:
    note = stack_ownership(plan)
    if not plan.monitoring.owns_stack:
        note["not_rendered"] = list(OWNER_ONLY_FILES)
        note["alertmanager"] = (
            "alertmanager/alertmanager.yaml routes this environment's alerts only, the way the Alertmanager of "
            f"'{plan.monitoring.stack_owner}' routes them; that environment's render holds the deployed configuration"
        )
    return note
