"""Cost model arithmetic against hand-computed values (distinct numbers so each input is traceable)."""

from __future__ import annotations

import copy

import pytest

from mlinfra.costs.model import EstimateError
from mlinfra.costs.nodes import MONITORING_PODS, Pod, allocatable, pack
from mlinfra.targets.aws_eks.cost import estimate_eks
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.cost import estimate_sagemaker
from mlinfra.targets.onprem_k8s.cost import estimate_onprem
from mlinfra.costs.prices import PriceError, load_table, price_table
from mlinfra.planning.sizing import size_model
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import resolve_environment

HOURS = 730
SAGEMAKER = AwsSageMaker()
SECONDS = HOURS * 3600


def _profile(**patch):
    data = {
        "version": 1,
        "name": "costs",
        "environments": {"prod": {"min_replicas": 3, "max_replicas": 5}},
        "models": [
            {
                "name": "scorer",
                "framework": "sklearn",
                "artifact": "s3://b/scorer",
                "resources": {"cpu": 1.5, "memory_gib": 7},
                "traffic": {"average_rps": 11, "peak_rps": 150},
                "slo": {"latency_p95_ms": 300, "availability": 0.995},
            }
        ],
        "security": {"exposure": "private"},
        "cloud": {"region": "us-east-1"},
        "costs": {"usd_to_eur": 0.9},
    }
    for key, value in patch.items():
        data[key] = value
    return profile_from_data(copy.deepcopy(data))


def _line(estimate, prefix):
    matches = [line for line in estimate.lines if line.item.startswith(prefix)]
    assert len(matches) == 1, f"one line starting with {prefix!r} expected in {[l.item for l in estimate.lines]}"
    return matches[0]


# ---------------------------------------------------------------------------------------------------------
# Price table


def test_table_is_versioned_and_dated():
    table = load_table()
    assert table.version == "2026-11-26.3"
    assert table.date == "2026-11-25"
    assert table.hours_per_month == HOURS
    assert table.usd_to_eur == 0.8573 and table.usd_to_eur_date == "2025-H2"
    for price in table.prices.values():
        assert price.confidence in {"A", "B", "U"}, price.key
        assert price.source and price.date and price.unit, price.key


def test_frankfurt_sagemaker_price_is_derived_and_unconfirmed():
    price = load_table().get("sagemaker/ml.m5.large/eu-central-1")
    # us-east-1 0.115 x EC2 Frankfurt ratio m6i.large 0.115 / 0.096
    assert price.value == pytest.approx(0.115 * 0.115 / 0.096, abs=1e-8)
    assert price.confidence == "U" and not price.exact
    assert price.inputs == ("sagemaker/ml.m5.large/us-east-1", "ec2/m6i.large/eu-central-1", "ec2/m6i.large/us-east-1")
    assert "estimated: sagemaker/ml.m5.large/us-east-1 0.115 x (ec2/m6i.large/eu-central-1 / ec2/m6i.large/us-east-1" in price.derivation


def test_override_moves_derived_prices_and_is_marked():
    table = load_table({"ec2/m6i.large/us-east-1": 0.1, "sagemaker/ml.c5.xlarge/us-east-1": 0.25})
    assert table.get("ec2/m6i.large/us-east-1").overridden
    assert table.get("sagemaker/ml.m5.large/eu-central-1").value == pytest.approx(0.115 * 0.115 / 0.1, abs=1e-8)
    # c5 Frankfurt derives from the overridden base with the c6i ratio 0.194 / 0.17
    assert table.get("sagemaker/ml.c5.xlarge/eu-central-1").value == pytest.approx(0.25 * 0.194 / 0.17, abs=1e-8)
    assert table.get("sagemaker/ml.c5.xlarge/us-east-1").confidence == "A"


def test_unknown_override_key_names_a_close_match():
    with pytest.raises(PriceError, match=r"unknown price key 'ec2/m6i.larg/us-east-1'; did you mean 'ec2/m6i.large/us-east-1'\?"):
        load_table({"ec2/m6i.larg/us-east-1": 0.1})


def test_a_new_region_for_a_known_item_is_accepted():
    table = load_table({"ec2/m6i.large/eu-west-1": 0.107})
    assert table.regional("ec2", "m6i.large", "eu-west-1").value == 0.107


