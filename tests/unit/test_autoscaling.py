"""Autoscaling on requests: the KEDA ScaledObject per model, its trigger and bounds, scale to zero in dev, where
KEDA comes from, and the alerts that know a model asleep. (The query through promtool and the ScaledObject
against its CRD: tests/tools/test_autoscaling_tools.py.)"""

from __future__ import annotations

import math

import pytest

from profile_data import ADVISOR_LLM as LLM
from profile_data import DEV_SCHEDULE as SCHEDULE
from profile_data import LOAN_DESK, changed

from mlinfra.conventions import ALERT_MODEL_DOWN, ALERT_NO_TRAFFIC, RECORD_REQUESTS_WAITING
from mlinfra.manifests import build_model_objects
from mlinfra.manifests.autoscaling import (
    QUEUE_SHARE_OF_SLO,
    REQUESTS_RECORD,
    prometheus_url,
    scaled_object,
    target_per_replica,
)
from mlinfra.monitoring.objects import build_monitoring_network_policy
from mlinfra.monitoring.rules import HOLD, build_rule_groups
from mlinfra.monitoring.runtime_metrics import REQUEST_WINDOWS, requests_record
from mlinfra.planning.scaling import SCALE_TO_ZERO_MAX_STARTUP_S, scales_to_zero
from mlinfra.profiles import ProfileError, profile_from_data
from mlinfra.runtimes.catalog import RUNTIMES
from mlinfra.targets.registry import plan_for


def plan_of(env="prod", **changes):
    return plan_for(profile_from_data(changed(LOAN_DESK, **changes)), env, "onprem-k8s")


def by_kind(plan, model):
    return {o["kind"]: o for o in build_model_objects(plan, model)}


def test_scaled_object_scales_on_requests_per_replica_with_a_cpu_floor():
    plan = plan_of()
    scorer = plan.models[0]
    assert scorer.capacity_rps_per_replica > 0
    objs = by_kind(plan, scorer)
    assert "HorizontalPodAutoscaler" not in objs, "KEDA creates the HPA; a second one would fight it"
    assert objs["ScaledObject"] == {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": objs["Deployment"]["metadata"],
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scorer"},
            "minReplicaCount": 3,
            "maxReplicaCount": 9,
            "pollingInterval": 30,
            "triggers": [
                {
                    "type": "prometheus",
                    "name": "requests",
                    "metricType": "AverageValue",
                    "metadata": {
                        "serverAddress": "http://kube-prometheus-stack-prometheus.monitoring.svc:9090",
                        "query": 'sum(mlinfra:model_requests:rate5m{namespace="loan-desk-prod", model="scorer", '
                                 'environment="prod"})',
                        "threshold": format(scorer.capacity_rps_per_replica, ".10g"),
                    },
                },
                {"type": "cpu", "name": "cpu-floor", "metricType": "Utilization",
                 "metadata": {"value": "60", "containerName": "server"}},
            ],
        },
    }


def test_the_replicas_at_maximum_alert_reads_the_hpa_that_scales_the_model():
    def saturated(plan):
        return next(r["expr"] for g in build_rule_groups(plan) for r in g["rules"]
                    if r.get("alert") == "MLModelReplicasAtMax" and r["labels"]["model"] == "scorer")

    assert 'horizontalpodautoscaler="keda-hpa-scorer"' in saturated(plan_of())  # KEDA's, named after the ScaledObject
    assert 'horizontalpodautoscaler="scorer"' in saturated(plan_of(**{"autoscaling.metric": "cpu"}))


def test_the_trigger_reads_the_normalised_request_rate_the_rules_record():
    assert REQUESTS_RECORD == requests_record(REQUEST_WINDOWS[0])
    plan = plan_of()
    records = {r["record"] for g in build_rule_groups(plan) for r in g["rules"] if "record" in r}
    assert REQUESTS_RECORD in records
    assert prometheus_url() == "http://kube-prometheus-stack-prometheus.monitoring.svc:9090"


