"""MonitoringStack: kube-prometheus-stack as one Helm release plus mlinfra's rules, scrapes, dashboards, routing.

One monitoring stack per cluster (planning.plan.monitoring_share): the environment that owns it installs
everything below; every other environment on the cluster installs only step 4 (its own PrometheusRule,
ServiceMonitors and dashboards) and its alerts are routed by the owner's Alertmanager.

Order, as dependencies Pulumi sees (the owner):
1. the monitoring Namespace (created here, not by Helm: the Secrets must be in it before the release);
2. the Secrets the release reads - Grafana's admin credentials (grafana.admin.existingSecret) and the
   Alertmanager notification credentials - from the Pulumi secrets in MonitoringStackArgs.secrets (the stack
   assembly reads them from secret config), never plain text;
3. the Helm release, depending on the Namespace and the Secrets. helm.v3.Release waits until every resource
   is ready unless skip_await: a Grafana pod whose admin Secret did not exist yet would not start, and the
   release would time out;
4. the custom resources (PrometheusRule, ServiceMonitors) and dashboard ConfigMaps, depending on the release:
   its CRDs must exist first (pulumi-kubernetes issue 1712: a ServiceMonitor registered before its CRD fails).
   A non-owner's cannot depend on a resource of another stack: the owner's stack must have been deployed first
   (the `monitoring_stack` output says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.k8s_objects import create_object
from mlinfra.conventions import MONITORING_RELEASE_NAME, TYPE_MONITORING_STACK, child_name, dashboard_uid
from mlinfra.monitoring.alertmanager import (
    alert_routes,
    alertmanager_secret_keys,
    build_alertmanager_config,
    monitoring_secret_keys,
)
from mlinfra.monitoring.helm_values import CHART, CHART_REPO, CHART_VERSION, build_helm_values
from mlinfra.monitoring.ownership import stack_ownership
from mlinfra.monitoring.remote_write import build_remote_write_secret, remote_write_secret_key
from mlinfra.monitoring.objects import (
    build_alertmanager_secret,
    build_dashboard_configmap,
    build_grafana_admin_secret,
    build_monitoring_namespace,
    build_monitoring_network_policy,
    build_prometheus_rules,
    build_service_monitor,
)
from mlinfra.planning.specs import EnvironmentPlan


# Helm waits for every object of the release to be ready: a cold kube-prometheus-stack install (images pulled,
# volumes bound, the admission webhook's certificate job) takes longer than the provider's default of 300 s.
RELEASE_TIMEOUT_SECONDS = 900


@dataclass(frozen=True, kw_only=True)
class MonitoringStackArgs:
    plan: EnvironmentPlan
    # the serving Namespace resource's name output (rules, monitors and dashboards live next to the models)
    namespace: pulumi.Input[str] | None = None
    # secret config key -> its value, a Pulumi secret (None: the stack has no value); the program reads them.
    # The owner of the cluster's stack needs monitoring_secret_keys(plan), the other environments none.
    secrets: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)


class MonitoringStack(pulumi.ComponentResource):
    """Monitoring Namespace, Grafana admin and notification Secrets, the pinned chart (when this environment owns
    the cluster's monitoring stack), then the environment's rules, monitors and dashboards."""

    dashboards: dict[str, str]
    alert_routes: list[dict[str, Any]]
    ownership: dict[str, Any]
    resources: dict[str, pulumi.CustomResource]

    def __init__(
        self,
        name: str,
        args: MonitoringStackArgs,
        *,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_MONITORING_STACK, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        plan = args.plan
        # roles name the children without the environment, so `mlinfra diff` pairs them across stacks
        res: dict[str, pulumi.CustomResource] = {}
        after_release = child
        if plan.monitoring.owns_stack:
            res.update(_install_stack(name, plan, args.secrets, child))
            after_release = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[res["release"]]))

        # 4. what needs the chart's CRDs (and the dashboards the chart's Grafana sidecar loads), after the release
        # the rules split into objects the API accepts (the first keeps its role, more are prometheus-rule-<n>)
        objects = [("prometheus-rule" if n == 1 else f"prometheus-rule-{n}", rule)
                   for n, rule in enumerate(build_prometheus_rules(plan), 1)]
        objects += [(f"service-monitor-{m.k8s_name}", build_service_monitor(plan, m)) for m in plan.models]
        objects += [(f"dashboard-{m.k8s_name}", build_dashboard_configmap(plan, m)) for m in plan.models]
        namespaces = {plan.namespace: args.namespace} if args.namespace is not None else None
        for role, obj in objects:
            res[role] = create_object(child_name(name, role), obj, after_release, namespaces=namespaces)
        self.resources = res

        self.dashboards = {  # Grafana path of each model's dashboard (the sidecar loads the ConfigMaps)
            m.name: f"/d/{dashboard_uid(plan.profile_name, plan.environment, m.name)}" for m in plan.models
        }
        self.alert_routes = alert_routes(build_alertmanager_config(plan))
        self.ownership = stack_ownership(plan)
        self.register_outputs(
            {"dashboards": self.dashboards, "alert_routes": self.alert_routes, "monitoring_stack": self.ownership}
        )


def _install_stack(
    name: str, plan: EnvironmentPlan, values: Mapping[str, pulumi.Input[str] | None], child: pulumi.ResourceOptions
) -> dict[str, pulumi.CustomResource]:
    """Steps 1-3 (the owner only): the monitoring Namespace, the Secrets the release reads, the release."""
    remote_write_key = remote_write_secret_key(plan)
    needed = [*monitoring_secret_keys(plan), *([remote_write_key] if remote_write_key else [])]
    missing = [key for key in needed if values.get(key) is None]
    if missing:  # before any resource: one error naming every key (the stack is the environment)
        stack = plan.environment
        raise pulumi.RunError(
            f"stack '{stack}' has no value for the secret config key(s) {', '.join(missing)} named in the profile's "
            f"monitoring section; set each once with `pulumi config set --secret -s {stack} KEY`"
        )
    res: dict[str, pulumi.CustomResource] = {}
    # 1. the namespace: protected in production by the same rule the guardrail checks (guardrails/stateful.py)
    res["namespace"] = create_object(
        child_name(name, "namespace"), build_monitoring_namespace(plan), child, protect=plan.protect
    )
    in_namespace = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[res["namespace"]]))
    # who may connect to it: its own pods and the API server's webhook calls, not the whole cluster
    res["network-policy"] = create_object(child_name(name, "network-policy"), build_monitoring_network_policy(plan),
                                          in_namespace)

    # 2. the Secrets the release reads: Pulumi secrets -> Kubernetes Secret, never plain text anywhere
    notify_keys = alertmanager_secret_keys(plan)
    grafana_key = plan.monitoring.grafana_admin_password_secret
    grafana = build_grafana_admin_secret(plan, values[grafana_key])
    res["grafana-admin-secret"] = create_object(child_name(name, "grafana-admin-secret"), grafana, in_namespace)
    if notify_keys:
        notify = build_alertmanager_secret(plan, {key: values[cfg] for key, cfg in notify_keys.items()})
        res["notify-secret"] = create_object(child_name(name, "notify-secret"), notify, in_namespace)
    if remote_write_key:  # monitoring.remote_write's credentials, which the Prometheus reads by Secret key
        remote_write = build_remote_write_secret(plan, values[remote_write_key])
        res["remote-write-secret"] = create_object(child_name(name, "remote-write-secret"), remote_write, in_namespace)

    # 3. the release, after its namespace and Secrets; it holds the Prometheus, Alertmanager and Grafana
    # volumes: protected in production
    res["release"] = k8s.helm.v3.Release(
        child_name(name, "release"),
        k8s.helm.v3.ReleaseArgs(
            name=MONITORING_RELEASE_NAME,
            chart=CHART,
            version=CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
            namespace=plan.monitoring.namespace,
            create_namespace=False,
            values=build_helm_values(plan),
            timeout=RELEASE_TIMEOUT_SECONDS,
            atomic=True,  # a failed install is purged, a failed upgrade rolled back: nothing half-done is left
            cleanup_on_fail=True,
        ),
        opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(protect=plan.protect, depends_on=list(res.values()))
        ),
    )
    return res
