"""Any valid profile's alert rules pass promtool: `check rules`, and `test rules` with the unit tests generated
for every alert (fires on a breach, silent when healthy) - for profiles nobody wrote, every runtime included."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles

from rule_tests import build_rule_tests
from mlinfra.monitoring.timing import FAST
from mlinfra.planning.plan import PlanError
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import profile_from_data
from mlinfra.files.dump import to_yaml
from mlinfra.targets.kubernetes.render import render_plan

pytestmark = pytest.mark.tools


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(data=profiles())
def test_rules_of_any_profile_pass_promtool(promtool, tmp_path_factory, data):
    profile = profile_from_data(data)
    env = profile.environment_names[-1]
    try:
        plan = plan_for(profile, env, "onprem-k8s" if profile.onprem else "aws-eks")
        files = render_plan(plan, FAST)
    except PlanError:  # a clear refusal (e.g. oidc without security.oidc: the gate needs its issuer)
        return
    directory = tmp_path_factory.mktemp("rules")
    rules = directory / "rules.yaml"
    rules.write_text(next(f.text for f in files if f.path == "prometheus/rules.yaml"))
    tests = directory / "rules.test.yaml"
    tests.write_text(to_yaml(build_rule_tests(plan, rules.name, FAST)))
    for args in (["check", "rules", str(rules)], ["test", "rules", str(tests)]):
        proc = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300, check=False)
        report = f"promtool {' '.join(args[:2])}:\n{proc.stdout[-4000:]}{proc.stderr}"
        assert proc.returncode == 0 and "SUCCESS" in proc.stdout, report