def test_missing_region_falls_back_to_home_region_as_unconfirmed():
    table = load_table()
    eu = table.regional("ec2", "m6i.large", "eu-west-3")
    assert eu.value == 0.115 and eu.confidence == "U"
    assert "no eu-west-3 price in the table: the eu-central-1 price is used" in eu.derivation
    other = table.regional("ec2", "m6i.large", "ap-south-1")
    assert other.value == 0.096 and other.confidence == "U"


def test_profile_overrides_apply():
    profile = _profile(costs={"usd_to_eur": 0.93, "prices": {"nat/hour/us-east-1": 0.05}})
    table = price_table(profile)
    assert table.usd_to_eur == 0.93 and table.usd_to_eur_date == "profile"
    assert table.eur(table.get("nat/hour/us-east-1")) == pytest.approx(0.05 * 0.93)


# ---------------------------------------------------------------------------------------------------------
# Bin packing


def test_allocatable_reserves_system_capacity():
    table = load_table()
    m6i = next(i for i in table.ec2 if i.name == "m6i.large")
    assert allocatable(m6i) == (1.7, pytest.approx((8 - 0.8) * 0.9))


def test_pack_first_fit_decreasing_by_hand():
    table = load_table()
    m6i = next(i for i in table.ec2 if i.name == "m6i.large")  # 1.7 CPU, 6.48 GiB allocatable
    pods = [Pod("a", 1.0, 2.0), Pod("b", 1.0, 2.0), *MONITORING_PODS]
    # node 1: a (1.0) + prometheus (0.5) + grafana (0.2) = 1.7; node 2: b + alertmanager + ksm + operator = 1.3
    assert pack(pods, m6i) == 2
    assert pack([Pod("c", 0.9, 1.0)] * 5, m6i) == 5  # two never share a 1.7-CPU node
    with pytest.raises(EstimateError, match="does not fit m6i.large"):
        pack([Pod("big", 2.0, 1.0)], m6i)


# ---------------------------------------------------------------------------------------------------------
# SageMaker


def test_sagemaker_realtime_when_serverless_is_ruled_out():
    profile = _profile()
    env = resolve_environment(profile, "prod")
    sizing = size_model(profile.models[0], env)
    # 1.5 CPU sklearn: 40 x 1.5 x 0.6 = 36 req/s per replica; peak 150 x 1.2 / 36 -> 5; floor 3 from the env
    assert (sizing.min_replicas, sizing.peak_replicas) == (3, 5)
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), env, price_table(profile))
    line = _line(est, "scorer:")
    # 7 GiB -> cheapest instance holding 1.5 CPU / 7 GiB outside dev is ml.m5.large (0.115 $/h, us-east-1)
    assert line.item == "scorer: real-time endpoint, 3-5 x ml.m5.large"
    billed = 3 + (5 - 3) * 0.15
    assert line.monthly_eur == pytest.approx(billed * 0.115 * HOURS * 0.9, abs=0.006)  # 249.33
    assert "Serverless ruled out: 7 GiB exceeds its 6 GiB maximum" in line.note
    assert line.price_keys == ("sagemaker/ml.m5.large/us-east-1",)

    # the alarms targets/aws_sagemaker/alarms.py builds: latency, 2 x (4 burn-window conditions of 2 metrics + 1
    # composite), no traffic, no instance reporting = 13 alarms, 19 alarm metrics and 2 composites (5 alarm
    # metrics each); one dashboard
    alarms = _line(est, "CloudWatch: 13 alarms, 1 dashboard")
    assert alarms.monthly_eur == pytest.approx(((19 + 2 * 5) * 0.10 + 3.00) * 0.9, abs=0.006)  # 5.31
    logs = _line(est, "CloudWatch Logs")
    assert logs.monthly_eur == pytest.approx(11 * SECONDS * 1 / 1e6 * 0.50 * 0.9, abs=0.006)  # 13.01
    ops = _line(est, "operations time")  # managed endpoints still take the team's time: 1 h per model
    assert (ops.item, ops.monthly_eur) == ("operations time (1 h)", 60.0)  # costs.onprem.ops_hourly_rate_eur default
    assert est.monthly_eur == pytest.approx(249.33 + 5.31 + 13.01 + 60.0, abs=0.02)


