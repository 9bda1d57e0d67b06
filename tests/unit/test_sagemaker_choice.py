"""Serverless or real-time: the one choice aws-sagemaker prices and deploys (targets/aws_sagemaker/choice.py)."""

from __future__ import annotations

import pytest
from sagemaker_profile import lab_data

from mlinfra.costs.prices import price_table
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.choice import (
    choose_endpoint,
    realtime_sizing,
    serverless_blocker,
    serverless_concurrency,
)
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan


def _choice(data, model: str, env: str):
    profile = profile_from_data(data)
    m = next(x for x in profile.models if x.name == model)
    return choose_endpoint(profile, m, resolve_environment(profile, env), price_table(profile))


def test_serverless_when_eligible_and_cheaper():
    c = _choice(lab_data(), "scorer", "prod")
    # 2 GiB -> 2048 MB; 12 req/s x 1.2 x 0.025 s / 0.6 = 0.6 -> 1 concurrent invocation
    assert (c.mode, c.memory_mb, c.max_concurrency, c.instance_type) == ("serverless", 2048, 1, None)
    # the 250 ms p95 SLO is shorter than a cold start: prod keeps its average concurrency (4 x 0.025 / 0.6 -> 1) warm
    assert c.provisioned_concurrency == 1
    assert c.line.item == "scorer: Serverless 2 GB, 10.512 M requests, 1 provisioned"
    assert c.why.startswith("Serverless is not dearer than real-time endpoint")
    assert c.why.endswith("1 invocation kept warm (provisioned concurrency): the p95 SLO 250 ms is shorter than a cold "
                          "start (5 s assumed)")


def test_provisioned_concurrency_is_priced_per_gb_second_all_month():
    profile = profile_from_data(lab_data())
    table = price_table(profile)
    warm, cold = _choice(lab_data(), "scorer", "prod"), _choice(
        lab_data(models=[{**lab_data()["models"][0], "slo": {"latency_p95_ms": 5000, "availability": 0.995}}]),
        "scorer", "prod",
    )
    assert cold.provisioned_concurrency is None and cold.line.item == "scorer: Serverless 2 GB, 10.512 M requests"
    price = table.regional("sagemaker-serverless", "provisioned-gb-second", profile.region)
    # 1 provisioned invocation x 2 GB x 730 h x 3600 s, in EUR
    extra = 1 * 2 * 730 * 3600 * price.value * table.usd_to_eur
    assert warm.line.monthly_eur == pytest.approx(cold.line.monthly_eur + extra, abs=0.01)
    assert price.key in warm.line.price_keys and price.confidence == "U"


def test_serverless_limits_are_checked_per_environment_not_on_the_sum():
    """Serverless' 200 concurrent invocations are per endpoint, and every environment has its own: prod at 150 and a
    staging at 0.5 of it are each within, though their sum (225) is not."""
    model = {**lab_data()["models"][0], "traffic": {"average_rps": 10, "peak_rps": 3000},
             "resources": {"cpu": 1, "memory_gib": 2}}
    data = lab_data(models=[model], environments={"staging": {"traffic_share": 0.5}, "prod": {}})
    prod, staging = _choice(data, "scorer", "prod"), _choice(data, "scorer", "staging")
    # 3000 x 1.2 x 0.025 s / 0.6 = 150 concurrent in prod, 75 in staging: 225 together
    assert (prod.mode, prod.max_concurrency) == ("serverless", 150)
    assert (staging.mode, staging.max_concurrency) == ("serverless", 75)


def test_dev_tolerates_cold_starts():
    c = _choice(lab_data(), "scorer", "dev")
    assert c.mode == "serverless" and c.provisioned_concurrency is None


def test_an_slo_beyond_a_synchronous_invocation_is_served_asynchronously():
    model = {**lab_data()["models"][0], "slo": {"latency_p95_ms": 90_000, "availability": 0.995}}
    c = _choice(lab_data(models=[model]), "scorer", "prod")
    assert (c.mode, c.instance_type, c.min_instances, c.max_instances) == ("async", "ml.m5.large", 2, 7)
    assert c.why == "asynchronous: the 90 s p95 SLO is longer than the 60 s a real-time or Serverless invocation may take"
    assert c.line.item.startswith("scorer: asynchronous endpoint, ")
    at_limit = {**model, "slo": {"latency_p95_ms": 60_000, "availability": 0.995}}
    assert _choice(lab_data(models=[at_limit]), "scorer", "prod").mode != "async"


def test_realtime_when_serverless_cannot_hold_it_with_two_instances_for_three_nines():
    prod, dev = _choice(lab_data(), "ranker", "prod"), _choice(lab_data(), "ranker", "dev")
    assert (prod.mode, prod.instance_type, prod.min_instances, prod.max_instances) == ("realtime", "ml.m5.large", 2, 7)
    assert prod.why == "Serverless ruled out: 8 GiB exceeds its 6 GiB maximum"
    assert prod.line.item == "ranker: real-time endpoint, 2 x ml.m5.large"
    # dev stays minimal: sizing's one instance (the SLO floor is production's)
    assert (dev.mode, dev.min_instances, dev.max_instances) == ("realtime", 1, 1)


