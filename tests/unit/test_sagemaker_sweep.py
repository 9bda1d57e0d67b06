"""aws-sagemaker's closed-form cost function (targets/aws_sagemaker/sweep.py) equals the full estimate - the plan,
endpoints and alarms built per point, which Target.cost_function sums - at every traffic of a grid, to the cent,
so the break-even figures `decide` prints are the full pipeline's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles
from sagemaker_profile import lab_data

from mlinfra.costs.prices import price_table
from mlinfra.decision.sensitivity import PEAK_RATIOS, SCALES, curves, peak_curves, scaled, with_peak_ratio
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.load import load_profile
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.choice import choose_endpoint
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.base import Target

REPO = Path(__file__).resolve().parents[2]
SAGEMAKER = AwsSageMaker()
# the sweep's own points, traffic off them (none at all: the no-traffic alarms go; 1000x: replicas capped and
# Serverless past its concurrency), and peaks from steady to very bursty at several averages
GRID_SCALES = (*SCALES, 0.0, 0.003, 0.3, 0.77, 1.5, 3.3, 33.0, 100.0, 1000.0)
GRID_RATIOS = (*PEAK_RATIOS, 1.5, 3.0, 25.0, 100.0)
MIXED_SCALES = (0.0625, 0.5, 3.3, 100.0)


def s3_artifacts(path: Path, fit: bool = True):
    """The profile at `path` with its models' artifacts in S3, which SageMaker reads (the example's are on a PVC);
    `fit`: every model's resources within the largest GPU instance of the catalogue (the example's LLM is not)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for m in data["models"]:
        m["artifact"] = f"s3://models-{m['name']}/v1/"
        if fit:
            m["resources"] = {**m["resources"], "cpu": min(m["resources"]["cpu"], 3),
                              "memory_gib": min(m["resources"]["memory_gib"], 12)}
    return profile_from_data(data)


def grid(profile):
    """(label, variant) over the grid: every scale, every peak ratio, and both together."""
    yield from ((f"x{f}", scaled(profile, f)) for f in GRID_SCALES)
    yield from ((f"peak {r}x", with_peak_ratio(profile, r)) for r in GRID_RATIOS)
    yield from ((f"x{f}, peak {r}x", with_peak_ratio(scaled(profile, f), r)) for f in MIXED_SCALES for r in GRID_RATIOS)


def _outcome(call):
    """The figure, or the type and message of the error (an estimate that fails must fail alike)."""
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - compared, not swallowed
        return (type(exc).__name__, str(exc))


def assert_closed_form_equals_estimate(profile) -> int:
    """Every grid point, closed form against the full estimate; returns how many points both priced."""
    envs, table = all_environments(profile), price_table(profile)
    full = Target.cost_function(SAGEMAKER, profile, envs, table)  # the default: each environment's estimate
    closed = _outcome(lambda: SAGEMAKER.cost_function(profile, envs, table))
    priced = 0
    for label, variant in grid(profile):
        expected = _outcome(lambda: full(variant))
        got = closed if isinstance(closed, tuple) else _outcome(lambda: closed(variant))
        assert got == expected, f"{profile.name} at {label}"
        priced += isinstance(expected, float)
    return priced


EXAMPLES = [
    pytest.param(lambda: load_profile(REPO / "stacks/profile.yaml"), id="stacks-profile"),  # drift, OIDC edge
    pytest.param(lambda: load_profile(REPO / "docs/examples/bursty-cloud.yaml"), id="bursty-cloud"),  # provisioned
    pytest.param(lambda: s3_artifacts(REPO / "docs/examples/gpu-onprem.yaml"), id="gpu-onprem"),  # GPU instances
    pytest.param(lambda: profile_from_data(lab_data()), id="lab"),
    pytest.param(lambda: profile_from_data(lab_data(monitoring={**lab_data()["monitoring"], "drift": True})),
                 id="lab-drift"),
    pytest.param(lambda: profile_from_data(lab_data(security={"exposure": "public", "authentication": "none"})),
                 id="lab-public-edge-egress"),
    pytest.param(lambda: profile_from_data(lab_data(data={"sovereignty": "eu", "classification": "confidential"})),
                 id="lab-confidential-vpc"),
    pytest.param(lambda: profile_from_data(lab_data(
        models=[{**m, "slo": {"latency_p95_ms": 90_000, "availability": 0.995}} for m in lab_data()["models"]])),
        id="lab-async"),
    pytest.param(lambda: profile_from_data(lab_data(
        cloud={"region": "ap-south-1"}, data={"sovereignty": "none", "classification": "internal"},
        environments={"dev": {}, "staging": {"traffic_share": 0.4}, "prod": {"min_replicas": 3}})),
        id="lab-unlisted-region-staging"),
]


@pytest.mark.parametrize("make", EXAMPLES)
def test_closed_form_equals_the_full_estimate_over_the_grid(make):
    assert assert_closed_form_equals_estimate(make()) == len(list(grid(make())))


def test_a_model_no_instance_holds_is_refused_alike():
    """No SageMaker instance holds the example's LLM at any traffic: both refuse with the same message."""
    assert assert_closed_form_equals_estimate(s3_artifacts(REPO / "docs/examples/gpu-onprem.yaml", fit=False)) == 0


def test_the_grid_switches_modes_and_alarms():
    """The grid reaches what the closed form must follow: Serverless and real-time in turn, and no traffic."""
    profile = profile_from_data(lab_data())
    env = all_environments(profile)[-1]  # prod
    table = price_table(profile)
    modes = {choose_endpoint(v, v.models[0], env, table).mode for _, v in grid(profile)}
    assert modes == {"serverless", "realtime"}
    silent = sagemaker_plan(scaled(profile, 0.0), SAGEMAKER.plan(scaled(profile, 0.0), env.name), table)
    assert not any(m.expects_traffic for m in silent.models.values())


@pytest.mark.parametrize("make", EXAMPLES[:3])
def test_decide_sweeps_print_the_full_pipelines_figures(make):
    """The curves of the sweeps (both set up once) equal those of the estimate per point."""
    profile = make()
    envs, table = all_environments(profile), price_table(profile)

    class FullEstimate(AwsSageMaker):
        cost_function = Target.cost_function

    for sweep in (curves, peak_curves):
        assert sweep(profile, [SAGEMAKER], envs, table) == sweep(profile, [FullEstimate()], envs, table)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=profiles())
def test_closed_form_equals_the_full_estimate_for_any_profile(data):
    # SageMaker reads model data from S3 (or staged https): other artifacts would only compare two refusals
    for m in data["models"]:
        if not m["artifact"].startswith(("s3://", "https://")):
            m["artifact"] = f"s3://bucket-{m['name']}/v1"
    assert_closed_form_equals_estimate(profile_from_data(data))