def test_the_deciding_constants_are_the_profiles_costs_fields():
    """Peak share of the month, payload and log sizes come from the profile (defaults 0.15, 10 KB, 1 KB)."""
    profile = _profile(costs={"usd_to_eur": 0.9, "peak_share_of_month": 0.5, "log_kb_per_request": 3})
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), price_table(profile))
    assert _line(est, "scorer:").monthly_eur == pytest.approx((3 + (5 - 3) * 0.5) * 0.115 * HOURS * 0.9, abs=0.006)
    logs = _line(est, "CloudWatch Logs")
    assert logs.monthly_eur == pytest.approx(11 * SECONDS * 3 / 1e6 * 0.50 * 0.9, abs=0.006)  # 39.02
    assert any("write 3 KB of logs (costs.log_kb_per_request)" in a for a in est.assumptions)
    assert any("50% of the month (costs.peak_share_of_month)" in a for a in est.assumptions)
    exposed = _profile(security={"exposure": "public", "authentication": "api_key"},
                       costs={"usd_to_eur": 0.9, "payload_kb_per_request": 100})
    alb = _line(estimate_eks(exposed, resolve_environment(exposed, "prod"), price_table(exposed)), "application load")
    lcus = max(11 / 25, 11 * 100 * 3600 / 1e6)  # processed bytes now decide: 3.96 LCU
    assert alb.monthly_eur == pytest.approx((0.0225 + lcus * 0.008) * HOURS * 0.9, abs=0.006)


def test_sme_defaults_for_electricity_and_the_engineers_rate():
    c = _profile().costs.onprem
    assert (c.electricity_eur_per_kwh, c.ops_hourly_rate_eur) == (0.28, 60)


def test_sagemaker_serverless_by_hand():
    model = {
        "name": "tiny",
        "framework": "sklearn",
        "artifact": "s3://b/tiny",
        "resources": {"cpu": 1, "memory_gib": 2.5},
        "traffic": {"average_rps": 7, "peak_rps": 9},
        "slo": {"latency_p95_ms": 300, "availability": 0.995},
    }
    # internal, not private: private exposure asks for VPC isolation, which Serverless endpoints cannot give
    profile = _profile(models=[model], security={"exposure": "internal", "authentication": "api_key"})
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), price_table(profile))
    line = _line(est, "tiny:")
    requests = 7 * SECONDS  # 18,396,000
    gb_seconds = 3 * (1 / 40) * requests  # 2.5 GiB -> 3 GB configured, 25 ms per request: 1,379,700
    data_gb = requests * 10 / 1e6  # 183.96 GB
    expected = (gb_seconds * 0.00002 + data_gb * 0.016) * 0.9  # 27.48
    # the 300 ms p95 SLO is shorter than a cold start: prod keeps the average concurrency warm,
    # ceil(7 x 0.025 / 0.6) = 1 invocation x 3 GB all month at a quarter of the on-demand GB-second
    warm = 1 * 3 * HOURS * 3600 * 0.00002 * 0.25 * 0.9  # 11.83
    assert line.item == "tiny: Serverless 3 GB, 18.396 M requests, 1 provisioned"
    assert line.monthly_eur == pytest.approx(expected + warm, abs=0.006)
    assert line.price_keys == ("sagemaker-serverless/gb-second/us-east-1", "sagemaker-serverless/data-gb/us-east-1",
                               "sagemaker-serverless/provisioned-gb-second/us-east-1")


def test_sagemaker_gpu_model_uses_an_instance_of_its_gpu_type():
    model = {
        "name": "vision",
        "framework": "pytorch",
        "artifact": "s3://b/vision",
        "resources": {"cpu": 2, "memory_gib": 6, "gpus": 1, "gpu_type": "a10g"},
        "traffic": {"average_rps": 13, "peak_rps": 17},
        "slo": {"latency_p95_ms": 300, "availability": 0.995},
    }
    profile = _profile(models=[model], environments={"prod": {"min_replicas": 2, "max_replicas": 2}}, cloud={"region": "eu-central-1"})
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), price_table(profile))
    line = _line(est, "vision:")
    assert line.item == "vision: real-time endpoint, 2 x ml.g5.xlarge"
    eu = 1.41 * 1.258 / 1.006  # derived Frankfurt price, unconfirmed
    assert line.monthly_eur == pytest.approx(2 * eu * HOURS * 0.9, abs=0.01)
    assert "Serverless ruled out: the model needs 1 GPU" in line.note
    assert "≈ sagemaker/ml.g5.xlarge/eu-central-1: estimated:" in line.note


# ---------------------------------------------------------------------------------------------------------
# EKS


