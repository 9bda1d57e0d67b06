"""Alertmanager config: routing by severity, dev never pages, credentials only as *_file paths."""

from __future__ import annotations

import json

from mlinfra.conventions import ALERTMANAGER_SECRETS_DIR, RECEIVER_NULL, RECEIVER_PAGE, RECEIVER_TICKET
from mlinfra.monitoring.alertmanager import CHART_DUPLICATES, alertmanager_secret_keys, build_alertmanager_config
from mlinfra.monitoring.objects import build_alertmanager_secret
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.timing import FAST


def seconds(duration: str) -> int:
    return int(duration[:-1]) * {"s": 1, "m": 60, "h": 3600}[duration[-1]]
from mlinfra.planning.specs import ReceiverSpec, RoutedEnvironment


def _route(config, severity):
    return next(r["receiver"] for r in config["route"]["routes"] if r["matchers"] == [f'severity="{severity}"'])


def test_prod_pages_and_tickets(make_plan):
    config = build_alertmanager_config(make_plan())
    assert (_route(config, "critical"), _route(config, "warning")) == (RECEIVER_PAGE, RECEIVER_TICKET)
    receivers = {r["name"]: r for r in config["receivers"]}
    assert sorted(receivers) == [RECEIVER_PAGE, RECEIVER_TICKET, RECEIVER_NULL]
    assert sorted(k for k in receivers[RECEIVER_PAGE] if k != "name") == ["pagerduty_configs", "slack_configs"]
    assert sorted(k for k in receivers[RECEIVER_TICKET] if k != "name") == ["email_configs", "slack_configs"]
    assert receivers[RECEIVER_PAGE]["pagerduty_configs"] == [
        {"routing_key_file": "/etc/alertmanager/secrets/mlinfra-alertmanager-notify/pagerdutyRoutingKey", "send_resolved": True}
    ]
    assert config["route"]["receiver"] == RECEIVER_NULL
    assert config["route"]["group_by"] == ["alertname", "namespace", "model", "environment"]
    assert (config["route"]["group_wait"], config["route"]["group_interval"], config["route"]["repeat_interval"]) == ("30s", "5m", "4h")


def test_dev_routes_critical_to_tickets_and_drops_pagerduty(make_plan, with_monitoring):
    config = build_alertmanager_config(with_monitoring(make_plan(environment="dev", tier="dev"), alerts_page=False))
    assert (_route(config, "critical"), _route(config, "warning")) == (RECEIVER_TICKET, RECEIVER_TICKET)
    assert "pagerduty_configs" not in json.dumps(config)


def test_inhibition(make_plan):
    rules = build_alertmanager_config(make_plan())["inhibit_rules"]
    assert rules == [
        {"source_matchers": ['severity="critical"', 'model=~".+"'], "target_matchers": ['severity="warning"'],
         "equal": ["namespace", "model", "environment"]},
        {"source_matchers": ['severity="critical"', 'model=""'], "target_matchers": ['severity="warning"', 'model=""'],
         "equal": ["alertname", "namespace"]},
        {"source_matchers": ['alertname="MLModelPodCrashLooping"'], "target_matchers": ['alertname="KubePodCrashLooping"'],
         "equal": ["namespace", "pod", "container"]},
        {"source_matchers": ['alertname="MLModelReplicasAtMax"'], "target_matchers": ['alertname="KubeHpaMaxedOut"'],
         "equal": ["namespace", "horizontalpodautoscaler"]},
        {"source_matchers": ['alertname="MLModelPodsNotReady"'],
         "target_matchers": ['alertname="KubeDeploymentReplicasMismatch"'], "equal": ["namespace", "deployment"]},
        {"source_matchers": ['alertname="MLModelPodsNotReady"'],
         "target_matchers": ['alertname="KubeDeploymentRolloutStuck"'], "equal": ["namespace", "deployment"]},
        {"source_matchers": ['alertname="MLModelPodsNotReady"'],
         "target_matchers": ['alertname="KubePodNotReady"'], "equal": ["namespace"]},
    ]


