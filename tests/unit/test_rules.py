"""Rule groups: exact alert dicts for a hand-built plan, thresholds from the SLO, timing changes clocks only."""

from __future__ import annotations

import re

import pytest
from drift_data import drift_spec

from mlinfra.conventions import (
    ALERT_CRASH_LOOPING,
    ALERT_DRIFT_HIGH,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_FAST_BURN,
    ALERT_LATENCY_SLOW_BURN,
    ALERT_MODEL_DOWN,
    ALERT_NO_TRAFFIC,
    ALERT_NOT_READY,
    ALERT_SATURATED,
)
from mlinfra.monitoring.rules import build_rule_groups, burn_thresholds
from mlinfra.monitoring.runtime_metrics import latency_edge
from mlinfra.monitoring.timing import FAST, PRODUCTION, format_duration


def _alerts(groups):
    return {(r["labels"]["model"], r["alert"]): r for g in groups for r in g["rules"] if "alert" in r}


def test_latency_is_a_budget_burned_by_requests_slower_than_the_slo_edge(make_plan):
    rule = _alerts(build_rule_groups(make_plan()))[("churn", ALERT_LATENCY_FAST_BURN)]
    sel = 'namespace="churn-scoring-prod", model="churn", environment="prod"'
    assert rule == {
        "alert": ALERT_LATENCY_FAST_BURN,
        "expr": f"(mlinfra:model_latency_slow_ratio:rate1h{{{sel}}} > 0.72 and "
        f"mlinfra:model_latency_slow_ratio:rate5m{{{sel}}} > 0.72) or "
        f"(mlinfra:model_latency_slow_ratio:rate6h{{{sel}}} > 0.3 and mlinfra:model_latency_slow_ratio:rate30m{{{sel}}} > 0.3)",
        "for": "2m",
        "labels": {"severity": "critical", "namespace": "churn-scoring-prod", "model": "churn", "environment": "prod"},
        "annotations": {
            "summary": "churn (prod): latency budget burning fast",
            "description": "{{ $value | humanizePercentage }} of requests to model churn in prod took longer than "
            "250 ms; the p95 SLO allows 5 %. At this rate a 30-day budget is gone in under 5 days.",
            "runbook_url": "https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md#mlmodellatencybudgetfastburn",
        },
    }


def test_no_alert_reads_an_interpolated_quantile(make_plan):
    """histogram_quantile interpolates inside a bucket: the p50/p95/p99 records are for dashboards only."""
    for rule in _alerts(build_rule_groups(make_plan())).values():
        assert "latency_p95" not in rule["expr"] and "histogram_quantile" not in rule["expr"], rule["alert"]


@pytest.mark.parametrize(
    ("runtime", "slo_ms", "le", "note"),
    [
        pytest.param("mlserver", 250.0, 'le="0.25"', None, id="mlserver-on-edge"),
        pytest.param("mlserver", 120.0, 'le="0.25"', "between mlserver's latency bucket edges 100 ms and 250 ms",
                     id="mlserver-between-edges-upper-edge"),
        pytest.param("mlserver", 1000.0, 'le=~"1|1\\\\.0"', None, id="mlserver-integer-edge-either-spelling"),
        pytest.param("triton", 250.0, 'nv_inference_first_response_histogram_ms_bucket{namespace="churn-scoring-prod", '
                     'model="churn", le=~"500|500\\\\.0"}', "measured at 500 ms", id="triton-ms-histogram"),
        pytest.param("mlserver", 30000.0, 'le=~"10|10\\\\.0"', "above mlserver's largest latency bucket edge",
                     id="beyond-the-largest-edge"),
    ],
)
def test_slow_ratio_reads_the_bucket_edge_of_the_slo(runtime, slo_ms, le, note, make_plan, make_model):
    model = make_model(runtime=runtime, latency_p95_ms=slo_ms)
    groups = build_rule_groups(make_plan(models=(model,)))
    records = {r["record"]: r["expr"] for g in groups for r in g["rules"] if "record" in r}
    assert le in records["mlinfra:model_latency_slow_ratio:rate5m"]
    assert records["mlinfra:model_latency_slow_ratio:rate5m"].startswith("1 - sum by (namespace, model, environment)")
    text = latency_edge(runtime, slo_ms).note
    assert (text is None) if note is None else (note in text), text