def test_eks_by_hand():
    model = {
        "name": "churn",
        "framework": "sklearn",
        "artifact": "s3://b/churn",
        "resources": {"cpu": 1, "memory_gib": 2},
        "traffic": {"average_rps": 3, "peak_rps": 6},
        "slo": {"latency_p95_ms": 300, "availability": 0.995},
    }
    profile = _profile(
        models=[model],
        environments={"prod": {"min_replicas": 2, "max_replicas": 2}},
        monitoring={"storage_gib": 40},
        costs={"usd_to_eur": 0.9, "onprem": {"ops_hourly_rate_eur": 90}},
    )
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    gp3_us = 0.0952 * 0.096 / 0.115  # derived from Frankfurt with the m6i ratio
    assert _line(est, "EKS control plane").monthly_eur == pytest.approx(0.10 * HOURS * 0.9, abs=0.006)  # 65.70
    nodes = _line(est, "CPU pool")
    assert nodes.item == "CPU pool (models + monitoring): 2 x m6i.large (sized for the peak)"  # see test_pack_first_fit_decreasing_by_hand
    assert nodes.monthly_eur == pytest.approx(2 * 0.096 * HOURS * 0.9, abs=0.006)  # 126.14
    assert _line(est, "node root volumes").monthly_eur == pytest.approx(2 * 20 * gp3_us * 0.9, abs=0.006)
    nat = _line(est, "NAT gateway")  # production: one per zone, as targets/aws_eks/network.py deploys them
    assert nat.item == "NAT gateways (3, one per zone) (egress of private worker nodes)"
    assert nat.monthly_eur == pytest.approx(3 * 0.045 * HOURS * 0.9, abs=0.006)
    nat_data = _line(est, "NAT data processing")  # 2 nodes x 20 GB (costs.nat_gb_per_node_month) at 0.045 USD/GB
    assert nat_data.item == "NAT data processing: 40 GB" and nat_data.price_keys == ("nat/gb/us-east-1",)
    assert nat_data.monthly_eur == pytest.approx(2 * 20 * 0.045 * 0.9, abs=0.006)  # 1.62
    assert _line(est, "Prometheus volume (40 GiB").monthly_eur == pytest.approx(40 * gp3_us * 0.9, abs=0.006)
    ops = _line(est, "operations time")
    assert ops.item == "operations time (11 h)"  # 8 h per cluster + 1 h per node x 2 nodes + 1 h per model
    assert ops.monthly_eur == 990.0
    assert ops.note == "cluster 8 h; 2 nodes x 1 h 2 h; 1 model x 1 h 1 h"
    assert not [line for line in est.lines if "load balancer" in line.item], "private exposure needs no ALB"


def test_nat_data_follows_the_profiles_volume_and_an_existing_cluster_pays_none():
    profile = _profile(costs={"usd_to_eur": 0.9, "nat_gb_per_node_month": 150})
    env = resolve_environment(profile, "prod")
    est = estimate_eks(profile, env, price_table(profile))
    nodes = float(_line(est, "CPU pool").item.split(": ")[1].split(" x ")[0])
    assert _line(est, "NAT data processing").monthly_eur == pytest.approx(nodes * 150 * 0.045 * 0.9, abs=0.006)
    existing = _profile(cloud={"region": "us-east-1", "eks_cluster": "platform", "eks_node_subnets": ["subnet-0a1b2c3d"]})
    assert not [line for line in estimate_eks(existing, env, price_table(existing)).lines if line.item.startswith("NAT")]


def test_eks_alb_when_exposed():
    profile = _profile(security={"exposure": "public", "authentication": "api_key"})
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    alb = _line(est, "application load balancer (public)")
    lcus = max(11 / 25, 11 * 10 * 3600 / 1e6)  # new connections: 0.44 LCU; processed bytes: 0.396 LCU
    assert alb.monthly_eur == pytest.approx((0.0225 + lcus * 0.008) * HOURS * 0.9, abs=0.006)
    ips = _line(est, "public IPv4 addresses")  # prod: 3 NAT gateways' EIPs + the internet-facing ALB's 3 zones
    assert ips.item == "public IPv4 addresses (6)"
    assert ips.monthly_eur == pytest.approx(6 * 0.005 * HOURS * 0.9, abs=0.006)  # 19.71
    egress = _line(est, "internet egress")
    gb = 11 * SECONDS * 10 / 1e6  # 289.08 GB of responses (request + response size: an upper bound)
    assert egress.item == "internet egress: 289.08 GB"
    assert egress.monthly_eur == pytest.approx(gb * 0.09 * 0.9, abs=0.006)  # 23.42


