"""Model owners' routes, proved by the real amtool (0.28) on the config the planner and builder produce for a
profile with four owners and five models, on a cluster its three environments share: every owner x severity x
environment, with the labels the rendered rules give each alert.

Expected receivers are written out per owner, not derived from the code under test:
- fraud-ds (PagerDuty + email): pages itself in prod (and the platform's mlinfra-page too), tickets elsewhere;
- ranking (Slack only, which both pages and tickets);
- forecasting (email only): its critical alerts are its tickets, and in prod the platform pages as well;
- search (PagerDuty only): where nothing pages it has no receiver, so its alerts fall to the platform's routes.
The platform (monitoring.notify: email + Slack) gets every alert without an owner label.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from mlinfra.conventions import RECEIVER_NULL, RECEIVER_PAGE, RECEIVER_TICKET
from mlinfra.files.dump import to_yaml
from mlinfra.monitoring.alertmanager import alert_routes, build_alertmanager_config
from mlinfra.monitoring.rules import OWNER_ALERTS, build_rule_groups
from mlinfra.profiles.model import Profile
from mlinfra.targets.registry import plan_for

pytestmark = pytest.mark.tools

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {
    "fraud-ds": {"contact": "Fraud data science, fraud-ds@example.com", "notify": [
        {"type": "pagerduty", "routing_key_secret": "fraudPagerDuty"}, {"type": "email", "to": "fraud-ds@example.com"}]},
    "ranking": {"contact": "#ranking", "notify": [{"type": "slack", "webhook_secret": "rankingSlack", "channel": "#ranking"}]},
    "forecasting": {"contact": "forecast@example.com", "notify": [{"type": "email", "to": "forecast@example.com"}]},
    "search": {"contact": "search on-call", "notify": [{"type": "pagerduty", "routing_key_secret": "searchPagerDuty"}]},
}
MODELS = {"fraud": "fraud-ds", "fraud-lite": "fraud-ds", "ranker": "ranking", "demand": "forecasting", "query": "search"}
# (owner, environment tier pages?, severity) -> the receivers amtool must name, in order
PAGES, NO_PAGING = True, False
EXPECTED = {
    ("fraud-ds", PAGES, "critical"): ["fraud-ds-page", RECEIVER_PAGE],
    ("fraud-ds", PAGES, "warning"): ["fraud-ds-ticket"],
    ("fraud-ds", NO_PAGING, "critical"): ["fraud-ds-ticket"],
    ("fraud-ds", NO_PAGING, "warning"): ["fraud-ds-ticket"],
    ("ranking", PAGES, "critical"): ["ranking-page", RECEIVER_PAGE],
    ("ranking", PAGES, "warning"): ["ranking-ticket"],
    ("ranking", NO_PAGING, "critical"): ["ranking-ticket"],
    ("ranking", NO_PAGING, "warning"): ["ranking-ticket"],
    ("forecasting", PAGES, "critical"): ["forecasting-ticket", RECEIVER_PAGE],
    ("forecasting", PAGES, "warning"): ["forecasting-ticket"],
    ("forecasting", NO_PAGING, "critical"): ["forecasting-ticket"],
    ("forecasting", NO_PAGING, "warning"): ["forecasting-ticket"],
    ("search", PAGES, "critical"): ["search-page", RECEIVER_PAGE],
    ("search", PAGES, "warning"): ["search-page"],
    ("search", NO_PAGING, "critical"): [RECEIVER_TICKET],  # nothing of its own: the platform's
    ("search", NO_PAGING, "warning"): [RECEIVER_TICKET],
    (None, PAGES, "critical"): [RECEIVER_PAGE],  # the platform's own (pod-level tickets, the chart's alerts)
    (None, PAGES, "warning"): [RECEIVER_TICKET],
    (None, NO_PAGING, "critical"): [RECEIVER_TICKET],
    (None, NO_PAGING, "warning"): [RECEIVER_TICKET],
}


def owners_profile() -> Profile:
    data = yaml.safe_load((ROOT / "stacks" / "profile.yaml").read_text())
    base = data["models"][0]
    data["models"] = [{**base, "name": name, "owner": owner} for name, owner in MODELS.items()]
    data["owners"] = OWNERS
    return Profile.model_validate(data)


@pytest.fixture(scope="module")
def owner_plan():
    return plan_for(owners_profile(), "prod", "onprem-k8s")  # prod owns the stack all three environments share


def _config_file(amtool: str, config: dict, directory) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "alertmanager.yaml"
    path.write_text(to_yaml(config))
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, f"amtool check-config:\n{proc.stdout}{proc.stderr}"
    return str(path)


def _receivers(amtool: str, path: str, labels: dict[str, str]) -> list[str]:
    args = [amtool, "config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in sorted(labels.items()))]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"amtool routes test {labels}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip().split(",")


@pytest.mark.parametrize("target", ["onprem-k8s", "aws-eks"])
def test_every_owner_severity_and_environment_routes_as_documented(target, amtool, tmp_path):
    """On premise the three environments share prod's Alertmanager; on EKS each environment has its own."""
    profile = owners_profile()
    plans = {env: plan_for(profile, env, target) for env in profile.environment_names}
    owners_of_stacks = [p for p in plans.values() if p.monitoring.owns_stack]
    assert len(owners_of_stacks) == (1 if target == "onprem-k8s" else 3)
    seen = set()
    for stack in owners_of_stacks:
        path = _config_file(amtool, build_alertmanager_config(stack), tmp_path / stack.environment)
        for env in stack.monitoring.routed_environments:
            rules = [r for g in build_rule_groups(plans[env.name]) for r in g["rules"] if "alert" in r]
            # one alert of each (model, owned?, severity): the labels exactly as the rendered rule carries them
            picked = {(r["labels"]["model"], r["alert"] in OWNER_ALERTS, r["labels"]["severity"]): r for r in rules}
            for (model, owned, severity), rule in sorted(picked.items()):
                labels = {**rule["labels"], "alertname": rule["alert"]}
                owner = MODELS[model] if owned else None
                assert labels.get("owner") == owner, f"{rule['alert']} of {model}: owner label {labels.get('owner')}"
                expected = EXPECTED[(owner, env.alerts_page, severity)]
                got = _receivers(amtool, path, labels)
                assert got == expected, f"{env.name} {rule['alert']} ({severity}) of {model}"
                seen.add((owner, env.alerts_page, severity))
            for severity in ("critical", "warning"):  # the chart's alerts about the environment's namespace
                labels = {"alertname": "KubeDeploymentReplicasMismatch", "severity": severity, "namespace": env.namespace}
                assert _receivers(amtool, path, labels) == EXPECTED[(None, env.alerts_page, severity)], (env.name, severity)
                seen.add((None, env.alerts_page, severity))
    assert seen == set(EXPECTED), f"not exercised: {sorted(set(EXPECTED) - seen, key=str)}"


