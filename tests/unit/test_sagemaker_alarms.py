"""aws-sagemaker's CloudWatch alarms and dashboards as plain data, exact dicts (targets/aws_sagemaker/alarms.py,
dashboards.py): the Kubernetes alerts' thresholds, windows and severities on SageMaker's metrics."""

from __future__ import annotations

import json

import pytest
from sagemaker_profile import lab_data

from mlinfra.monitoring.rules import HOLD, SEVERITY
from mlinfra.monitoring.runtime_metrics import FAST_BURN, SLOW_BURN
from mlinfra.profiles import profile_from_data
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.alarms import build_alarms, evaluation_periods
from mlinfra.targets.aws_sagemaker.dashboards import build_dashboard, dashboard_body
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan

RUNBOOKS = "https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md"
SCORER = {"EndpointName": "sm-lab-prod-scorer", "VariantName": "AllTraffic"}


def _plan(env="prod", **patch):
    profile = profile_from_data(lab_data(**patch))
    return sagemaker_plan(profile, AwsSageMaker().plan(profile, env))


def _alarms(env="prod", model="scorer", **patch):
    sm = _plan(env, **patch)
    spec = next(s for s in sm.endpoints if s.model == model)
    return {a.key: a for a in build_alarms(sm, spec)}


def test_the_rules_windows_are_the_ones_mapped():
    """The alarms follow monitoring/rules.py: 14.4x over 1h/5m or 6x over 6h/30m page; 3x over 1d/2h or 1x over
    3d/6h make a ticket (if these change, the alarms change with them)."""
    assert FAST_BURN == ((3600, 300, 14.4), (21600, 1800, 6.0)) and SLOW_BURN == ((86400, 7200, 3.0), (259200, 21600, 1.0))
    assert (SEVERITY["MLModelErrorBudgetFastBurn"], SEVERITY["MLModelErrorBudgetSlowBurn"]) == ("critical", "warning")
    assert (HOLD["MLModelLatencyHigh"], HOLD["MLModelNoTraffic"], HOLD["MLModelDriftHigh"]) == (600, 600, 1800)
    assert (evaluation_periods(300, 600), evaluation_periods(3600, 600), evaluation_periods(300, 1800)) == (3, 2, 7)


def test_one_endpoints_alarms_in_order():
    assert list(_alarms()) == [
        "MLModelLatencyHigh",
        "MLModelErrorBudgetFastBurn-14.4x-1h", "MLModelErrorBudgetFastBurn-14.4x-5m",
        "MLModelErrorBudgetFastBurn-6x-6h", "MLModelErrorBudgetFastBurn-6x-30m", "MLModelErrorBudgetFastBurn",
        "MLModelErrorBudgetSlowBurn-3x-1d", "MLModelErrorBudgetSlowBurn-3x-2h",
        "MLModelErrorBudgetSlowBurn-1x-3d", "MLModelErrorBudgetSlowBurn-1x-6h", "MLModelErrorBudgetSlowBurn",
        "MLModelNoTraffic",
    ]


def test_latency_is_p95_of_model_latency_in_microseconds():
    alarm = _alarms()["MLModelLatencyHigh"]
    assert (alarm.kind, alarm.severity) == ("metric", "critical")
    assert alarm.args == {
        "name": "sm-lab-prod-scorer-MLModelLatencyHigh",
        "alarm_description": (
            "scorer (prod, endpoint sm-lab-prod-scorer): p95 model latency above the 250 ms SLO for 3 periods of 5m. "
            f"Runbook: {RUNBOOKS}#mlmodellatencyhigh"
        ),
        "namespace": "AWS/SageMaker",
        "metric_name": "ModelLatency",
        "dimensions": SCORER,
        "extended_statistic": "p95",
        "period": 300,
        "evaluation_periods": 3,
        "datapoints_to_alarm": 3,
        "comparison_operator": "GreaterThanThreshold",
        "threshold": 250_000,  # microseconds
        "treat_missing_data": "notBreaching",
    }


def test_a_burn_window_is_a_metric_math_condition_without_actions():
    alarm = _alarms()["MLModelErrorBudgetFastBurn-14.4x-1h"]
    assert (alarm.kind, alarm.severity, alarm.notifies, alarm.metric_count()) == ("metric", None, False, 2)

    def metric(qid, name):
        return {"id": qid, "return_data": False, "metric": {
            "namespace": "AWS/SageMaker", "metric_name": name, "dimensions": SCORER, "period": 3600, "stat": "Sum"}}

    assert alarm.args == {
        "name": "sm-lab-prod-scorer-MLModelErrorBudgetFastBurn-14.4x-1h",
        "alarm_description": (
            "scorer (prod, endpoint sm-lab-prod-scorer): server-error ratio over 1h > 0.072 (14.4 x the error budget "
            "0.005); a condition of sm-lab-prod-scorer-MLModelErrorBudgetFastBurn, which notifies."
        ),
        "metric_queries": [
            metric("errors", "Invocation5XXErrors"),
            metric("invocations", "Invocations"),
            {"id": "ratio", "expression": "FILL(errors, 0) / invocations", "label": "server-error ratio", "return_data": True},
        ],
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "comparison_operator": "GreaterThanThreshold",
        "threshold": 0.072,
        "treat_missing_data": "notBreaching",
    }
    assert _alarms()["MLModelErrorBudgetSlowBurn-1x-3d"].args["metric_queries"][0]["metric"]["period"] == 259200