def test_a_tight_latency_slo_lowers_the_cpu_floor_and_the_capacity_target():
    loose, tight = plan_of().models[0], plan_of(**{"models.0.slo.latency_p95_ms": 45}).models[0]
    assert tight.capacity_rps_per_replica < loose.capacity_rps_per_replica
    cpu = scaled_object(plan_of(**{"models.0.slo.latency_p95_ms": 45}), tight)["spec"]["triggers"][1]
    assert cpu["metadata"]["value"] == "45"


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
@pytest.mark.parametrize("bounds", [None, {"min_replicas": 2, "max_replicas": 5}, {"min_replicas": 4}])
def test_replicas_stay_within_the_environments_bounds(env, bounds):
    data = changed(LOAN_DESK, environments={"dev": None, "staging": None, "prod": None})
    if bounds:
        data["environments"][env] = bounds
    plan = plan_for(profile_from_data(data), env, "onprem-k8s")
    for model in plan.models:
        spec = scaled_object(plan, model)["spec"]
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (model.min_replicas, model.max_replicas)
        if bounds and "max_replicas" in bounds:
            assert spec["maxReplicaCount"] <= bounds["max_replicas"]
        if bounds:
            assert spec["minReplicaCount"] >= bounds["min_replicas"]
        # what the HPA would ask for at the model's own peak: within the bounds, never beyond them
        threshold = float(spec["triggers"][0]["metadata"]["threshold"])
        peak = model.peak_rps * model.traffic_share
        desired = min(spec["maxReplicaCount"], max(spec["minReplicaCount"], math.ceil(peak / threshold)))
        assert spec["minReplicaCount"] <= desired <= spec["maxReplicaCount"]


def test_an_llm_scales_on_requests_waiting_per_replica():
    plan = plan_of(models=[LOAN_DESK["models"][0], LLM])
    advisor = plan.models[1]
    assert RUNTIMES[advisor.runtime].waiting_metric == "vllm:num_requests_waiting"
    trigger = scaled_object(plan, advisor)["spec"]["triggers"][0]
    assert trigger["name"] == "requests-waiting"
    assert trigger["metadata"]["query"] == (
        f'sum({RECORD_REQUESTS_WAITING}{{namespace="loan-desk-prod", model="advisor", environment="prod"}})')
    # Little's law: W waiting requests wait W / capacity seconds; at most QUEUE_SHARE_OF_SLO of the p95 SLO
    expected = max(1, math.floor(advisor.capacity_rps_per_replica * 9.5 * QUEUE_SHARE_OF_SLO))
    assert float(trigger["metadata"]["threshold"]) == target_per_replica(advisor) == expected
    rules = [r for g in build_rule_groups(plan) for r in g["rules"] if r.get("record") == RECORD_REQUESTS_WAITING]
    assert rules == [{
        "record": RECORD_REQUESTS_WAITING,
        "expr": 'sum by (namespace, model, environment) (vllm:num_requests_waiting{namespace="loan-desk-prod", '
                'model="advisor"})',
        "labels": {"runtime": "vllm"},
    }]


def test_cpu_metric_keeps_the_hpa_and_installs_no_keda():
    plan = plan_of(**{"autoscaling.metric": "cpu"})
    assert "HorizontalPodAutoscaler" in by_kind(plan, plan.models[0])
    assert not plan.autoscaling.install_keda
    ports = [p["port"] for rule in build_monitoring_network_policy(plan)["spec"]["ingress"] for p in rule.get("ports", [])]
    assert 9090 not in ports, "no KEDA: nobody outside the monitoring namespace queries Prometheus"


def test_keda_is_installed_by_the_owner_of_the_monitoring_stack_only():
    data = changed(LOAN_DESK, environments={"dev": None, "prod": None})
    profile = profile_from_data(data)
    prod, dev = plan_for(profile, "prod", "onprem-k8s"), plan_for(profile, "dev", "onprem-k8s")
    assert prod.monitoring.owns_stack and prod.autoscaling.install_keda
    assert not dev.monitoring.owns_stack and not dev.autoscaling.install_keda
    existing = plan_for(profile_from_data(changed(data, **{"autoscaling.keda": "existing"})), "prod", "onprem-k8s")
    assert not existing.autoscaling.install_keda
    keda_rule = {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "keda"}}}],
                 "ports": [{"protocol": "TCP", "port": 9090}]}
    assert keda_rule in build_monitoring_network_policy(prod)["spec"]["ingress"]