def test_slo_group_records_the_30_day_budgets(make_plan):
    groups = build_rule_groups(make_plan())
    slo = next(g for g in groups if g["name"].endswith(".slo"))
    assert slo["interval"] == "5m"
    sel = 'namespace="churn-scoring-prod", model="churn", environment="prod"'
    assert slo["rules"] == [
        {"record": "mlinfra:model_error_ratio:rate30d", "labels": {"model": "churn"},
         "expr": f"sum_over_time(mlinfra:model_error_ratio:rate5m{{{sel}}}[30d]) / "
                 f"count_over_time(mlinfra:model_error_ratio:rate5m{{{sel}}}[30d])"},
        {"record": "mlinfra:model_error_budget_remaining:rate30d", "labels": {"model": "churn"},
         "expr": f"1 - mlinfra:model_error_ratio:rate30d{{{sel}}} / 0.005"},
        {"record": "mlinfra:model_latency_slow_ratio:rate30d", "labels": {"model": "churn"},
         "expr": f"sum_over_time(mlinfra:model_latency_slow_ratio:rate5m{{{sel}}}[30d]) / "
                 f"count_over_time(mlinfra:model_latency_slow_ratio:rate5m{{{sel}}}[30d])"},
        {"record": "mlinfra:model_latency_budget_remaining:rate30d", "labels": {"model": "churn"},
         "expr": f"1 - mlinfra:model_latency_slow_ratio:rate30d{{{sel}}} / 0.05"},
    ]


def test_a_model_down_pages_when_replicas_targets_or_the_sli_are_gone(make_plan):
    rule = _alerts(build_rule_groups(make_plan()))[("churn", ALERT_MODEL_DOWN)]
    sel = 'namespace="churn-scoring-prod", model="churn", environment="prod"'
    dep = 'namespace="churn-scoring-prod", deployment="churn"'
    assert rule["expr"] == (
        f"max(absent(up{{{sel}}} == 1) or absent(mlinfra:model_requests:rate5m{{{sel}}}) or "
        f"(kube_deployment_spec_replicas{{{dep}}} > 0 and on(namespace, deployment) "
        f"kube_deployment_status_replicas_available{{{dep}}} == 0))"
    )
    assert rule["labels"]["severity"] == "critical" and rule["for"] == "5m"
    assert rule["annotations"]["runbook_url"].endswith("#mlmodeldown")


def test_not_ready_waits_for_a_rollout_within_the_runtime_startup_time(make_plan, make_model):
    triton = make_model(runtime="triton", framework="onnx")  # startup_seconds 600
    rule = _alerts(build_rule_groups(make_plan(models=(triton,))))[("churn", ALERT_NOT_READY)]
    assert rule["expr"].endswith(
        'unless on(namespace, deployment) changes(kube_deployment_status_replicas_updated'
        '{namespace="churn-scoring-prod", deployment="churn"}[10m]) > 0'
    )


def test_burn_rates_follow_the_availability_slo(make_plan):
    alerts = _alerts(build_rule_groups(make_plan()))
    fast = alerts[("churn", ALERT_ERROR_BUDGET_FAST_BURN)]["expr"]
    slow = alerts[("churn", ALERT_ERROR_BUDGET_SLOW_BURN)]["expr"]
    # availability 0.995 -> budget 0.005: 14.4x = 0.072 (1h & 5m), 6x = 0.03 (6h & 30m), 3x = 0.015, 1x = 0.005
    assert re.findall(r"error_ratio:rate(\w+)\{[^}]*\} > ([0-9.]+)", fast) == [
        ("1h", "0.072"), ("5m", "0.072"), ("6h", "0.03"), ("30m", "0.03")
    ]
    assert re.findall(r"error_ratio:rate(\w+)\{[^}]*\} > ([0-9.]+)", slow) == [
        ("1d", "0.015"), ("2h", "0.015"), ("3d", "0.005"), ("6h", "0.005")
    ]
    assert alerts[("churn", ALERT_ERROR_BUDGET_FAST_BURN)]["labels"]["severity"] == "critical"
    assert alerts[("churn", ALERT_ERROR_BUDGET_SLOW_BURN)]["labels"]["severity"] == "warning"


