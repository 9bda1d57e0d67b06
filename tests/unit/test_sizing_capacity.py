"""Sizing from a measured capacity (models[].capacity) and from the framework default, and where the decision
says which one it used."""

from __future__ import annotations

import pytest

from profile_data import LOAN_DESK, changed

from mlinfra.planning.sizing import (
    TARGET_UTILISATION,
    capacity_assumption,
    capacity_rps,
    service_seconds,
    size_model,
)
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.profiles.load import ProfileError
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.registry import plan_for
from mlinfra.targets.resolve import decision_for

# scorer: lightgbm, resources.cpu 1.5, SLO p95 170 ms, peak 130 req/s
MEASURED = {
    "rps_per_replica": 83.0, "concurrency": 6, "p95_ms": 141.0, "measured_on": "2026-11-19",
    "cpu": "AMD EPYC 7R13 Processor", "cores": 2, "runtime": "mlserver 1.7.1",
}


def scorer(**capacity):
    """LOAN_DESK with a measured capacity for scorer (MEASURED with `capacity`'s changes)."""
    return profile_from_data(changed(LOAN_DESK, **{"models.0.capacity": {**MEASURED, **capacity}}))


def test_without_capacity_the_framework_default_is_used_and_said_to_be_assumed():
    model = profile_from_data(LOAN_DESK).models[0]
    assert capacity_rps(model) == 36.0  # lightgbm 40 req/s per core x 1.5 cores x 0.6
    assert capacity_assumption(model) == (
        "scorer: 36 req/s per replica assumed, not measured (lightgbm default 40 req/s per core x 1.5 cores x 0.6 "
        "utilisation); `mlinfra calibrate` measures it"
    )


def test_measured_capacity_at_the_replicas_cores_is_taken_at_the_target_utilisation():
    model = profile_from_data(changed(LOAN_DESK, **{"models.0.resources.cpu": 2,
                                                    "models.0.capacity": MEASURED})).models[0]
    assert capacity_rps(model) == round(83.0 * TARGET_UTILISATION, 4) == 49.8
    assert service_seconds(model) == round(2 / 83.0, 6)  # the replica's cores over its measured requests/s
    assert capacity_assumption(model) == (
        "scorer: 49.8 req/s per replica = 83 req/s measured (models[].capacity, 2026-11-19, mlserver 1.7.1 on 2 cores "
        "of AMD EPYC 7R13 Processor, p95 141 ms at 6 in flight) x 0.6 target utilisation"
    )


def test_measured_capacity_on_other_cores_is_scaled_linearly_and_says_so():
    model = scorer().models[0]  # measured on 2 cores, the replica has 1.5
    assert capacity_rps(model) == round(83.0 * 1.5 / 2 * TARGET_UTILISATION, 4) == 37.35
    assert "x 0.75 (resources.cpu 1.5 / 2 cores, scaled linearly: an approximation" in capacity_assumption(model)


def test_replicas_follow_the_measured_capacity():
    default, measured = profile_from_data(LOAN_DESK), scorer(rps_per_replica=260.0, cores=1)
    prod = resolve_environment(default, "prod")
    # peak 130 x 1.2 headroom = 156 req/s: 156 / 36 -> 5 replicas by default; measured 260 x 1.5 x 0.6 = 234 -> 1
    assert size_model(default.models[0], prod).replicas_for_peak == 5
    assert size_model(measured.models[0], prod).replicas_for_peak == 1
    plan = plan_for(measured, "prod", "onprem-k8s")
    assert plan.models[0].capacity_rps_per_replica == 234.0


def test_the_decision_lists_where_each_models_capacity_comes_from():
    decision = decision_for(scorer(rps_per_replica=260.0, cores=1))
    first, second = decision.assumptions[:2]
    assert first.startswith("scorer: 234 req/s per replica = 260 req/s measured (models[].capacity, 2026-11-19")
    assert second.startswith("doc-reader: 240 req/s per replica assumed, not measured (pytorch default 200 req/s per "
                             "GPU x 2 GPUs x 0.6 utilisation)")


def test_sagemaker_invocations_per_instance_follow_the_measured_capacity():
    data = changed(LOAN_DESK, **{"models.0.capacity": {**MEASURED, "rps_per_replica": 260.0, "cores": 1}})
    profile = profile_from_data({**data, "models": data["models"][:1], "onprem": None})  # SageMaker reads s3:// only
    plan = sagemaker_plan(profile, plan_for(profile, "prod", "aws-sagemaker"))
    assert [e.invocations_per_instance for e in plan.endpoints] == [round(234.0 * 60, 2)]


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        pytest.param({"p95_ms": 171.0}, "capacity.p95_ms (171) is above slo.latency_p95_ms (170)", id="p95-above-slo"),
        pytest.param({"rps_per_replica": 0.0}, "models[0].capacity.rps_per_replica: input should be greater than 0 (got 0.0)", id="zero-rps"),
        pytest.param({"cores": 0}, "models[0].capacity.cores: input should be greater than or equal to 1 (got 0)", id="no-cores"),
        pytest.param({"measured_on": "last tuesday"}, "models[0].capacity.measured_on", id="not-a-date"),
        pytest.param({"rpm": 3}, "models[0].capacity.rpm", id="unknown-key"),
    ],
)
def test_bad_capacity_is_refused_naming_the_field(capacity, message):
    with pytest.raises(ProfileError) as err:
        scorer(**capacity)
    assert message in str(err.value)
