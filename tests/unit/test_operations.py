"""The Operations section: per model its owner, contact, where its alerts go per environment and severity (the
same receivers amtool proves in tests/tools/test_amtool_owners.py), runbook, escalation and dashboards - in the
decision record and the scaffolded README, deterministic."""

from __future__ import annotations

from pathlib import Path

import yaml

from mlinfra.decision.adr import render_adr
from mlinfra.monitoring.operations import AlertRoute, operations
from mlinfra.profiles import profile_from_data
from mlinfra.scaffold.context import build_context
from mlinfra.scaffold.render import render_template
from mlinfra.targets.registry import get_target
from mlinfra.targets.resolve import decision_for

ROOT = Path(__file__).resolve().parents[2]


def owned_profile():
    data = yaml.safe_load((ROOT / "stacks" / "profile.yaml").read_text())
    data["models"].append({**data["models"][0], "name": "upsell"})
    data["models"][0]["owner"] = "churn-ds"
    data["models"][1]["owner"] = "growth"
    data["owners"] = {
        "churn-ds": {"contact": "Churn DS | #churn-ds", "notify": [
            {"type": "pagerduty", "routing_key_secret": "churnPd"}, {"type": "email", "to": "churn-ds@example.com"}]},
        "growth": {"contact": "growth@example.com", "notify": [{"type": "email", "to": "growth@example.com"}]},
    }
    data["monitoring"]["runbook_url"] = "https://wiki.example.com/ml/runbooks"
    return profile_from_data(data)


def test_each_model_says_who_answers_and_where_its_alerts_go():
    churn, upsell = operations(owned_profile(), lambda env, model: f"board {env}/{model}")
    assert (churn.model, churn.owner, churn.contact) == ("churn", "churn-ds", "Churn DS | #churn-ds")
    assert churn.routes == (
        AlertRoute("dev", False, "churn-ds-ticket (email)", "churn-ds-ticket (email)"),
        AlertRoute("staging", False, "churn-ds-ticket (email)", "churn-ds-ticket (email)"),
        AlertRoute("prod", True, "churn-ds-page (pagerduty), mlinfra-page (slack)", "churn-ds-ticket (email)"),
    )
    assert churn.escalation == "churn-ds-ticket (email) -> churn-ds-page (pagerduty) -> mlinfra-page (slack)"
    assert churn.runbook == "https://wiki.example.com/ml/runbooks#mlmodeldown"
    assert churn.dashboards == (("dev", "board dev/churn"), ("staging", "board staging/churn"),
                                ("prod", "board prod/churn"))
    # an owner without a paging receiver: its tickets, then the platform's page
    assert upsell.escalation == "growth-ticket (email) -> mlinfra-page (slack)"
    assert upsell.routes[2].critical == "growth-ticket (email), mlinfra-page (slack)"


def test_without_owners_the_platform_answers():
    data = yaml.safe_load((ROOT / "stacks" / "profile.yaml").read_text())
    data["team"] = {"name": "data-platform"}
    [churn] = operations(profile_from_data(data))
    assert (churn.owner, churn.contact, churn.dashboards) == (None, "data-platform (platform team)", ())
    assert churn.escalation == "mlinfra-ticket (email, slack) -> mlinfra-page (slack)"


def test_the_record_and_the_readme_carry_the_section_deterministically():
    profile = owned_profile()
    decision = decision_for(profile)
    target = get_target(decision.target)
    dashboards = lambda env, model: target.dashboard(profile, env, model)  # noqa: E731
    adr = render_adr(decision, profile, dashboard_of=dashboards)
    assert adr == render_adr(decision, profile, dashboard_of=dashboards)
    section = adr.split("\n## Operations\n", 1)[1]
    assert "### churn\n\n- Owner: `churn-ds`; contact: Churn DS \\| #churn-ds\n" in section
    assert "| prod | yes | churn-ds-page (pagerduty), mlinfra-page (slack) | churn-ds-ticket (email) |" in section
    assert "- Escalation: growth-ticket (email) -> mlinfra-page (slack)" in section
    assert f"prod: {target.dashboard(profile, 'prod', 'upsell')}" in section
    readme = render_template("README.md.j2", build_context(profile, target))
    operations_part = readme.split("\n## Operations\n", 1)[1].split("\n## ", 1)[0]
    assert "### upsell" in operations_part and "- Runbook: https://wiki.example.com/ml/runbooks#mlmodeldown" in operations_part
    assert "| prod | yes | growth-ticket (email), mlinfra-page (slack) | growth-ticket (email) |" in operations_part
    assert "contact: Churn DS \\| #churn-ds" in operations_part


def test_targets_say_where_the_dashboards_are():
    profile = owned_profile()
    assert get_target("aws-sagemaker").dashboard(profile, "prod", "churn") == (
        "CloudWatch dashboard 'churn-scoring-prod-churn' in eu-central-1")
    assert get_target("onprem-k8s").dashboard(profile, "prod", "churn") == (
        "Grafana dashboard 'churn-scoring / prod / churn' (uid mlinfra-churn-scoring-prod-churn)")
