"""MonitoringStack: kube-prometheus-stack as one Helm release plus mlinfra's rules, scrapes, dashboards, routing.

Order: the Helm release (creates the monitoring namespace and the CRDs), then the notification Secret in that
namespace and the custom resources that need the CRDs (pulumi-kubernetes issue 1712: a ServiceMonitor
registered before its CRD fails). Alertmanager mounts the Secret by name; the kubelet retries the mount
until the Secret exists, so creating it after the release is safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.k8s_objects import create_object
from mlinfra.conventions import MONITORING_RELEASE_NAME, TYPE_MONITORING_STACK, child_name, dashboard_uid
from mlinfra.monitoring.alertmanager import alertmanager_secret_keys, build_alertmanager_config
from mlinfra.monitoring.helm_values import CHART, CHART_REPO, CHART_VERSION, build_helm_values
from mlinfra.monitoring.objects import (
    build_alertmanager_secret,
    build_dashboard_configmap,
    build_prometheus_rule,
    build_service_monitor,
)
from mlinfra.planning.specs import EnvironmentPlan


@dataclass(frozen=True, kw_only=True)
class MonitoringStackArgs:
    plan: EnvironmentPlan
    # the serving Namespace resource's name output (rules, monitors and dashboards live next to the models)
    namespace: pulumi.Input[str] | None = None


def alert_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Which receiver (and which integrations) each severity reaches: the `alert_routes` stack output."""
    integrations = {
        r["name"]: sorted(k.removesuffix("_configs") for k in r if k.endswith("_configs")) for r in config["receivers"]
    }
    return [
        {"matchers": route.get("matchers", []), "receiver": route["receiver"],
         "integrations": integrations.get(route["receiver"], [])}
        for route in config["route"].get("routes", [])
    ]


class MonitoringStack(pulumi.ComponentResource):
    """The pinned chart, the Alertmanager notification Secret, PrometheusRule, ServiceMonitors, dashboards."""

    dashboards: dict[str, str]
    alert_routes: list[dict[str, Any]]
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

        release = k8s.helm.v3.Release(
            child_name(name, "release"),
            k8s.helm.v3.ReleaseArgs(
                name=MONITORING_RELEASE_NAME,
                chart=CHART,
                version=CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPO),
                namespace=plan.monitoring.namespace,
                create_namespace=True,
                values=build_helm_values(plan),
            ),
            # the release holds Prometheus, Alertmanager and Grafana volumes: protected in production
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=plan.protect)),
        )
        after_release = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release]))

        # Notification credentials: Pulumi secret config -> Kubernetes Secret, never plain text anywhere.
        config = pulumi.Config()
        secret_data = {key: config.require_secret(cfg) for key, cfg in alertmanager_secret_keys(plan).items()}
        secret = build_alertmanager_secret(plan, secret_data) if secret_data else None
        # roles name the children without the environment, so `mlinfra diff` pairs them across stacks
        objects = [("prometheus-rule", build_prometheus_rule(plan))]
        objects += [(f"service-monitor-{m.k8s_name}", build_service_monitor(plan, m)) for m in plan.models]
        objects += [(f"dashboard-{m.k8s_name}", build_dashboard_configmap(plan, m)) for m in plan.models]
        namespaces = {plan.namespace: args.namespace} if args.namespace is not None else None
        self.resources = {
            role: create_object(child_name(name, role), obj, after_release, namespaces=namespaces)
            for role, obj in objects
        }
        self.resources["release"] = release
        if secret is not None:
            self.resources["notify-secret"] = create_object(child_name(name, "notify-secret"), secret, after_release)

        self.dashboards = {  # Grafana path of each model's dashboard (the sidecar loads the ConfigMaps)
            m.name: f"/d/{dashboard_uid(plan.profile_name, plan.environment, m.name)}" for m in plan.models
        }
        self.alert_routes = alert_routes(build_alertmanager_config(plan))
        self.register_outputs({"dashboards": self.dashboards, "alert_routes": self.alert_routes})
