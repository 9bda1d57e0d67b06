"""Dashboards: one per model, deterministic uid, SLO as threshold line, GPU panel only for GPU models."""

from __future__ import annotations

import json

from mlinfra.monitoring.dashboards import build_dashboard
from mlinfra.monitoring.objects import build_dashboard_configmap, dashboard_json


def _panels(dashboard):
    return {p["title"]: p for p in dashboard["panels"]}


def test_panels_and_slo_lines(make_plan):
    plan = make_plan()
    dashboard = build_dashboard(plan, plan.models[0])
    panels = _panels(dashboard)
    assert list(panels) == ["Request rate", "Server-error ratio", "Latency", "Slow requests", "30-day budgets left",
                            "Replicas", "CPU", "Memory"]
    latency = panels["Latency"]
    assert [t["legendFormat"] for t in latency["targets"]] == ["p50", "p95", "p99"]
    assert latency["fieldConfig"]["defaults"]["thresholds"]["steps"][-1] == {"color": "red", "value": 0.25}
    assert latency["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] == {"mode": "line"}
    assert panels["Server-error ratio"]["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 0.005
    assert 'mlinfra:model_latency_p95_seconds:rate5m{namespace="churn-scoring-prod", model="churn", environment="prod"}' in (
        latency["targets"][1]["expr"]
    )
    assert [p["id"] for p in dashboard["panels"]] == list(range(1, 9))
    assert len({(p["gridPos"]["x"], p["gridPos"]["y"]) for p in dashboard["panels"]}) == 8, "panels overlap"
    slow = panels["Slow requests"]
    assert slow["fieldConfig"]["defaults"]["thresholds"]["steps"][-1]["value"] == 0.05
    assert "slower than 250 ms" in slow["description"]
    assert slow["targets"][0]["expr"] == (
        'sum(mlinfra:model_latency_slow_ratio:rate5m{namespace="churn-scoring-prod", model="churn", environment="prod"})'
    )


def test_uid_is_stable_and_distinct(make_plan, make_model):
    plan = make_plan(models=(make_model(), make_model(name="ranker", k8s_name="ranker")))
    uids = [build_dashboard(plan, m)["uid"] for m in plan.models]
    assert uids == ["mlinfra-churn-scoring-prod-churn", "mlinfra-churn-scoring-prod-ranker"]
    long = make_plan(profile_name="a-very-long-profile-name-for-dashboards", models=(make_model(name="x" * 30, k8s_name="x" * 30),))
    uid = build_dashboard(long, long.models[0])["uid"]
    assert len(uid) <= 40 and uid == build_dashboard(long, long.models[0])["uid"]


def test_gpu_panel_only_for_gpu_models(make_plan, make_model):
    plan = make_plan(models=(make_model(gpus=2, gpu_type="l4"),))
    panels = _panels(build_dashboard(plan, plan.models[0]))
    assert "GPU utilisation" in panels and "2 x l4" in panels["GPU utilisation"]["description"]


def test_configmap_carries_the_same_json_with_the_sidecar_label(make_plan):
    plan = make_plan()
    cm = build_dashboard_configmap(plan, plan.models[0])
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["data"] == {"churn.json": dashboard_json(plan, plan.models[0])}
    assert json.loads(cm["data"]["churn.json"])["title"] == "churn-scoring / prod / churn"
