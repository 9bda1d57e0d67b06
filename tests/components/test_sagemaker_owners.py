"""Model owners on aws-sagemaker, under Pulumi's official mocks (the real program): each owner gets SNS topics of
its own (KMS-encrypted, the same policy), subscribed from its notify, and its models' alarms and drift violations
notify its topics - critical ones in prod also the platform's page topic; the no-instances alarm stays the
platform's. Expected topics are written out per owner, not derived from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sagemaker_profile import lab_data

from resource_graph import of_type
from mlinfra.targets.aws.notifications import topic_policy

ACCOUNT = "123456789012"  # the offline mocks' account
REGION = "eu-west-1"  # the lab profile's
ENVS = ("dev", "prod")
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
OWNERS = {
    # pages itself (PagerDuty) and tickets by email
    "risk-ds": {"contact": "Risk data science, risk-ds@example.org", "notify": [
        {"type": "pagerduty", "routing_key_secret": "riskPagerDuty"}, {"type": "email", "to": "risk-ds@example.org"}]},
    # tickets only: its critical alarms are its tickets, and in prod the platform pages as well
    "search": {"contact": "#search", "notify": [{"type": "webhook", "url_secret": "searchHook"}]},
}
MODEL_OWNER = {"scorer": "risk-ds", "ranker": "search"}
# env -> (owner, severity) -> topic keys (the topic name's suffix after "sm-lab-<env>-alerts-")
EXPECTED = {
    "prod": {
        ("risk-ds", "critical"): ["risk-ds-page", "page"], ("risk-ds", "warning"): ["risk-ds-ticket"],
        ("search", "critical"): ["search-ticket", "page"], ("search", "warning"): ["search-ticket"],
        (None, "critical"): ["page"], (None, "warning"): ["ticket"],
    },
    "dev": {  # dev never pages: no page topic of anyone, PagerDuty never subscribed
        ("risk-ds", "critical"): ["risk-ds-ticket"], ("risk-ds", "warning"): ["risk-ds-ticket"],
        ("search", "critical"): ["search-ticket"], ("search", "warning"): ["search-ticket"],
        (None, "critical"): ["ticket"], (None, "warning"): ["ticket"],
    },
}
PLATFORM_ALARMS = ("MLModelPodsNotReady",)  # the no-instances alarm: about the endpoint's instances


@pytest.fixture(scope="module")
def path(tmp_path_factory) -> Path:
    data = lab_data(owners=OWNERS, monitoring={**lab_data()["monitoring"], "drift": True})
    for model in data["models"]:
        model["owner"] = MODEL_OWNER[model["name"]]
    out = tmp_path_factory.mktemp("owners") / "profile.yaml"
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def runs(path):
    from mlinfra.program import run_offline

    return {env: run_offline(path, env, target="aws-sagemaker") for env in ENVS}


def _arn(env: str, key: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:sm-lab-{env}-alerts-{key}"


@pytest.mark.parametrize("env", ENVS)
def test_each_owner_has_its_topics_encrypted_with_the_stack_key_and_the_platform_policy(runs, env):
    run = runs[env]
    names = sorted(t["inputs"]["name"] for t in of_type(run, TOPIC))
    keys = {"prod": ["page", "risk-ds-page", "risk-ds-ticket", "search-ticket", "ticket"],
            "dev": ["risk-ds-ticket", "search-ticket", "ticket"]}[env]
    assert names == sorted(f"sm-lab-{env}-alerts-{k}" for k in keys)
    key_arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
    assert all(t["inputs"]["kmsMasterKeyId"].startswith(key_arn) for t in of_type(run, TOPIC))
    policies = of_type(run, "aws:sns/topicPolicy:TopicPolicy")
    assert sorted(p["inputs"]["arn"] for p in policies) == sorted(_arn(env, k) for k in keys)
    for policy in policies:  # drift is on: EventBridge publishes the violations
        assert json.loads(policy["inputs"]["policy"]) == topic_policy(policy["inputs"]["arn"], eventbridge=True)
    types = [(r["type"], r["name"]) for r in run.resources]
    assert len(types) == len(set(types))


@pytest.mark.parametrize("env", ENVS)
def test_owner_topics_are_subscribed_from_the_owner_notify_only(runs, env):
    subs = {(s["inputs"]["topic"].rsplit("-alerts-", 1)[1], s["name"].rsplit("-", 1)[1], s["inputs"]["protocol"],
             s["inputs"]["endpoint"] if s["inputs"]["protocol"] == "email" else "(secret)")
            for s in of_type(runs[env], SUBSCRIPTION)}
    expected = {
        ("risk-ds-ticket", "email", "email", "risk-ds@example.org"),
        ("search-ticket", "webhook", "https", "(secret)"),
        ("ticket", "email", "email", "oncall@example.org"),
        ("ticket", "slack", "https", "(secret)"),
    }
    if env == "prod":
        expected |= {("risk-ds-page", "pagerduty", "https", "(secret)"), ("page", "slack", "https", "(secret)"),
                     ("page", "pagerduty", "https", "(secret)")}
    assert subs == expected


@pytest.mark.parametrize("env", ENVS)
def test_model_alarms_notify_their_owner_and_critical_ones_in_prod_the_platform_page(runs, env):
    run = runs[env]
    checked = set()
    for alarm in of_type(run, ALARM) + of_type(run, COMPOSITE):
        inputs = alarm["inputs"]
        if "alarmActions" not in inputs:
            continue  # a condition of a composite alarm
        name = inputs.get("name") or inputs["alarmName"]
        model = next(m for m in MODEL_OWNER if f"-{m}-" in f"-{name}-")
        alert = name.rsplit("-", 1)[1]
        severity = "warning" if alert in ("MLModelErrorBudgetSlowBurn", "MLModelNoTraffic", "MLModelPodsNotReady") \
            else "critical"
        owner = None if alert in PLATFORM_ALARMS else MODEL_OWNER[model]
        expected = [_arn(env, k) for k in EXPECTED[env][(owner, severity)]]
        assert inputs["alarmActions"] == expected, f"{name}: {inputs['alarmActions']}"
        assert inputs["okActions"] == expected, name
        checked.add((owner, severity))
    assert {("risk-ds", "critical"), ("risk-ds", "warning"), ("search", "critical"), ("search", "warning")} <= checked


@pytest.mark.parametrize("env", ENVS)
def test_drift_violations_reach_the_owner_ticket_topic(runs, env):
    targets = sorted(t["inputs"]["arn"] for t in of_type(runs[env], EVENT_TARGET))
    assert targets == sorted(_arn(env, f"{owner}-ticket") for owner in MODEL_OWNER.values())


def test_alert_routes_output_lists_the_owner_routes_first(runs):
    routes = runs["prod"].outputs["alert_routes"]
    assert routes[:4] == [
        {"matchers": ['owner="risk-ds"', 'severity="critical"'], "receiver": "risk-ds-page",
         "integrations": ["pagerduty"], "continue": True},
        {"matchers": ['owner="risk-ds"', 'severity="warning"'], "receiver": "risk-ds-ticket", "integrations": ["email"]},
        {"matchers": ['owner="search"', 'severity="critical"'], "receiver": "search-ticket",
         "integrations": ["webhook"], "continue": True},
        {"matchers": ['owner="search"', 'severity="warning"'], "receiver": "search-ticket", "integrations": ["webhook"]},
    ]
    assert [r["receiver"] for r in routes[4:]] == ["mlinfra-page", "mlinfra-ticket"]
    assert sorted(runs["prod"].outputs["alert_topics"]) == [
        "page", "risk-ds-page", "risk-ds-ticket", "search-ticket", "ticket"]
