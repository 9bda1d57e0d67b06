"""The rendered Prometheus rules pass the real promtool: `check rules` (syntax, lint) and `test rules` with unit
tests generated for every alert of every model (fires on breaching raw metrics, silent on healthy ones)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from rule_tests import build_rule_tests
from mlinfra.monitoring.timing import FAST, PRODUCTION
from mlinfra.files.dump import to_yaml
from mlinfra.targets.kubernetes.render import render_plan

pytestmark = pytest.mark.tools


def _write_rules(plan, timing, directory: Path) -> Path:
    files = {f.path: f.text for f in render_plan(plan, timing)}
    path = directory / "rules.yaml"
    path.write_text(files["prometheus/rules.yaml"])
    return path


def _promtool(promtool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.parametrize("timing", [PRODUCTION, FAST], ids=lambda t: t.name)
def test_rendered_rules_pass_promtool_check(monitoring_plan, timing, promtool, tmp_path):
    rules = _write_rules(monitoring_plan, timing, tmp_path)
    proc = _promtool(promtool, "check", "rules", str(rules))
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, f"promtool check rules:\n{proc.stdout}{proc.stderr}"


def _run_rule_tests(plan, timing, promtool, tmp_path) -> None:
    rules = _write_rules(plan, timing, tmp_path)
    tests = build_rule_tests(plan, rules.name, timing)
    alerts_in_rules = {
        (r["labels"]["model"], r["alert"])
        for g in yaml.safe_load(rules.read_text())["groups"]
        for r in g["rules"]
        if "alert" in r
    }
    tested = {(t["name"].split(" ")[1].rstrip(":"), t["alert_rule_test"][0]["alertname"]) for t in tests["tests"]}
    assert tested == alerts_in_rules, f"alerts without generated tests: {sorted(alerts_in_rules - tested)}"
    kinds = {t["name"].split(": ")[1] for t in tests["tests"]}
    assert {"fires on a breaching series", "silent on a healthy series"} <= kinds
    test_file = tmp_path / "rules.test.yaml"
    test_file.write_text(to_yaml(tests))
    proc = _promtool(promtool, "test", "rules", str(test_file))
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, f"promtool test rules:\n{proc.stdout[-6000:]}{proc.stderr}"


def test_every_alert_fires_and_stays_silent_fast_timing(monitoring_plan, promtool, tmp_path):
    _run_rule_tests(monitoring_plan, FAST, promtool, tmp_path)


def test_every_alert_fires_and_stays_silent_production_timing(monitoring_prod_plan, promtool, tmp_path):
    """Production clocks on each profile's prod environment (the other environments have the same rules)."""
    _run_rule_tests(monitoring_prod_plan, PRODUCTION, promtool, tmp_path)


def test_promtool_catches_a_wrong_expectation(monitoring_prod_plan, promtool, tmp_path):
    """The generated tests can fail: expect the alert on the healthy series and promtool must report it."""
    monitoring_plan = monitoring_prod_plan
    rules = _write_rules(monitoring_plan, FAST, tmp_path)
    tests = build_rule_tests(monitoring_plan, rules.name, FAST)
    case = next(t for t in tests["tests"] if t["name"].endswith("silent on a healthy series"))
    firing = next(t for t in tests["tests"] if t["name"].endswith("fires on a breaching series"))
    case["alert_rule_test"] = firing["alert_rule_test"]  # expect the alert on the healthy series
    tests["tests"] = [case]
    test_file = tmp_path / "wrong.test.yaml"
    test_file.write_text(to_yaml(tests))
    proc = _promtool(promtool, "test", "rules", str(test_file))
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "FAILED" in output and "got:[]" in output, f"promtool accepted it:\n{output}"


@pytest.mark.parametrize("latency_ms", [105, 200, 300], ids=lambda ms: f"{ms}ms")
def test_a_slo_between_bucket_edges_pages_only_past_the_edge_used(latency_ms, promtool, tmp_path):
    """MLServer's edges 100 and 250 ms, a 120 ms SLO: every request at 105 ms (under the SLO, interpolated to a
    p95 of 242 ms) or 200 ms (over the SLO, under the edge: indistinguishable) pages nothing; 300 ms pages."""
    import dataclasses

    from rule_tests import _series, expand, traffic

    from mlinfra.conventions import ALERT_LATENCY_FAST_BURN
    from mlinfra.profiles import load_profile
    from mlinfra.targets.registry import plan_for

    plan = plan_for(load_profile(str(Path(__file__).parents[1] / "e2e" / "profile.yaml")), "prod", "onprem-k8s")
    model = dataclasses.replace(plan.models[0], latency_p95_ms=120.0)
    plan = dataclasses.replace(plan, models=(model,))
    rules = _write_rules(plan, FAST, tmp_path)
    alerts = {r["alert"]: r for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"] if "alert" in r}
    critical = sorted(name for name, r in alerts.items() if r["labels"]["severity"] == "critical")
    labels = {"namespace": plan.namespace, "model": model.name, "environment": plan.environment}
    steps = 200
    series = traffic("mlserver", labels, ok=20.0, server_errors=0.0, client_errors=0.0, latency=latency_ms / 1000,
                     step=1, steps=steps) + [_series("up", {**labels, "job": "iris"}, f"1+0x{steps}")]
    pages = latency_ms > 250
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1s",
        "tests": [{
            "interval": "1s",
            "input_series": series,
            "alert_rule_test": [
                {"eval_time": "150s", "alertname": name,
                 "exp_alerts": [{"exp_labels": {**labels, "severity": "critical", "runtime": "mlserver"},
                                 "exp_annotations": {k: expand(v, 1.0, labels) for k, v in alerts[name]["annotations"].items()}}]
                 if pages and name == ALERT_LATENCY_FAST_BURN else []}
                for name in critical
            ],
        }],
    }
    assert ALERT_LATENCY_FAST_BURN in critical
    test_file = tmp_path / "edges.test.yaml"
    test_file.write_text(to_yaml(tests))
    proc = _promtool(promtool, "test", "rules", str(test_file))
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, f"promtool test rules:\n{proc.stdout[-4000:]}{proc.stderr}"