def test_private_and_internal_exposure_pay_no_egress_and_only_nat_addresses():
    profile = _profile()  # private
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    assert _line(est, "public IPv4 addresses").item == "public IPv4 addresses (3)"  # the NAT gateways' EIPs
    assert not [line for line in est.lines if line.item.startswith("internet egress")]


def test_sagemaker_public_endpoints_pay_internet_egress():
    profile = _profile(security={"exposure": "public", "authentication": "none"})
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), price_table(profile))
    assert _line(est, "internet egress").monthly_eur == pytest.approx(11 * SECONDS * 10 / 1e6 * 0.09 * 0.9, abs=0.006)


def test_eks_gpu_pool_per_gpu_model():
    model = {
        "name": "vision",
        "framework": "pytorch",
        "artifact": "s3://b/vision",
        "resources": {"cpu": 2, "memory_gib": 6, "gpus": 1, "gpu_type": "l4"},
        "traffic": {"average_rps": 13, "peak_rps": 17},
        "slo": {"latency_p95_ms": 300, "availability": 0.995},
    }
    profile = _profile(models=[model], environments={"prod": {"min_replicas": 2, "max_replicas": 2}})
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    gpu = _line(est, "GPU pool for vision")
    assert gpu.item == "GPU pool for vision: 2 x g6.xlarge (sized for the peak)"
    assert gpu.monthly_eur == pytest.approx(2 * 0.8048 * HOURS * 0.9, abs=0.006)
    # monitoring alone: 1.0 CPU / 3.25 GiB -> one m6i.large (no CPU model, so no HA minimum of 2)
    assert _line(est, "CPU pool").item == "CPU pool (models + monitoring): 1 x m6i.large (sized for the peak)"


LLM_7B = {
    "name": "chat",
    "framework": "llm",
    "artifact": "s3://b/chat",
    "resources": {"cpu": 3, "memory_gib": 12, "gpus": 1, "parameters_b": 7},
    "traffic": {"average_rps": 0.5, "peak_rps": 1},
    "slo": {"latency_p95_ms": 20000, "availability": 0.995},
}


def test_llm_gpu_memory_estimate_by_hand():
    from mlinfra.costs.nodes import gpu_memory_needed

    model = _profile(models=[LLM_7B]).models[0]
    assert gpu_memory_needed(model) == round(7e9 * 2 / 2**30 * 1.2 + 1, 2) == 16.65  # bf16 weights 13.04 GiB
    int4 = _profile(models=[{**LLM_7B, "resources": {**LLM_7B["resources"], "precision": "int4"}}]).models[0]
    assert gpu_memory_needed(int4) == round(7e9 * 0.5 / 2**30 * 1.2 + 1, 2)  # 4.91: a T4 holds it
    explicit = _profile(models=[{**LLM_7B, "resources": {**LLM_7B["resources"], "gpu_memory_gib": 30}}]).models[0]
    assert gpu_memory_needed(explicit) == 30


def test_eks_places_a_7b_llm_on_the_cheapest_gpu_with_the_memory():
    """16.65 GiB rules out the 16 GiB T4 (g4dn.xlarge, 0.526/h); the L4 (g6.xlarge, 22.35 GiB, 0.8048/h) is next."""
    profile = _profile(models=[LLM_7B], environments={"prod": {"min_replicas": 1, "max_replicas": 1}})
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    gpu = _line(est, "GPU pool for chat")
    assert gpu.item == "GPU pool for chat: 1 x g6.xlarge (sized for the peak)"
    assert gpu.monthly_eur == pytest.approx(0.8048 * HOURS * 0.9, abs=0.006)
    needs_40 = {**LLM_7B, "resources": {**LLM_7B["resources"], "gpu_memory_gib": 40}}
    profile = _profile(models=[needs_40], environments={"prod": {"min_replicas": 1, "max_replicas": 1}})
    est = estimate_eks(profile, resolve_environment(profile, "prod"), price_table(profile))
    assert _line(est, "GPU pool for chat").item == "GPU pool for chat: 1 x g6e.xlarge (sized for the peak)"  # L40S 44.7


