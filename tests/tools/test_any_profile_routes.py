"""Any valid profile's Alertmanager config passes the real amtool, and every alert its rules can raise takes the
route the Operations section says it takes (monitoring.alertmanager.receivers_of_model_alert): the owner's for a
model's own alerts of an owned model, the platform's otherwise - for profiles nobody wrote, owners included."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles

from mlinfra.files.dump import to_yaml
from mlinfra.monitoring.alertmanager import build_alertmanager_config, receivers_of_model_alert
from mlinfra.monitoring.rules import OWNER_ALERTS, build_rule_groups
from mlinfra.planning.plan import PlanError
from mlinfra.profiles import profile_from_data
from mlinfra.targets.registry import plan_for

pytestmark = pytest.mark.tools


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=profiles())
def test_routes_of_any_profile_pass_amtool_and_match_the_operations_section(amtool, tmp_path_factory, data):
    profile = profile_from_data(data)
    target = "onprem-k8s" if profile.onprem else "aws-eks"
    try:
        plans = {env: plan_for(profile, env, target) for env in profile.environment_names}
    except PlanError:  # a clear refusal (e.g. oidc without security.oidc)
        return
    for owner_plan in (p for p in plans.values() if p.monitoring.owns_stack):
        path = tmp_path_factory.mktemp("am") / "alertmanager.yaml"
        path.write_text(to_yaml(build_alertmanager_config(owner_plan)))
        check = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        owners = {o.name: o for o in owner_plan.monitoring.owners}
        for routed in owner_plan.monitoring.routed_environments:
            plan = plans[routed.name]
            seen = set()
            for rule in (r for g in build_rule_groups(plan) for r in g["rules"] if "alert" in r):
                labels = {**rule["labels"], "alertname": rule["alert"]}
                key = (labels["model"], rule["alert"] in OWNER_ALERTS, labels["severity"])
                if key in seen:
                    continue
                seen.add(key)
                owner = owners.get(labels.get("owner", ""))
                assert (owner is not None) == (rule["alert"] in OWNER_ALERTS and plan.models[0].owner is not None)
                expected = receivers_of_model_alert(plan.monitoring.receivers, owner, routed.alerts_page,
                                                    labels["severity"]) or ["null"]
                args = [amtool, "config", "routes", "test", f"--config.file={path}",
                        *(f"{k}={v}" for k, v in sorted(labels.items()))]
                got = subprocess.run(args, capture_output=True, text=True, timeout=60)
                assert got.returncode == 0, got.stdout + got.stderr
                assert got.stdout.strip().split(",") == expected, (routed.name, labels)
