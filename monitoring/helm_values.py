"""kube-prometheus-stack values, as data: built for the environment that owns its cluster's monitoring stack
(monitoring.owns_stack; the others on that cluster install no release), with that environment's retention and
storage and an Alertmanager config routing every environment on the cluster.

Every key path set here exists in the pinned chart's values.yaml or lies inside a free-form map the chart
passes through (FREE_FORM); tests/unit/test_helm_values.py checks that against ../shared/charts/.
The Alertmanager config goes in through `alertmanager.config` (the chart writes it to the Alertmanager's
config Secret); it holds file paths only. The credentials come from the Secret named in
`alertmanager.alertmanagerSpec.secrets`, which the operator mounts under /etc/alertmanager/secrets/<name>/.
Grafana's admin user and password come from the Secret named in `grafana.admin.existingSecret`, filled from
Pulumi secret config (without it the chart makes its own admin Secret: `prom-operator` in old releases, a random
password in 88.x that no secret store holds and nobody chose). Both Secrets must exist before
the release: the Grafana pods read theirs through secretKeyRef and do not start without it, so a release that
waits for readiness would time out (components/monitoring_stack.py creates them first).
"""

from __future__ import annotations

import math
from typing import Any

from mlinfra.conventions import (
    ALERTMANAGER_SECRET_NAME,
    GRAFANA_ADMIN_PASSWORD_KEY,
    GRAFANA_ADMIN_SECRET_NAME,
    GRAFANA_ADMIN_USER_KEY,
    GRAFANA_DASHBOARD_LABEL,
    GRAFANA_DASHBOARD_LABEL_VALUE,
)
from mlinfra.monitoring.alertmanager import alertmanager_secret_keys, build_alertmanager_config
from mlinfra.monitoring.remote_write import remote_write_values
from mlinfra.monitoring.series import RETENTION_SIZE_SHARE, TooManySeries, check_remote_write, plan_estimate
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming, format_duration
from mlinfra.planning.plan import PlanError
from mlinfra.planning.specs import EnvironmentPlan

CHART = "kube-prometheus-stack"
CHART_VERSION = "88.5.3"
CHART_REPO = "https://prometheus-community.github.io/helm-charts"

# Maps whose content the chart hands to the operator/Alertmanager unchecked (documented as free-form there)
FREE_FORM = (
    "alertmanager.config",
    "prometheus.prometheusSpec.storageSpec",
    "prometheus.prometheusSpec.resources",
)


def volume_gib(plan: EnvironmentPlan) -> int:
    """The Prometheus volume: monitoring.storage_gib, or more when the series estimate needs more."""
    return max(plan.monitoring.storage_gib, plan_estimate(plan).volume_gib)


def build_helm_values(plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION) -> dict[str, Any]:
    """Values for the environment's kube-prometheus-stack release: Prometheus sized for the stack's series
    estimate (monitoring/series.py); raises PlanError past what one Prometheus should hold without remote write."""
    mon = plan.monitoring
    series = plan_estimate(plan)
    try:
        check_remote_write(plan, series)
    except TooManySeries as exc:
        raise PlanError(str(exc)) from None
    storage_gib = volume_gib(plan)
    volume: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": f"{storage_gib}Gi"}},
    }
    if mon.storage_class:
        volume["storageClassName"] = mon.storage_class
    interval = format_duration(timing.scrape_interval)
    return {
        "alertmanager": {
            "config": build_alertmanager_config(plan, timing),
            "alertmanagerSpec": {"secrets": [ALERTMANAGER_SECRET_NAME] if alertmanager_secret_keys(plan) else []},
        },
        "grafana": {
            "admin": {
                "existingSecret": GRAFANA_ADMIN_SECRET_NAME,
                "userKey": GRAFANA_ADMIN_USER_KEY,
                "passwordKey": GRAFANA_ADMIN_PASSWORD_KEY,
            },
            "sidecar": {
                "dashboards": {
                    "enabled": True,
                    "label": GRAFANA_DASHBOARD_LABEL,
                    "labelValue": GRAFANA_DASHBOARD_LABEL_VALUE,
                    "searchNamespace": "ALL",
                }
            }
        },
        "prometheus": {
            "prometheusSpec": {
                "retention": f"{mon.retention_days}d",
                "retentionSize": f"{max(1, math.floor(storage_gib * RETENTION_SIZE_SHARE))}GB",
                # memory per active series (monitoring/series.py); no CPU limit (throttling delays rule evaluation)
                "resources": {
                    "requests": {"cpu": series.cpu_request, "memory": series.memory_request},
                    "limits": {"memory": series.memory_limit},
                },
                "remoteWrite": remote_write_values(plan),
                "scrapeInterval": interval,
                "evaluationInterval": format_duration(timing.evaluation_interval),
                # Select every rule/monitor in every namespace, not only those labelled for this release.
                "ruleSelectorNilUsesHelmValues": False,
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "podMonitorSelectorNilUsesHelmValues": False,
                "probeSelectorNilUsesHelmValues": False,
                "scrapeConfigSelectorNilUsesHelmValues": False,
                "storageSpec": {"volumeClaimTemplate": {"spec": volume}},
            }
        },
    }