def test_dev_scales_to_zero_outside_its_schedule_only_where_the_runtime_starts_in_time():
    assert SCALE_TO_ZERO_MAX_STARTUP_S == HOLD[ALERT_MODEL_DOWN], "waking up must not page"
    data = changed(LOAN_DESK, **{"autoscaling.dev_schedule": SCHEDULE})
    dev = plan_for(profile_from_data(data), "dev", "onprem-k8s")
    scorer, reader = dev.models  # MLServer (starts within the hold) and Triton (does not)
    assert RUNTIMES[scorer.runtime].startup_seconds <= SCALE_TO_ZERO_MAX_STARTUP_S < RUNTIMES[reader.runtime].startup_seconds
    assert scales_to_zero(dev, scorer) and not scales_to_zero(dev, reader)
    spec = scaled_object(dev, scorer)["spec"]
    assert spec["idleReplicaCount"] == 0 < spec["minReplicaCount"]
    assert spec["triggers"][-1] == {"type": "cron", "name": "schedule", "metadata": {
        "timezone": "Europe/Vienna", "start": "30 7 * * 1-5", "end": "15 18 * * 1-5",
        "desiredReplicas": str(spec["minReplicaCount"])}}
    assert "idleReplicaCount" not in scaled_object(dev, reader)["spec"]
    prod = plan_for(profile_from_data(data), "prod", "onprem-k8s")
    assert not any(scales_to_zero(prod, m) for m in prod.models), "the schedule is dev's only"


def test_alerts_of_a_model_asleep_know_it_is_asleep():
    data = changed(LOAN_DESK, **{"autoscaling.dev_schedule": SCHEDULE, "environments.dev": {"traffic_share": 0.04}})
    dev = plan_for(profile_from_data(data), "dev", "onprem-k8s")
    alerts = {(r["labels"]["model"], r["alert"]): r["expr"] for g in build_rule_groups(dev) for r in g["rules"]
              if "alert" in r}
    asleep = ' unless on() (kube_deployment_spec_replicas{namespace="loan-desk-dev", deployment="scorer"} == 0)'
    for alert in (ALERT_MODEL_DOWN, ALERT_NO_TRAFFIC):
        assert alerts[("scorer", alert)].endswith(asleep), alert
        assert alerts[("scorer", alert)].startswith("(")
        assert "unless on() (kube_deployment_spec_replicas" not in alerts[("doc-reader", alert)]
    plain = plan_for(profile_from_data(changed(data, **{"autoscaling.dev_schedule": None})), "dev", "onprem-k8s")
    exprs = [r["expr"] for g in build_rule_groups(plain) for r in g["rules"] if "alert" in r]
    assert not any("== 0)" in e and "unless on() (kube_deployment_spec_replicas" in e for e in exprs)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        pytest.param({"autoscaling.metric": "cpu", "autoscaling.dev_schedule": SCHEDULE},
                     "autoscaling.dev_schedule is set but autoscaling.metric is 'cpu'", id="schedule-needs-keda"),
        pytest.param({"autoscaling.dev_schedule": {**SCHEDULE, "timezone": "Mars/Olympus"}},
                     "is not an IANA time zone", id="timezone"),
        pytest.param({"autoscaling.dev_schedule": {**SCHEDULE, "start": "at eight"}},
                     "must be a cron expression of 5 fields", id="cron"),
        pytest.param({"autoscaling.metric": "memory"}, "autoscaling.metric", id="metric-enum"),
        pytest.param({"autoscaling.keda": "maybe"}, "autoscaling.keda", id="keda-enum"),
    ],
)
def test_profile_errors_name_the_field(changes, message):
    with pytest.raises(ProfileError) as err:
        profile_from_data(changed(LOAN_DESK, **changes))
    assert message in str(err.value)
