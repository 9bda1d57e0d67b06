"""Owners' routes as pure data: the Alertmanager route list, the SNS topics per owner, the secret keys."""

from __future__ import annotations

from mlinfra.conventions import RECEIVER_PAGE, RECEIVER_TICKET
from mlinfra.monitoring.alertmanager import alertmanager_secret_keys, build_alertmanager_config
from mlinfra.planning.specs import OwnerSpec, ReceiverSpec
from mlinfra.targets.aws.notifications import notification_plan

EMAIL = ReceiverSpec(type="email", name="email", to="ops@example.org")
SLACK = ReceiverSpec(type="slack", name="slack", secret_key="slackHook")
FRAUD = OwnerSpec(name="fraud-ds", contact="fraud-ds@example.org", receivers=(
    ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="fraudPd"),
    ReceiverSpec(type="email", name="email", to="fraud-ds@example.org"),
))
PD_ONLY = OwnerSpec(name="search", contact="#search", receivers=(
    ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="searchPd"),))


def test_owner_routes_come_before_the_platform_severity_routes(make_plan, with_monitoring):
    plan = with_monitoring(make_plan(), owners=(FRAUD, PD_ONLY))
    routes = build_alertmanager_config(plan)["route"]["routes"][1:]
    assert routes == [
        {"matchers": ['owner="fraud-ds"', 'severity="critical"'], "receiver": "fraud-ds-page", "continue": True},
        {"matchers": ['owner="fraud-ds"', 'severity="warning"'], "receiver": "fraud-ds-ticket"},
        {"matchers": ['owner="search"', 'severity="critical"'], "receiver": "search-page", "continue": True},
        {"matchers": ['owner="search"', 'severity="warning"'], "receiver": "search-page"},
        {"matchers": ['severity="critical"'], "receiver": RECEIVER_PAGE},
        {"matchers": ['severity="warning"'], "receiver": RECEIVER_TICKET},
    ]
    assert alertmanager_secret_keys(plan) == {k: k for k in
                                              ("fraudPd", "pagerdutyRoutingKey", "searchPd", "slackWebhookUrl", "smtpPassword")}


def test_where_nothing_pages_owner_critical_is_its_ticket_and_a_pagerduty_only_owner_falls_to_the_platform(
    make_plan, with_monitoring
):
    plan = with_monitoring(make_plan(environment="dev", tier="dev"), alerts_page=False, owners=(FRAUD, PD_ONLY))
    config = build_alertmanager_config(plan)
    assert config["route"]["routes"][1:3] == [
        {"matchers": ['owner="fraud-ds"', 'severity="critical"'], "receiver": "fraud-ds-ticket"},
        {"matchers": ['owner="fraud-ds"', 'severity="warning"'], "receiver": "fraud-ds-ticket"},
    ]
    assert not any("search" in r["name"] for r in config["receivers"])
    assert "pagerduty_configs" not in str(config)


def test_an_owner_email_needs_the_smtp_relay_even_without_a_platform_email(make_plan, with_monitoring):
    plan = with_monitoring(make_plan(), receivers=(SLACK,), owners=(FRAUD,))
    config = build_alertmanager_config(plan)
    assert config["global"]["smtp_smarthost"]
    ticket = next(r for r in config["receivers"] if r["name"] == "fraud-ds-ticket")
    assert ticket["email_configs"] == [{"to": "fraud-ds@example.org", "send_resolved": True}]


