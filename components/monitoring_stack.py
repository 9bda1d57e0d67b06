"""MonitoringStack: kube-prometheus-stack as one Helm release plus mlinfra's rules, scrapes, dashboards, routing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.k8s_objects import create_object, create_objects
from mlinfra.conventions import ALERTMANAGER_SECRET_NAME, TYPE_MONITORING_STACK, child_name, dashboard_uid
from mlinfra.monitoring.alertmanager import alertmanager_secret_keys, build_alertmanager_config
from mlinfra.monitoring.dashboards import build_dashboard_configmap
from mlinfra.monitoring.helm_values import CHART, CHART_REPOSITORY, CHART_VERSION, RELEASE_NAME, build_helm_values
from mlinfra.monitoring.objects import build_monitoring_namespace, build_prometheus_rule, build_service_monitor
from mlinfra.planning.specs import EnvironmentPlan


@dataclass(frozen=True, kw_only=True)
class MonitoringStackArgs:
    plan: EnvironmentPlan


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
    """Namespace, notification Secret, the pinned chart, then CRD objects that need the chart's CRDs."""

    dashboards: dict[str, str]
    alert_routes: list[dict[str, Any]]

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
        plan, protect = args.plan, args.plan.protect
        ns_name = plan.monitoring.namespace

        namespace = create_object(child_name(name, "namespace"), build_monitoring_namespace(plan), child,
                                  protect=protect)
        ns = {ns_name: namespace.metadata.name}

        # Notification credentials: Pulumi secret config -> Kubernetes Secret, never plain text anywhere.
        config = pulumi.Config()
        secret = k8s.core.v1.Secret(
            child_name(name, "notify-secret"),
            metadata={"name": ALERTMANAGER_SECRET_NAME, "namespace": ns[ns_name]},
            type="Opaque",
            string_data={key: config.require_secret(cfg) for key, cfg in alertmanager_secret_keys(plan).items()},
            opts=child,
        )

        release = k8s.helm.v3.Release(
            child_name(name, "release"),
            k8s.helm.v3.ReleaseArgs(
                name=RELEASE_NAME,
                chart=CHART,
                version=CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CHART_REPOSITORY),
                namespace=ns[ns_name],
                values=build_helm_values(plan),
            ),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[secret], protect=protect)
            ),
        )
        # The chart installs the ServiceMonitor/PrometheusRule CRDs: everything below waits for it (issue 1712).
        after_release = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[release]))
        objects = [build_prometheus_rule(plan)]
        objects += [build_service_monitor(plan, model) for model in plan.models]
        objects += [build_dashboard_configmap(plan, model) for model in plan.models]
        self.resources = create_objects(name, objects, after_release, primary="", namespaces=ns)
        self.resources.update(namespace=namespace, **{"notify-secret": secret, "release": release})

        self.dashboards = {  # Grafana path of each model's dashboard (the sidecar loads the ConfigMaps)
            m.name: f"/d/{dashboard_uid(plan.profile_name, plan.environment, m.name)}" for m in plan.models
        }
        self.alert_routes = alert_routes(build_alertmanager_config(plan))
        self.register_outputs({"dashboards": self.dashboards, "alert_routes": self.alert_routes})