def test_burn_threshold_above_100_percent_is_capped():
    # availability 0.92 -> budget 0.08: 14.4x = 1.152 cannot be exceeded; the condition becomes ">= 1"
    assert burn_thresholds(0.08, ((3600, 300, 14.4), (21600, 1800, 6.0))) == [
        (3600, 300, ">=", "1"), (21600, 1800, ">", "0.48")
    ]


@pytest.mark.parametrize(
    ("overrides", "drift", "present", "absent"),
    [
        pytest.param({"drift": drift_spec()}, True, {ALERT_NO_TRAFFIC, ALERT_SATURATED, ALERT_DRIFT_HIGH}, set(),
                     id="all"),
        pytest.param({}, True, {ALERT_NO_TRAFFIC}, {ALERT_DRIFT_HIGH}, id="no-drift-monitor"),
        pytest.param({"average_rps": 0.0}, True, {ALERT_SATURATED}, {ALERT_NO_TRAFFIC}, id="no-traffic-expected"),
        pytest.param({"min_replicas": 3, "max_replicas": 3}, True, {ALERT_NO_TRAFFIC}, {ALERT_SATURATED}, id="fixed-replicas"),
        pytest.param({}, False, {ALERT_NO_TRAFFIC}, {ALERT_DRIFT_HIGH}, id="drift-off"),
    ],
)
def test_optional_alerts(overrides, drift, present, absent, make_plan, make_model, with_monitoring):
    plan = with_monitoring(make_plan(models=(make_model(**overrides),)), drift=drift)
    names = {name for _, name in _alerts(build_rule_groups(plan))}
    always = {ALERT_MODEL_DOWN, ALERT_LATENCY_FAST_BURN, ALERT_LATENCY_SLOW_BURN, ALERT_ERROR_BUDGET_FAST_BURN, ALERT_ERROR_BUDGET_SLOW_BURN, ALERT_CRASH_LOOPING, ALERT_NOT_READY}
    assert always | present <= names and not (absent & names), names


def test_low_traffic_model_judges_silence_over_an_hour(make_plan, make_model):
    plan = make_plan(models=(make_model(average_rps=0.05, peak_rps=1.0),))
    assert "mlinfra:model_requests:rate1h{" in _alerts(build_rule_groups(plan))[("churn", ALERT_NO_TRAFFIC)]["expr"]


def test_recording_groups_per_runtime_scoped_to_namespace_and_models(make_plan, make_model):
    models = (
        make_model(),
        make_model(name="ranker", k8s_name="ranker", runtime="mlserver"),
        make_model(name="chat", k8s_name="chat", runtime="vllm", framework="llm", latency_p95_ms=8000.0),
    )
    groups = build_rule_groups(make_plan(models=models))
    assert [g["name"] for g in groups] == [
        "mlinfra.churn-scoring-prod.mlserver.recording",
        "mlinfra.churn-scoring-prod.vllm.recording",
        "mlinfra.churn-scoring-prod.slo",
        "mlinfra.churn-scoring-prod.alerts",
    ]
    for rule in groups[0]["rules"]:
        assert 'namespace="churn-scoring-prod", model=~"churn|ranker"' in rule["expr"], rule
        assert rule["labels"] == {"runtime": "mlserver"}
    for rule in groups[1]["rules"]:  # vLLM's http_requests_total only on its completion handlers, its model only
        assert 'model="chat"' in rule["expr"] and ("http_requests_total" not in rule["expr"] or "handler=~" in rule["expr"])
    assert 'status_code=~"5.."' in groups[0]["rules"][2]["expr"], "only 5xx burn the budget"