def test_sagemaker_places_a_7b_llm_by_gpu_memory():
    profile = _profile(models=[LLM_7B], environments={"prod": {"min_replicas": 1, "max_replicas": 1}})
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), price_table(profile))
    line = _line(est, "chat:")
    assert line.item == "chat: real-time endpoint, 1 x ml.g6.xlarge"
    ml_g6 = 0.8048 * 1.41 / 1.006  # EC2 g6.xlarge x the ml.g5.xlarge/g5.xlarge ratio: derived, unconfirmed
    assert line.monthly_eur == pytest.approx(ml_g6 * HOURS * 0.9, abs=0.01)


def test_profile_instance_types_add_and_override_the_catalogue():
    added = {
        "ec2/r7i.16xlarge": {"vcpu": 64, "memory_gib": 512, "hourly_usd": 4.2336},
        "ec2/g6.xlarge": {"vcpu": 4, "memory_gib": 16, "gpus": 1, "gpu": "l4", "gpu_memory_gib": 22.35, "hourly_usd": 0.7},
    }
    profile = _profile(costs={"usd_to_eur": 0.9, "instance_types": added})
    table = price_table(profile)
    r7i = next(i for i in table.ec2 if i.name == "r7i.16xlarge")
    assert (r7i.vcpu, r7i.memory_gib, r7i.source) == (64, 512, "profile costs.instance_types")
    price = table.get("ec2/r7i.16xlarge/us-east-1")
    assert (price.value, price.overridden, price.source) == (4.2336, True, "profile costs.instance_types")
    assert table.get("ec2/g6.xlarge/us-east-1").value == 0.7
    assert load_table().get("ec2/g6.xlarge/us-east-1").value == 0.8048, "the shipped table is untouched"
    with pytest.raises(PriceError, match=r"costs.instance_types.ec2/x9.large: the price table has no price for it; set hourly_usd \(USD per hour in us-east-1\)"):
        price_table(_profile(costs={"instance_types": {"ec2/x9.large": {"vcpu": 2, "memory_gib": 8}}}))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        pytest.param({"ec2:r7i": {"vcpu": 1, "memory_gib": 1}}, "is not ec2/<family>.<size> or sagemaker/ml.<family>.<size>", id="key"),
        pytest.param({"ec2/g9.xlarge": {"vcpu": 4, "memory_gib": 16, "gpus": 1}}, "gpus is 1 but gpu_memory_gib is not set", id="gpu-memory"),
    ],
)
def test_profile_instance_types_are_validated(spec, message):
    from mlinfra.profiles.load import ProfileError

    with pytest.raises(ProfileError, match=message):
        _profile(costs={"instance_types": spec})


# ---------------------------------------------------------------------------------------------------------
# On premise


def test_onprem_tco_by_hand():
    models = [
        {
            "name": "tabular",
            "framework": "sklearn",
            "artifact": "s3://b/t",
            "resources": {"cpu": 2, "memory_gib": 4},
            "traffic": {"average_rps": 10, "peak_rps": 20},
            "slo": {"latency_p95_ms": 300, "availability": 0.995},
        },
        {
            "name": "vision",
            "framework": "pytorch",
            "artifact": "s3://b/v",
            "resources": {"cpu": 4, "memory_gib": 16, "gpus": 1},
            "traffic": {"average_rps": 30, "peak_rps": 40},
            "slo": {"latency_p95_ms": 300, "availability": 0.995},
        },
    ]
    profile = _profile(
        models=models,
        environments={"prod": {"min_replicas": 2, "max_replicas": 2}},
        onprem={"kube_context": "dc", "cpu_nodes": 5, "gpu_nodes": 2, "gpus_per_node": 4},
        costs={
            "usd_to_eur": 0.9,
            "onprem": {
                "server_price_usd": 10000, "gpu_server_price_usd": 40000, "amortisation_years": 5,
                "server_power_w": 500, "gpu_power_w": 100, "electricity_eur_per_kwh": 0.2,
                "ops_hours_per_node_month": 3, "ops_hourly_rate_eur": 100, "colocation_eur_per_kw_month": 150,
                "node_cpu": 16, "node_memory_gib": 64,
            },
        },
    )
    est = estimate_onprem(profile, resolve_environment(profile, "prod"), price_table(profile))
    # CPU at peak: 2 x 2 CPU + monitoring 1.0 = 5.0 CPU; 2 x 4 GiB + 3.25 = 11.25 GiB
    # node allocatable 15.7 CPU / 56.88 GiB -> max(5/15.7, 11.25/56.88) = 0.3185 node-equivalents
    cpu_eq, gpu_eq, base = 0.3185, 2 / 4, 0.1  # base: costs.onprem.base_node_equivalents default
    assert _line(est, "CPU node hardware").monthly_eur == pytest.approx(cpu_eq * 10000 * 0.9 / 60, abs=0.006)  # 47.78
    share = _line(est, "cluster base share")
    assert share.item == "cluster base share (node hardware): 0.1 node-equivalents"
    assert share.monthly_eur == pytest.approx(base * 10000 * 0.9 / 60, abs=0.006)  # 15.00
    assert _line(est, "GPU node hardware").monthly_eur == pytest.approx(gpu_eq * 40000 * 0.9 / 60, abs=0.006)  # 300.00
    kw = ((cpu_eq + base) * 500 + gpu_eq * (500 + 4 * 100)) / 1000  # 0.65925 kW
    assert _line(est, "power").monthly_eur == pytest.approx(kw * HOURS * 0.2, abs=0.006)  # 96.25
    assert _line(est, "colocation").monthly_eur == pytest.approx(kw * 150, abs=0.006)  # 98.89
    # node-equivalents (base included) x 3 h + 2 models x 1 h, at 100 EUR/h
    ops = ((base + cpu_eq + gpu_eq) * 3 + 2 * 1) * 100  # 475.55
    assert _line(est, "operations time").monthly_eur == pytest.approx(ops, abs=0.006)
    assert est.monthly_eur == pytest.approx(47.78 + 15.0 + 300.0 + 96.25 + 98.89 + 475.55, abs=0.02)


