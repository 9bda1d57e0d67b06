"""Monitoring namespace and Secrets: exact dicts, placeholders instead of values, apply order."""

from __future__ import annotations

from mlinfra.monitoring.helm_values import build_helm_values
from mlinfra.monitoring.objects import (
    build_grafana_admin_secret,
    build_monitoring_namespace,
    build_monitoring_objects,
    build_monitoring_secrets,
)
from mlinfra.monitoring.rules import build_rule_groups

LABELS = {
    "app.kubernetes.io/component": "monitoring",
    "app.kubernetes.io/instance": "churn-scoring-prod-monitoring",
    "app.kubernetes.io/managed-by": "mlinfra",
    "app.kubernetes.io/name": "monitoring",
    "app.kubernetes.io/part-of": "churn-scoring",
    "mlinfra.io/environment": "prod",
}


def test_monitoring_namespace_exact(make_plan, with_monitoring):
    assert build_monitoring_namespace(with_monitoring(make_plan(), namespace="observability")) == {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "observability",
            "labels": {
                **LABELS,
                # node-exporter needs hostNetwork/hostPID/hostPath: baseline and restricted would reject it
                "pod-security.kubernetes.io/enforce": "privileged",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/audit": "baseline",
                "pod-security.kubernetes.io/audit-version": "latest",
            },
        },
    }


def test_grafana_admin_secret_placeholder_and_value(make_plan):
    plan = make_plan()  # monitoring.grafana_admin_password_secret = grafanaAdminPw (tests/unit/conftest.py)
    assert build_grafana_admin_secret(plan) == {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": "mlinfra-grafana-admin", "namespace": "monitoring", "labels": LABELS},
        "stringData": {"admin-user": "admin", "admin-password": "<pulumi secret: grafanaAdminPw>"},
    }
    value = object()  # the component passes a Pulumi secret Output: passed through untouched
    assert build_grafana_admin_secret(plan, value)["stringData"]["admin-password"] is value


def test_helm_values_point_grafana_at_that_secret(make_plan):
    plan = make_plan()
    secret = build_grafana_admin_secret(plan)
    admin = build_helm_values(plan)["grafana"]["admin"]
    assert admin == {"existingSecret": "mlinfra-grafana-admin", "userKey": "admin-user", "passwordKey": "admin-password"}
    assert admin["existingSecret"] == secret["metadata"]["name"]
    assert {admin["userKey"], admin["passwordKey"]} == set(secret["stringData"])
    assert secret["metadata"]["namespace"] == plan.monitoring.namespace, "Grafana runs in the release's namespace"


def test_secrets_without_notification_credentials(make_plan, with_monitoring):
    plan = with_monitoring(make_plan(), receivers=())
    assert [s["metadata"]["name"] for s in build_monitoring_secrets(plan)] == ["mlinfra-grafana-admin"]
    assert [s["metadata"]["name"] for s in build_monitoring_secrets(make_plan())] == [
        "mlinfra-grafana-admin", "mlinfra-alertmanager-notify",
    ]


def test_objects_in_apply_order(make_plan, make_model):
    plan = make_plan(models=(make_model(), make_model(name="upsell", k8s_name="upsell")))
    order = [(o["kind"], o["metadata"]["name"]) for o in build_monitoring_objects(plan)]
    assert order == [
        ("Namespace", "monitoring"),
        ("NetworkPolicy", "monitoring-ingress"),  # its own pods and the API server's webhook calls only
        ("Secret", "mlinfra-grafana-admin"),
        ("Secret", "mlinfra-alertmanager-notify"),
        ("PrometheusRule", "churn-scoring-prod-rules"),
        ("ServiceMonitor", "churn"),
        ("ConfigMap", "churn-dashboard"),
        ("ServiceMonitor", "upsell"),
        ("ConfigMap", "upsell-dashboard"),
    ]


def test_a_non_owner_deploys_no_namespace_or_secrets(make_plan, make_model, with_monitoring):
    """dev on prod's cluster: the monitoring namespace and its Secrets are prod's."""
    plan = with_monitoring(make_plan(environment="dev", tier="dev", namespace="churn-scoring-dev"),
                           owns_stack=False, stack_owner="prod")
    order = [(o["kind"], o["metadata"]["name"]) for o in build_monitoring_objects(plan)]
    assert order == [
        ("PrometheusRule", "churn-scoring-dev-rules"), ("ServiceMonitor", "churn"), ("ConfigMap", "churn-dashboard"),
    ]


def test_runbook_links_follow_the_profile(make_plan, make_model, make_drift, with_monitoring):
    plan = with_monitoring(make_plan(models=(make_model(drift=make_drift()),)),
                           runbook_url="https://wiki.example.com/ml/runbooks")
    links = {r["alert"]: r["annotations"]["runbook_url"] for g in build_rule_groups(plan) for r in g["rules"]
             if "alert" in r}
    assert len(links) == 12, sorted(links)  # nine of every model, three of its drift monitor
    assert links["MLModelErrorBudgetFastBurn"] == "https://wiki.example.com/ml/runbooks#mlmodelerrorbudgetfastburn"
    assert all(url == f"https://wiki.example.com/ml/runbooks#{alert.lower()}" for alert, url in links.items())
