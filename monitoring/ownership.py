"""Who installs the cluster's monitoring stack, said to people: the `monitoring_stack` stack output and the note
`mlinfra render` writes into render.json.

kube-prometheus-stack is cluster-wide, so environments on one cluster share one (planning.plan.monitoring_share):
the owner installs the monitoring Namespace, its Secrets and the Helm release (with the CRDs and the shared
Alertmanager); every environment installs its own PrometheusRule, ServiceMonitors and dashboards. Those need the
CRDs, and Pulumi cannot make one stack's resources wait for another stack's, so the owner's stack goes first.
"""

from __future__ import annotations

from typing import Any

from mlinfra.monitoring.helm_values import CHART, CHART_VERSION
from mlinfra.planning.specs import EnvironmentPlan


def stack_ownership(plan: EnvironmentPlan) -> dict[str, Any]:
    """{owner, owned_here, routes_alerts_of, note} of the environment's monitoring stack (`routes_alerts_of`: the
    environments whose alerts the Alertmanager this stack installs routes; none when it installs none)."""
    mon = plan.monitoring
    chart = f"{CHART} {CHART_VERSION}"
    if mon.owns_stack:
        others = [e.name for e in mon.routed_environments if e.name != plan.environment]
        shared = (
            f"; it is shared with {', '.join(others)} (same cluster), which add only their own "
            f"PrometheusRule, ServiceMonitors and dashboards: deploy '{plan.environment}' first, they need its CRDs"
            if others
            else ""
        )
        note = (
            f"environment '{plan.environment}' installs the cluster's monitoring stack ({chart}, namespace "
            f"{mon.namespace}: Prometheus, Alertmanager, Grafana and the monitoring CRDs){shared}"
        )
    else:
        note = (
            f"environment '{mon.stack_owner}' installs the cluster's monitoring stack ({chart}, namespace "
            f"{mon.namespace}) and its Alertmanager routes the alerts of '{plan.environment}'; '{plan.environment}' "
            f"adds only its PrometheusRule, ServiceMonitors and dashboards, which need that stack's CRDs: deploy "
            f"'{mon.stack_owner}' first"
        )
    return {
        "owner": mon.stack_owner,
        "owned_here": mon.owns_stack,
        "routes_alerts_of": [e.name for e in mon.routed_environments] if mon.owns_stack else [],
        "note": note,
    }