def _shape(text: str) -> str:
    """An expression with every range window and number replaced, to compare structures."""
    return re.sub(r"\[[0-9smhd]+\]", "[W]", text)


def test_fast_timing_changes_clocks_not_expressions(make_plan):
    plan = make_plan()
    prod, fast = build_rule_groups(plan, PRODUCTION), build_rule_groups(plan, FAST)
    assert [g["interval"] for g in prod] == ["30s", "5m", "30s"] and [g["interval"] for g in fast] == ["1s", "5s", "1s"]
    for p_group, f_group in zip(prod, fast, strict=True):
        for p, f in zip(p_group["rules"], f_group["rules"], strict=True):
            assert _shape(p["expr"]) == _shape(f["expr"])
            assert p.get("record") == f.get("record") and p.get("labels") == f.get("labels")
            assert p.get("annotations") == f.get("annotations")
    fast_alerts, prod_alerts = _alerts(fast), _alerts(prod)
    assert prod_alerts[("churn", ALERT_LATENCY_SLOW_BURN)]["for"] == "15m"
    assert fast_alerts[("churn", ALERT_LATENCY_SLOW_BURN)]["for"] == "15s"
    assert "[1m]" in next(r["expr"] for r in fast[0]["rules"] if r["record"] == "mlinfra:model_error_ratio:rate1h")


@pytest.mark.parametrize(("seconds", "text"), [(86400, "1d"), (7200, "2h"), (90, "90s"), (300, "5m"), (4320, "72m")])
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


def test_every_alert_links_an_existing_runbook_heading(make_plan, make_model, repo_root):
    headings = {
        line[3:].strip().lower() for line in (repo_root / "docs" / "runbooks.md").read_text().splitlines()
        if line.startswith("## ")
    }
    for rule in _alerts(build_rule_groups(make_plan(models=(make_model(drift=drift_spec()),)))).values():
        anchor = rule["annotations"]["runbook_url"].split("#", 1)[1]
        assert anchor in headings, f"{rule['alert']}: docs/runbooks.md has no heading '## {rule['alert']}'"


def _profile(environments):
    from mlinfra.profiles.load import profile_from_data

    return profile_from_data({
        "version": 1, "name": "churn-scoring", "environments": environments,
        "models": [{"name": "churn", "framework": "sklearn", "artifact": "s3://models/churn/v3",
                    "traffic": {"average_rps": 40, "peak_rps": 90}, "slo": {"latency_p95_ms": 250, "availability": 0.995}}],
        "onprem": {"kube_context": "lab"},
    })


@pytest.mark.parametrize(
    ("environments", "expected"),
    [
        pytest.param(["dev", "staging", "prod"], {"dev": None, "staging": None, "prod": 40.0}, id="idle-dev-and-staging-never-alert"),
        pytest.param({"dev": None, "staging": {"traffic_share": 0.5}, "prod": {"traffic_share": 0}},
                     {"dev": None, "staging": 20.0, "prod": None}, id="explicit-shares"),
    ],
)
def test_no_traffic_alerting_follows_the_environment_traffic(environments, expected):
    from mlinfra.targets.registry import plan_for

    profile = _profile(environments)
    for env, rps in expected.items():
        plan = plan_for(profile, env, "onprem-k8s")
        rule = _alerts(build_rule_groups(plan)).get(("churn", ALERT_NO_TRAFFIC))
        if rps is None:
            assert rule is None, f"{env}: an environment without continuous traffic alerts on silence"
        else:
            assert f"expected to serve about {rps:g} requests/s" in rule["annotations"]["description"], env


def test_traffic_share_feeds_cost_planning_too():
    from mlinfra.planning.sizing import traffic_share
    from mlinfra.profiles.environments import TRAFFIC_SHARE, resolve_environment

    profile = _profile({"dev": None, "staging": {"traffic_share": 0.5}})
    assert traffic_share(resolve_environment(profile, "dev")) == TRAFFIC_SHARE["dev"] == 0.05
    assert traffic_share(resolve_environment(profile, "staging")) == 0.5