def test_the_composite_alarm_pairs_long_and_short_windows_and_notifies():
    alarms = _alarms()
    fast, slow = alarms["MLModelErrorBudgetFastBurn"], alarms["MLModelErrorBudgetSlowBurn"]
    assert (fast.kind, fast.severity, slow.severity, fast.metric_count()) == ("composite", "critical", "warning", 0)
    e = "sm-lab-prod-scorer-MLModelErrorBudgetFastBurn"
    assert fast.args == {
        "alarm_name": e,
        "alarm_description": (
            "scorer (prod, endpoint sm-lab-prod-scorer): server errors burn the error budget 0.005 (availability SLO "
            f"0.995); at this rate a 30-day budget is gone in under 5 days. Runbook: {RUNBOOKS}#mlmodelerrorbudgetfastburn"
        ),
        "alarm_rule": f'(ALARM("{e}-14.4x-1h") AND ALARM("{e}-14.4x-5m")) OR (ALARM("{e}-6x-6h") AND ALARM("{e}-6x-30m"))',
    }
    thresholds = {k: a.args["threshold"] for k, a in alarms.items() if "Burn-" in k}
    assert thresholds == {
        "MLModelErrorBudgetFastBurn-14.4x-1h": 0.072, "MLModelErrorBudgetFastBurn-14.4x-5m": 0.072,
        "MLModelErrorBudgetFastBurn-6x-6h": 0.03, "MLModelErrorBudgetFastBurn-6x-30m": 0.03,
        "MLModelErrorBudgetSlowBurn-3x-1d": 0.015, "MLModelErrorBudgetSlowBurn-3x-2h": 0.015,
        "MLModelErrorBudgetSlowBurn-1x-3d": 0.005, "MLModelErrorBudgetSlowBurn-1x-6h": 0.005,
    }


def test_a_burn_factor_above_every_error_is_capped_at_one():
    model = {**lab_data()["models"][0], "slo": {"latency_p95_ms": 250, "availability": 0.91}}  # budget 0.09
    alarm = _alarms(models=[model])["MLModelErrorBudgetFastBurn-14.4x-1h"]  # 14.4 x 0.09 > 1
    assert (alarm.args["comparison_operator"], alarm.args["threshold"]) == ("GreaterThanOrEqualToThreshold", 1.0)


def test_no_traffic_uses_an_hour_below_a_tenth_of_a_request_per_second():
    fast, slow = _alarms()["MLModelNoTraffic"], _alarms(model="ranker")["MLModelNoTraffic"]
    assert slow.args == {
        "name": "sm-lab-prod-ranker-MLModelNoTraffic",
        "alarm_description": (
            "ranker (prod, endpoint sm-lab-prod-ranker): no invocations in 2 periods of 1h; it is expected to serve "
            f"about 0.05 requests/s on average. Runbook: {RUNBOOKS}#mlmodelnotraffic"
        ),
        "namespace": "AWS/SageMaker",
        "metric_name": "Invocations",
        "dimensions": {"EndpointName": "sm-lab-prod-ranker", "VariantName": "AllTraffic"},
        "statistic": "Sum",
        "period": 3600,
        "evaluation_periods": 2,
        "datapoints_to_alarm": 2,
        "comparison_operator": "LessThanThreshold",
        "threshold": 1.0,
        "treat_missing_data": "breaching",
    }
    assert (fast.args["period"], fast.args["evaluation_periods"], fast.severity) == (300, 3, "warning")


def test_no_traffic_alarm_only_when_traffic_is_expected():
    model = {**lab_data()["models"][0], "traffic": {"average_rps": 0, "peak_rps": 3}}
    assert "MLModelNoTraffic" not in _alarms(models=[model])