@pytest.mark.parametrize(
    ("availability", "staging", "prod"),
    [pytest.param(0.999, 2, 2, id="three-nines"), pytest.param(0.998, 1, 1, id="below")],
)
def test_the_floor_of_two_applies_from_three_nines_on_outside_dev(availability, staging, prod):
    model = {**lab_data()["models"][1], "slo": {"latency_p95_ms": 90, "availability": availability}}
    envs = {"dev": {}, "staging": {}, "prod": {"min_replicas": 1, "max_replicas": 7}}
    profile = profile_from_data(lab_data(models=[model], environments=envs))
    floors = {e: realtime_sizing(profile.models[0], resolve_environment(profile, e)).min_replicas for e in envs}
    assert floors == {"dev": 1, "staging": staging, "prod": prod}


@pytest.mark.parametrize(
    ("resources", "drift", "expected"),
    [
        pytest.param({"cpu": 1, "memory_gib": 2}, False, "", id="eligible"),
        pytest.param({"cpu": 1, "memory_gib": 2, "gpus": 1}, False, "Serverless ruled out: the model needs 1 GPU", id="gpu"),
        pytest.param({"cpu": 1, "memory_gib": 6.5}, False, "Serverless ruled out: 6.5 GiB exceeds its 6 GiB maximum", id="memory"),
        pytest.param({"cpu": 1, "memory_gib": 2}, True,
                     "Serverless ruled out: monitoring.drift needs data capture, which Serverless endpoints do not support",
                     id="drift"),
    ],
)
def test_serverless_blockers(resources, drift, expected):
    model = {**lab_data()["models"][0], "resources": resources}
    profile = profile_from_data(lab_data(models=[model]))
    assert serverless_blocker(profile.models[0], drift) == expected


def test_serverless_blockers_for_isolation_and_concurrency():
    model = profile_from_data(lab_data()).models[0]
    assert serverless_blocker(model, isolation="security.exposure 'private'") == (
        "Serverless ruled out: security.exposure 'private' asks for the model container inside your VPC (VpcConfig), "
        "and Serverless endpoints cannot be attached to a VPC")
    assert serverless_blocker(model, concurrency=200) == ""
    assert serverless_blocker(model, concurrency=201).startswith("Serverless ruled out: peak concurrency 201 (")


@pytest.mark.parametrize(
    ("patch", "deciding"),
    [
        pytest.param({"security": {"exposure": "private", "authentication": "api_key"}},
                     "Serverless ruled out: security.exposure 'private' asks for the model container inside your VPC",
                     id="private"),
        pytest.param({"data": {"sovereignty": "eu", "classification": "confidential"}},
                     "Serverless ruled out: data.classification 'confidential' asks for", id="confidential"),
    ],
)
def test_isolation_makes_the_endpoint_real_time(patch, deciding):
    c = _choice(lab_data(**patch), "scorer", "prod")
    assert c.mode == "realtime" and c.why.startswith(deciding) and deciding in c.line.note


def test_peak_concurrency_above_200_makes_the_endpoint_real_time_outside_dev():
    """5000 req/s x 0.025 s x 1.2 / 0.6 = 250 concurrent invocations: more than a Serverless endpoint takes."""
    model = {**lab_data()["models"][0], "traffic": {"average_rps": 3000, "peak_rps": 5000}}
    prod = _choice(lab_data(models=[model]), "scorer", "prod")
    assert prod.mode == "realtime"
    assert prod.why == ("Serverless ruled out: peak concurrency 250 (5000 req/s x 0.025 s per request x 1.2 headroom / "
                        "0.6 utilisation) exceeds its 200 per endpoint")
    assert "peak concurrency" not in _choice(lab_data(models=[model]), "scorer", "dev").why


def test_drift_makes_every_endpoint_real_time():
    c = _choice(lab_data(monitoring={"drift": True}), "scorer", "prod")
    assert c.mode == "realtime" and "monitoring.drift needs data capture" in c.line.note


def test_serverless_concurrency_follows_peak_traffic_and_dev_stays_small():
    model = {**lab_data()["models"][0], "traffic": {"average_rps": 40, "peak_rps": 900}}
    profile = profile_from_data(lab_data(models=[model]))
    m = profile.models[0]
    # 900 x 1.2 x 0.025 / 0.6 = 45
    assert serverless_concurrency(m, resolve_environment(profile, "prod")) == 45
    assert serverless_concurrency(m, resolve_environment(profile, "dev")) == 2


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_deployment_deploys_what_the_estimate_priced(env):
    """The endpoints of sagemaker_plan carry the very cost lines the decision shows."""
    profile = profile_from_data(lab_data())
    target = AwsSageMaker()
    priced = target.estimate(profile, resolve_environment(profile, env), price_table(profile))
    planned = sagemaker_plan(profile, target.plan(profile, env))
    assert [s.choice.line for s in planned.endpoints] == list(priced.lines[:2])