def test_the_page_of_a_model_mutes_its_tickets_whatever_the_alert(make_plan):
    """One incident, one notification: an outage page (MLModelDown) mutes the model's no-traffic ticket."""
    rule = build_alertmanager_config(make_plan())["inhibit_rules"][0]
    assert "alertname" not in rule["equal"] and set(rule["equal"]) == {"namespace", "model", "environment"}


def test_mlinfra_duplicates_of_chart_alerts_fire_first(make_plan):
    """The chart's KubePodCrashLooping, KubeHpaMaxedOut, KubeDeploymentReplicasMismatch hold 15 minutes."""
    alerts = {r["alert"]: r for g in build_rule_groups(make_plan()) for r in g["rules"] if "alert" in r}
    for ours in CHART_DUPLICATES:
        assert seconds(alerts[ours]["for"]) < 15 * 60, ours
        for label in {label for _, labels in CHART_DUPLICATES[ours] for label in labels} - {"namespace"}:
            assert label in alerts[ours]["expr"], f"{ours} does not carry {label}"


def test_no_secret_values_only_files(make_plan):
    plan = make_plan()
    text = json.dumps(build_alertmanager_config(plan))
    files = [v for v in _walk(build_alertmanager_config(plan)) if isinstance(v, str) and v.startswith("/")]
    assert files and all(f.startswith(ALERTMANAGER_SECRETS_DIR + "/mlinfra-alertmanager-notify/") for f in files)
    assert "api_url\"" not in text and "routing_key\"" not in text and "auth_password\"" not in text
    assert alertmanager_secret_keys(plan) == {
        "pagerdutyRoutingKey": "pagerdutyRoutingKey", "slackWebhookUrl": "slackWebhookUrl", "smtpPassword": "smtpPassword"
    }
    assert {f.rsplit("/", 1)[1] for f in files} == set(alertmanager_secret_keys(plan))


def test_placeholder_secret_and_real_values(make_plan):
    plan = make_plan()
    secret = build_alertmanager_secret(plan)
    assert secret["metadata"]["namespace"] == "monitoring"
    assert secret["stringData"] == {
        "pagerdutyRoutingKey": "<pulumi secret: pagerdutyRoutingKey>",
        "slackWebhookUrl": "<pulumi secret: slackWebhookUrl>",
        "smtpPassword": "<pulumi secret: smtpPassword>",
    }
    values = {"pagerdutyRoutingKey": "k1", "slackWebhookUrl": "k2", "smtpPassword": "k3"}
    assert build_alertmanager_secret(plan, values)["stringData"] == values


def test_secrets_dir_override_and_fast_timing(make_plan):
    config = build_alertmanager_config(make_plan(), FAST, secrets_dir="/tmp/e2e-secrets")
    assert config["receivers"][1]["pagerduty_configs"][0]["routing_key_file"] == (
        "/tmp/e2e-secrets/mlinfra-alertmanager-notify/pagerdutyRoutingKey"
    )
    assert (config["route"]["group_wait"], config["route"]["group_interval"]) == ("1s", "2s")


def test_without_receivers_everything_goes_nowhere(make_plan, with_monitoring):
    plan = with_monitoring(make_plan(), receivers=())
    config = build_alertmanager_config(plan)
    assert {r["receiver"] for r in config["route"]["routes"]} == {RECEIVER_NULL}
    assert config["receivers"] == [{"name": RECEIVER_NULL}]
    assert alertmanager_secret_keys(plan) == {} and build_alertmanager_secret(plan) is None


def test_smtp_password_only_when_email_is_used(make_plan, with_monitoring):
    plan = with_monitoring(make_plan(), receivers=(ReceiverSpec(type="webhook", name="hook", secret_key="hookUrl"),))
    assert alertmanager_secret_keys(plan) == {"hookUrl": "hookUrl"}
    assert "smtp_smarthost" not in build_alertmanager_config(plan)["global"]


def _walk(obj):
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _walk(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v)
    else:
        yield obj