def test_sns_owner_topics_routes_and_subscriptions():
    prod = notification_plan("fraud-lab", "prod", (EMAIL, SLACK), pages=True, owners=(FRAUD, PD_ONLY))
    assert prod.topics == {
        "page": "fraud-lab-prod-alerts-page", "ticket": "fraud-lab-prod-alerts-ticket",
        "fraud-ds-page": "fraud-lab-prod-alerts-fraud-ds-page", "fraud-ds-ticket": "fraud-lab-prod-alerts-fraud-ds-ticket",
        "search-page": "fraud-lab-prod-alerts-search-page",
    }
    assert prod.topics_for("MLModelErrorBudgetFastBurn", "critical", "fraud-ds") == ("fraud-ds-page", "page")
    assert prod.topics_for("MLModelNoTraffic", "warning", "fraud-ds") == ("fraud-ds-ticket",)
    assert prod.topics_for("MLModelPodsNotReady", "warning", "fraud-ds") == ("ticket",)  # the platform's alarm
    assert prod.topics_for("MLModelNoTraffic", "warning", None) == ("ticket",)
    assert [(s.topic, s.receiver) for s in prod.subscriptions if s.topic not in ("page", "ticket")] == [
        ("fraud-ds-page", "pagerduty"), ("fraud-ds-ticket", "email"), ("search-page", "pagerduty")]
    dev = notification_plan("fraud-lab", "dev", (EMAIL, SLACK), pages=False, owners=(FRAUD, PD_ONLY))
    assert sorted(dev.topics) == ["fraud-ds-ticket", "ticket"]
    assert dev.topics_for("MLModelLatencyHigh", "critical", "fraud-ds") == ("fraud-ds-ticket",)
    assert dev.topics_for("MLModelLatencyHigh", "critical", "search") == ("ticket",)  # nothing of its own in dev
    assert "pagerduty" not in {s.type for s in dev.subscriptions}


def _owned(**monitoring):
    from mlinfra.profiles import profile_from_data

    return profile_from_data({
        "version": 1, "name": "fraud-lab", "environments": ["dev", "prod"],
        "models": [{"name": "fraud", "framework": "xgboost", "artifact": "s3://models/fraud/v11", "owner": "fraud-ds",
                    "traffic": {"average_rps": 13, "peak_rps": 170},
                    "slo": {"latency_p95_ms": 190, "availability": 0.997}}],
        "owners": {"fraud-ds": {"contact": "fraud-ds@example.org", "notify": [
            {"type": "pagerduty", "routing_key_secret": "fraudPd"}, {"type": "email", "to": "fraud-ds@example.org"}]}},
        "monitoring": {"notify": [{"type": "slack", "webhook_secret": "slackHook"}], **monitoring},
    })


def test_an_owner_email_without_the_smtp_relay_is_an_error_naming_the_owner_field():
    from mlinfra.monitoring.checks import monitoring_errors

    [(path, message)] = monitoring_errors(_owned())
    assert path == "monitoring.smtp" and message.startswith("owners.fraud-ds.notify[1] sends email, but no SMTP relay")
    assert monitoring_errors(_owned(smtp={"smarthost": "smtp.example.org:587", "from_address": "am@example.org"})) == []


def test_owner_secret_keys_are_listed_with_their_fields():
    from mlinfra.guardrails.secrets import secret_config_keys
    from mlinfra.scaffold.context import secret_refs

    profile = _owned()
    refs = {r.key: r.paths for r in secret_refs(profile)}
    assert refs["fraudPd"] == ("owners.fraud-ds.notify[0].routing_key_secret",)
    assert {"fraudPd", "slackHook"} <= set(secret_config_keys(profile))


def test_sagemaker_render_names_each_alarm_topic_and_the_platform_page_it_also_notifies():
    import yaml as yaml_
    from sagemaker_profile import lab_data

    from mlinfra.profiles import profile_from_data
    from mlinfra.targets.aws_sagemaker import AwsSageMaker

    data = lab_data(owners={"risk-ds": {"contact": "risk-ds@example.org", "notify": [
        {"type": "pagerduty", "routing_key_secret": "riskPd"}, {"type": "email", "to": "risk-ds@example.org"}]}})
    for model in data["models"]:
        model["owner"] = "risk-ds"
    [doc] = [f for f in AwsSageMaker().render(profile_from_data(data), "prod") if f.path == "aws/sagemaker.yaml"]
    rendered = yaml_.safe_load(doc.text)
    assert sorted(rendered["alerts"]["topics"]) == ["page", "risk-ds-page", "risk-ds-ticket", "ticket"]
    alarms = {a["key"]: a for a in rendered["endpoints"][0]["alarms"] if a.get("severity")}
    assert (alarms["MLModelLatencyHigh"]["topic"], alarms["MLModelLatencyHigh"]["also_topics"]) == ("risk-ds-page", ["page"])
    assert "also_topics" not in alarms["MLModelErrorBudgetSlowBurn"]
    assert alarms["MLModelErrorBudgetSlowBurn"]["topic"] == "risk-ds-ticket"