def test_onprem_monitoring_is_shared_by_the_environments():
    profile = _profile(environments=["dev", "staging", "prod"], onprem={"kube_context": "dc"})
    table = price_table(profile)
    lines = [_line(estimate_onprem(profile, resolve_environment(profile, e), table), "CPU node hardware") for e in ("dev", "staging", "prod")]
    # dev serves 5 % of the traffic: peak 150 x 0.05 = 7.5 req/s x 1.2 / (40 x 1.5 x 0.6 = 36 per replica) -> 1
    # replica: 1.5 CPU + monitoring/3 -> 1.8333 CPU
    assert "(1.8333 CPU" in lines[0].item
    # prod: 1.5 x 5 peak replicas + 1/3 -> 7.8333 CPU
    assert "(7.8333 CPU" in lines[2].item


def test_onprem_without_cluster_cannot_be_priced():
    profile = _profile()
    with pytest.raises(EstimateError, match="needs an `onprem` block"):
        estimate_onprem(profile, resolve_environment(profile, "prod"), price_table(profile))


def test_used_reports_table_entries_behind_an_estimate():
    profile = _profile(cloud={"region": "eu-central-1"})
    table = price_table(profile)
    est = estimate_sagemaker(profile, SAGEMAKER.plan(profile, "prod"), resolve_environment(profile, "prod"), table)
    used = table.used(k for line in est.lines for k in line.price_keys)
    keys = [p.key for p in used]
    assert keys == sorted(keys) and len(keys) == len(set(keys))
    assert "sagemaker/ml.m5.large/eu-central-1" in keys and "sagemaker/ml.m5.large/us-east-1" in keys
    assert not [k for k in keys if k.startswith("costs.")]
    assert {p.key: p.confidence for p in used}["sagemaker/ml.m5.large/eu-central-1"] == "U"


def test_eks_node_groups_are_priced_at_the_peak_all_month():
    """No cluster autoscaler is deployed: the node groups run the peak count, so that is what is billed."""
    from mlinfra.targets.aws_eks.nodegroups import node_groups, node_pools

    profile = _profile(environments={"prod": {"min_replicas": 1, "max_replicas": 9}})
    env = resolve_environment(profile, "prod")
    table = price_table(profile)
    (pool,) = node_pools(profile, env, table)
    assert pool.plan.peak_nodes > pool.plan.base_nodes, "a profile whose peak needs more nodes than its floor"
    line = _line(estimate_eks(profile, env, table), "CPU pool")
    assert line.item == f"CPU pool (models + monitoring): {pool.plan.peak_nodes} x {pool.plan.instance.name} (sized for the peak)"
    assert line.monthly_eur == pytest.approx(pool.plan.peak_nodes * pool.plan.price.value * HOURS * 0.9, abs=0.006)
    (group,) = node_groups(profile, env, table)
    assert (group.min_size, group.desired_size, group.max_size) == (pool.plan.peak_nodes,) * 3