def _shared(make_plan, with_monitoring, *pages: tuple[str, bool]):
    """The owner's plan (prod) routing the given environments, e.g. ("dev", False), ("prod", True)."""
    routed = tuple(RoutedEnvironment(name=n, alerts_page=p) for n, p in pages)
    return with_monitoring(make_plan(), routed_environments=routed)


def test_a_shared_alertmanager_routes_by_environment_then_severity(make_plan, with_monitoring):
    config = build_alertmanager_config(_shared(make_plan, with_monitoring, ("dev", False), ("prod", True)))
    critical, warning = 'severity="critical"', 'severity="warning"'
    assert config["route"]["routes"] == [
        {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": RECEIVER_NULL},
        {"matchers": ['environment="dev"'], "receiver": RECEIVER_NULL, "routes": [
            {"matchers": [critical], "receiver": RECEIVER_TICKET},
            {"matchers": [warning], "receiver": RECEIVER_TICKET},
        ]},
        {"matchers": ['environment="prod"'], "receiver": RECEIVER_NULL, "routes": [
            {"matchers": [critical], "receiver": RECEIVER_PAGE},
            {"matchers": [warning], "receiver": RECEIVER_TICKET},
        ]},
        # alerts of no routed environment (the chart's cluster alerts): the owner's policy
        {"matchers": [critical], "receiver": RECEIVER_PAGE},
        {"matchers": [warning], "receiver": RECEIVER_TICKET},
    ]
    assert [r["name"] for r in config["receivers"]] == [RECEIVER_NULL, RECEIVER_PAGE, RECEIVER_TICKET]
    single = build_alertmanager_config(make_plan())
    assert {k: v for k, v in config.items() if k != "route"} == {k: v for k, v in single.items() if k != "route"}, (
        "receivers, *_file secrets, SMTP and inhibit rules do not depend on how many environments are routed"
    )


def test_one_routed_environment_keeps_the_severity_tree(make_plan):
    routes = build_alertmanager_config(make_plan())["route"]["routes"]
    assert routes == [
        {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": RECEIVER_NULL},
        {"matchers": ['severity="critical"'], "receiver": RECEIVER_PAGE},
        {"matchers": ['severity="warning"'], "receiver": RECEIVER_TICKET},
    ]


def test_a_shared_alertmanager_of_a_non_paging_owner_has_no_paging_receiver(make_plan, with_monitoring):
    """staging owns a cluster shared with dev: nobody pages, so PagerDuty is not configured at all."""
    plan = with_monitoring(make_plan(environment="staging", tier="staging"), alerts_page=False)
    plan = with_monitoring(plan, routed_environments=(
        RoutedEnvironment(name="dev", alerts_page=False), RoutedEnvironment(name="staging", alerts_page=False)))
    config = build_alertmanager_config(plan)
    assert [r["name"] for r in config["receivers"]] == [RECEIVER_NULL, RECEIVER_TICKET]
    assert "pagerduty_configs" not in json.dumps(config)
    env_routes = [r for r in config["route"]["routes"] if "routes" in r]
    assert [r["matchers"] for r in env_routes] == [['environment="dev"'], ['environment="staging"']]


def test_a_paging_dev_pages_through_the_shared_alertmanager(make_plan, with_monitoring):
    """environments.dev.alerts_page: true is honoured by the owner's Alertmanager."""
    plan = with_monitoring(make_plan(), alerts_page=False)
    plan = with_monitoring(plan, routed_environments=(
        RoutedEnvironment(name="dev", alerts_page=True), RoutedEnvironment(name="prod", alerts_page=False)))
    config = build_alertmanager_config(plan)
    dev = next(r for r in config["route"]["routes"] if r["matchers"] == ['environment="dev"'])
    assert dev["routes"][0] == {"matchers": ['severity="critical"'], "receiver": RECEIVER_PAGE}
    assert config["route"]["routes"][-2] == {"matchers": ['severity="critical"'], "receiver": RECEIVER_TICKET}
    assert RECEIVER_PAGE in [r["name"] for r in config["receivers"]]
