"""The ScaledObjects through the real validators: KEDA's CRD schema, promtool on their trigger queries, and a
promtool rule test that a synthetic load on the runtimes' raw metrics reaches the trigger as the expected value
(raw series -> the plan's recording rules -> the trigger query), from which KEDA's HPA picks the replicas."""

from __future__ import annotations

import copy
import math
import subprocess
from pathlib import Path

import pytest
import yaml

from profile_data import ADVISOR_LLM as LLM
from profile_data import DEV_SCHEDULE as SCHEDULE
from profile_data import LOAN_DESK, changed

from mlinfra.files.dump import to_yaml
from mlinfra.manifests import build_model_objects
from mlinfra.manifests.autoscaling import trigger_query
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.timing import PRODUCTION
from mlinfra.profiles import profile_from_data
from mlinfra.targets.registry import plan_for

pytestmark = pytest.mark.tools


def plans():
    data = changed(LOAN_DESK, models=[*LOAN_DESK["models"], LLM], **{"autoscaling.dev_schedule": SCHEDULE})
    profile = profile_from_data(data)
    return [plan_for(profile, env, "onprem-k8s") for env in ("dev", "prod")]


def scaled_objects(plan):
    return [o for m in plan.models for o in build_model_objects(plan, m) if o["kind"] == "ScaledObject"]


@pytest.mark.parametrize("env", [0, 1], ids=["dev-scale-to-zero", "prod"])
def test_scaled_objects_match_kedas_crd_schema(env, crd_validate):
    objects = scaled_objects(plans()[env])
    assert len(objects) == 3
    for obj in objects:
        assert crd_validate(obj) == [], obj["metadata"]["name"]


def test_the_crd_check_can_fail(crd_validate):
    obj = copy.deepcopy(scaled_objects(plans()[1])[0])
    obj["spec"]["minReplicaCount"] = "three"
    obj["spec"]["triggers"][0]["metadata"]["threshold"] = 36.0  # KEDA reads trigger metadata as strings
    problems = crd_validate(obj)
    assert any("minReplicaCount" in p for p in problems) and any("threshold" in p for p in problems), problems


def test_trigger_queries_pass_promtool(promtool, tmp_path):
    """Each trigger query as a recording rule: promtool parses it and checks the record's name."""
    rules = [{"record": f"mlinfra:test_trigger_{i}", "expr": trigger_query(plan, m)}
             for i, (plan, m) in enumerate((p, m) for p in plans() for m in p.models)]
    path = tmp_path / "triggers.yaml"
    path.write_text(to_yaml({"groups": [{"name": "triggers", "rules": rules}]}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    path.write_text(to_yaml({"groups": [{"name": "t", "rules": [{"record": "x", "expr": "sum(rate(x[5m])"}]}]}))
    broken = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert broken.returncode != 0, "promtool accepted a broken query"


def _labels(plan, model, **extra) -> str:
    labels = {"namespace": plan.namespace, "model": model.name, "environment": plan.environment, **extra}
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


def test_a_synthetic_load_reaches_the_trigger_as_the_expected_value(promtool, tmp_path):
    """3 scorer pods at 2.5, 1.5 and 3 requests/s (MLServer's raw counter, with the noise the rules must drop:
    readiness checks) and 2 advisor pods with 5 and 8 requests waiting (vLLM's gauge): the trigger queries
    read 7 requests/s and 13 waiting requests through the plan's own recording rules."""
    plan = plans()[1]
    scorer, advisor = plan.models[0], plan.models[2]
    assert (scorer.runtime, advisor.runtime) == ("mlserver", "vllm")
    step = PRODUCTION.evaluation_interval
    series = []
    for pod, rps in (("scorer-7d9f-a1", 2.5), ("scorer-7d9f-b2", 1.5), ("scorer-7d9f-c3", 3)):
        infer = _labels(plan, scorer, pod=pod, path="/v2/models/{model_name}/infer", status_code="200", method="POST")
        ready = _labels(plan, scorer, pod=pod, path="/v2/models/{model_name}/ready", status_code="200", method="GET")
        series.append({"series": f"rest_server_requests_total{infer}", "values": f"0+{rps * step:g}x60"})
        series.append({"series": f"rest_server_requests_total{ready}", "values": f"0+{9 * step:g}x60"})
    for pod, waiting in (("advisor-5c4b-d4", 5), ("advisor-5c4b-e5", 8)):
        series.append({"series": f"vllm:num_requests_waiting{_labels(plan, advisor, pod=pod, model_name='advisor')}",
                       "values": f"{waiting}x60"})
    rules = tmp_path / "rules.yaml"
    rules.write_text(to_yaml({"groups": build_rule_groups(plan)}))
    expected = {scorer.name: 7.0, advisor.name: 13.0}
    tests = {
        "rule_files": [str(rules)],
        "evaluation_interval": f"{step}s",
        "tests": [{
            "interval": f"{step}s",
            "input_series": series,
            "promql_expr_test": [
                {"expr": trigger_query(plan, m), "eval_time": "20m", "exp_samples": [{"labels": "{}", "value": value}]}
                for m in (scorer, advisor) for value in [expected[m.name]]
            ],
        }],
    }
    path = tmp_path / "tests.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # and a wrong expectation fails: the test can tell
    tests["tests"][0]["promql_expr_test"][0]["exp_samples"][0]["value"] = 7.5
    path.write_text(yaml.safe_dump(tests, sort_keys=False))
    wrong = subprocess.run([promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=120)
    assert wrong.returncode != 0, "promtool accepted a wrong trigger value"

    # KEDA's HPA (AverageValue): desired = ceil(value / threshold), within the ScaledObject's bounds
    for model in (scorer, advisor):
        spec = next(o for o in build_model_objects(plan, model) if o["kind"] == "ScaledObject")["spec"]
        threshold = float(spec["triggers"][0]["metadata"]["threshold"])
        desired = min(spec["maxReplicaCount"], max(spec["minReplicaCount"], math.ceil(expected[model.name] / threshold)))
        assert model.min_replicas <= desired <= model.max_replicas


def test_asleep_alerts_pass_promtool(promtool, tmp_path):
    """The dev rules with a model that scales to zero (its alerts carry `unless on() (...)`) pass promtool."""
    path = Path(tmp_path) / "dev.yaml"
    path.write_text(to_yaml({"groups": build_rule_groups(plans()[0])}))
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