def test_drift_adds_no_alarm_on_a_metric_nothing_publishes():
    """MLModelDriftHigh is the Model Monitor schedule's violations rule (test_sagemaker_model_monitor.py), not an
    alarm on a drift score: nothing on SageMaker publishes one."""
    drift = _alarms(monitoring={**lab_data()["monitoring"], "drift": True})
    assert {a.alert for a in drift.values()} == {
        "MLModelLatencyHigh", "MLModelErrorBudgetFastBurn", "MLModelErrorBudgetSlowBurn", "MLModelNoTraffic",
        "MLModelPodsNotReady",  # drift makes the endpoint real-time (capture), so its instances are counted
    }
    assert all(a.args.get("namespace") in (None, "AWS/SageMaker", "/aws/sagemaker/Endpoints") for a in drift.values())


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_severities_route_to_topics_and_dev_never_pages(env):
    sm = _plan(env)
    routed = {a.severity: sm.notifications.routes[a.severity] for s in sm.endpoints for a in build_alarms(sm, s) if a.notifies}
    assert routed == ({"critical": "page", "warning": "ticket"} if env == "prod" else {"critical": "ticket", "warning": "ticket"})


def test_dashboard_of_a_serverless_and_a_real_time_endpoint():
    sm = _plan()
    scorer, ranker = sm.endpoints
    board = build_dashboard(sm, scorer, build_alarms(sm, scorer))
    text, requests, ratio, latency, cold = board["widgets"]
    assert text["properties"]["markdown"].startswith(
        "# scorer (prod)\nEndpoint `sm-lab-prod-scorer`: Serverless, 2048 MB, up to 1 concurrent invocations, 1 provisioned. "
        "SLO: p95 latency 250 ms, availability 99.5 %."
    )
    assert "`sm-lab-prod-scorer-MLModelErrorBudgetFastBurn`" in text["properties"]["markdown"]
    assert "FastBurn-14.4x-1h" not in text["properties"]["markdown"], "conditions are not listed, notifying alarms are"
    assert {w["properties"]["region"] for w in board["widgets"][1:]} == {"eu-west-1"}
    assert requests["properties"]["metrics"][0] == [
        "AWS/SageMaker", "Invocations", "EndpointName", "sm-lab-prod-scorer", "VariantName", "AllTraffic",
        {"label": "invocations"},
    ]
    assert ratio["properties"]["annotations"] == {"horizontal": [{"label": "error budget", "value": 0.005}]}
    assert latency["properties"]["annotations"] == {"horizontal": [{"label": "p95 SLO", "value": 250}]}
    assert latency["properties"]["metrics"][4] == [{"id": "p95ms", "expression": "p95 / 1000", "label": "p95 (ms)"}]
    assert cold["properties"]["title"] == "Cold starts: model setup time (ms)"
    instances = build_dashboard(sm, ranker, build_alarms(sm, ranker))["widgets"][-1]
    assert instances["properties"]["title"] == "Instances: CPU and memory (%)"
    assert instances["properties"]["metrics"][0][:2] == ["/aws/sagemaker/Endpoints", "CPUUtilization"]
    body = dashboard_body(sm, scorer, build_alarms(sm, scorer))
    assert json.loads(body) == board and body == dashboard_body(sm, scorer, build_alarms(sm, scorer))


def test_instances_that_stop_reporting_alarm_only_where_there_are_instances():
    ranker = _alarms(model="ranker")["MLModelPodsNotReady"]
    assert ranker.args | {"alarm_description": ""} == {
        "name": "sm-lab-prod-ranker-MLModelPodsNotReady", "alarm_description": "",
        "namespace": "/aws/sagemaker/Endpoints", "metric_name": "CPUUtilization",
        "dimensions": {"EndpointName": "sm-lab-prod-ranker", "VariantName": "AllTraffic"},
        "statistic": "SampleCount", "period": 300,
        "evaluation_periods": evaluation_periods(300, HOLD["MLModelPodsNotReady"]),
        "datapoints_to_alarm": evaluation_periods(300, HOLD["MLModelPodsNotReady"]),
        "comparison_operator": "LessThanThreshold", "threshold": 1.0, "treat_missing_data": "breaching",
    }
    assert ranker.severity == SEVERITY["MLModelPodsNotReady"]
    assert "MLModelPodsNotReady" not in _alarms(model="scorer"), "a Serverless endpoint has no instances to count"


def test_an_asynchronous_endpoint_counts_requests_by_model_latency_samples():
    """Asynchronous endpoints publish no Invocations: the error ratio's denominator and the no-traffic alarm
    read ModelLatency's sample count instead."""
    batcher = {**lab_data()["models"][0], "name": "batcher", "slo": {"latency_p95_ms": 120_000, "availability": 0.99}}
    alarms = _alarms(model="batcher", models=[batcher])
    condition = next(a for key, a in alarms.items() if key.startswith("MLModelErrorBudgetFastBurn-"))
    invocations = next(q for q in condition.args["metric_queries"] if q["id"] == "invocations")["metric"]
    assert (invocations["metric_name"], invocations["stat"]) == ("ModelLatency", "SampleCount")
    quiet = alarms["MLModelNoTraffic"].args
    assert (quiet["metric_name"], quiet["statistic"]) == ("ModelLatency", "SampleCount")
    assert "MLModelPodsNotReady" in alarms
