"""Pure helpers behind stack outputs and the monitoring stack's Args: endpoints, alert routes, secret keys."""

from __future__ import annotations

import dataclasses

import pytest

from mlinfra.manifests.serving import build_model_objects, endpoint_of
from mlinfra.monitoring.alertmanager import alert_routes, build_alertmanager_config, monitoring_secret_keys
from mlinfra.planning.specs import ReceiverSpec, RoutedEnvironment


def _service(name: str, namespace: str, ports: list[tuple[str, int]]) -> dict:
    return {"kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [{"name": n, "port": p} for n, p in ports]}}


def _ingress(host: str) -> dict:
    return {"kind": "Ingress", "metadata": {"name": "x"}, "spec": {"rules": [{"host": host}]}}


@pytest.mark.parametrize(
    ("objects", "endpoint"),
    [
        pytest.param([_service("fraud", "lab-7", [("metrics", 9013), ("http", 8017)])],
                     "http://fraud.lab-7.svc.cluster.local:8017", id="service-http-port"),
        pytest.param([_service("fraud", "lab-7", [("http", 8017)]), _ingress("fraud.lab.example.org")],
                     "https://fraud.lab.example.org", id="ingress-wins-over-service"),
    ],
)
def test_endpoint_of_objects(objects, endpoint):
    assert endpoint_of(objects) == endpoint


def test_endpoint_of_needs_a_service_or_an_ingress():
    with pytest.raises(ValueError, match="a model server needs a Service or an Ingress"):
        endpoint_of([{"kind": "Deployment", "metadata": {"name": "fraud"}}])


@pytest.mark.parametrize(
    ("exposure", "endpoint"),
    [
        pytest.param("internal", "https://churn.prod.ml.example.com", id="internal"),
        pytest.param("private", "http://churn.churn-scoring-prod.svc.cluster.local:8080", id="private"),
    ],
)
def test_endpoint_of_the_builders_objects(make_plan, exposure, endpoint):
    plan = make_plan(exposure=exposure)
    assert endpoint_of(build_model_objects(plan, plan.models[0])) == endpoint


def test_alert_routes_flatten_environment_routes_and_name_integrations():
    config = {
        "receivers": [
            {"name": "null"},
            {"name": "mlinfra-page", "slack_configs": [{}], "pagerduty_configs": [{}]},
            {"name": "mlinfra-ticket", "email_configs": [{}], "webhook_configs": [{}], "send_resolved": True},
        ],
        "route": {
            "receiver": "null",
            "routes": [
                {"matchers": ['alertname=~"Watchdog"'], "receiver": "null"},
                {"matchers": ['environment="qa-3"'], "receiver": "null", "routes": [
                    {"matchers": ['severity="critical"'], "receiver": "mlinfra-ticket"},
                ]},
                {"matchers": ['severity="critical"'], "receiver": "mlinfra-page"},
                {"receiver": "mlinfra-unknown"},
            ],
        },
    }
    assert alert_routes(config) == [
        {"matchers": ['alertname=~"Watchdog"'], "receiver": "null", "integrations": []},
        {"matchers": ['environment="qa-3"', 'severity="critical"'], "receiver": "mlinfra-ticket",
         "integrations": ["email", "webhook"]},
        {"matchers": ['severity="critical"'], "receiver": "mlinfra-page", "integrations": ["pagerduty", "slack"]},
        {"matchers": [], "receiver": "mlinfra-unknown", "integrations": []},
    ]
    assert alert_routes({"receivers": [], "route": {"receiver": "null"}}) == []


def test_alert_routes_of_a_shared_alertmanager(make_plan, with_monitoring):
    """The owner routes dev's critical alerts to tickets and its own to the pager (built config, not by hand)."""
    plan = with_monitoring(make_plan(), routed_environments=(
        RoutedEnvironment(name="dev", alerts_page=False), RoutedEnvironment(name="prod", alerts_page=True),
    ))
    routes = {tuple(r["matchers"]): (r["receiver"], r["integrations"]) for r in alert_routes(build_alertmanager_config(plan))}
    assert routes[('environment="dev"', 'severity="critical"')] == ("mlinfra-ticket", ["email", "slack"])
    assert routes[('environment="prod"', 'severity="critical"')] == ("mlinfra-page", ["pagerduty", "slack"])
    assert routes[('severity="critical"',)] == ("mlinfra-page", ["pagerduty", "slack"]), "cluster alerts: the owner's"


def test_monitoring_secret_keys_of_the_owner_only(make_plan, with_monitoring):
    plan = make_plan()
    assert monitoring_secret_keys(plan) == ["grafanaAdminPw", "pagerdutyRoutingKey", "slackWebhookUrl", "smtpPassword"]
    no_email = with_monitoring(plan, receivers=(ReceiverSpec(type="msteams", name="msteams", secret_key="teamsHook"),))
    assert monitoring_secret_keys(no_email) == ["grafanaAdminPw", "teamsHook"], "SMTP's password only for email"
    assert monitoring_secret_keys(dataclasses.replace(plan, monitoring=dataclasses.replace(
        plan.monitoring, owns_stack=False, stack_owner="staging"))) == [], "the owner's stack holds the Secrets"