def test_owner_receivers_hold_the_owner_integrations_and_pagerduty_only_where_it_pages(owner_plan, amtool, tmp_path):
    config = build_alertmanager_config(owner_plan)
    _config_file(amtool, config, tmp_path)
    integrations = {r["name"]: sorted(k for k in r if k.endswith("_configs")) for r in config["receivers"]}
    assert integrations == {
        RECEIVER_NULL: [],
        RECEIVER_PAGE: ["slack_configs"],
        RECEIVER_TICKET: ["email_configs", "slack_configs"],
        "fraud-ds-page": ["pagerduty_configs"],
        "fraud-ds-ticket": ["email_configs"],
        "ranking-page": ["slack_configs"],
        "ranking-ticket": ["slack_configs"],
        "forecasting-ticket": ["email_configs"],
        "search-page": ["pagerduty_configs"],
    }
    # an environment that does not page (dev, alone on its own Alertmanager) configures no PagerDuty at all
    dev = plan_for(owners_profile(), "dev", "onprem-k8s")
    dev_config = build_alertmanager_config(dev)
    _config_file(amtool, dev_config, tmp_path)
    assert "pagerduty_configs" not in to_yaml(dev_config)
    leaves = alert_routes(config)
    assert [leaf for leaf in leaves if leaf.get("continue")] and all(
        leaf["matchers"][-1] == 'severity="critical"' and leaf["receiver"].endswith(("-page", "-ticket"))
        for leaf in leaves if leaf.get("continue")
    )


def test_a_drill_can_read_each_owner_route_from_the_config(owner_plan):
    """Every leaf's joined matchers are equalities (but the muted alerts'), so they are the labels that take it."""
    for leaf in alert_routes(build_alertmanager_config(owner_plan)):
        if leaf["receiver"] == RECEIVER_NULL:
            continue
        assert all('="' in m and "=~" not in m and "!=" not in m for m in leaf["matchers"]), leaf
