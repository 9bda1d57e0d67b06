"""aws-sagemaker as plain data: the environment's spec (endpoints.py), the execution role (iam.py), what it cannot
take or deploy (feasibility.py), and aws/sagemaker.yaml (render.py)."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles
from sagemaker_profile import lab_data

from mlinfra.manifests.common import find_none
from mlinfra.planning.plan import PlanError
from mlinfra.profiles import profile_from_data
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.alarms import build_alarms
from mlinfra.targets.aws_sagemaker.endpoints import artifact_source, image_tag, sagemaker_plan
from mlinfra.targets.aws_sagemaker.iam import execution_policy, trust_policy
from mlinfra.targets.aws_sagemaker.render import SAGEMAKER_FILE, describe

TARGET = AwsSageMaker()


def _plan(env="prod", **patch):
    profile = profile_from_data(lab_data(**patch))
    return sagemaker_plan(profile, TARGET.plan(profile, env))


def test_environment_spec():
    sm = _plan()
    assert (sm.region, sm.key_alias) == ("eu-west-1", "alias/mlinfra/sm-lab-prod")
    assert sm.tags == {"mlinfra.io/profile": "sm-lab", "mlinfra.io/environment": "prod", "managed-by": "mlinfra"}
    assert (sm.store.bucket_prefix, sm.store.repository, sm.store.protect) == ("sm-lab-prod-models-", "mlinfra/sm-lab-prod", True)
    assert _plan("dev").store.protect is False
    scorer, ranker = sm.endpoints
    assert (scorer.endpoint_name, scorer.log_group, scorer.log_retention_days) == (
        "sm-lab-prod-scorer", "/aws/sagemaker/Endpoints/sm-lab-prod-scorer", 14)  # 11 days -> 14
    assert scorer.tags == {"mlinfra.io/model": "scorer"}
    assert (scorer.image_tag, ranker.image_tag) == ("mlserver-1.7.1", "mlserver-1.7.1")


def test_production_variants_and_autoscaling_as_priced():
    scorer, ranker = _plan().endpoints
    assert scorer.production_variant() == {
        "variant_name": "AllTraffic", "serverless_config": {"memory_size_in_mb": 2048, "max_concurrency": 1, "provisioned_concurrency": 1},
    }
    assert (scorer.autoscaled, scorer.encrypt_volume, scorer.network_isolation) == (False, False, False)
    assert ranker.production_variant() == {
        "variant_name": "AllTraffic", "instance_type": "ml.m5.large", "initial_instance_count": 2, "initial_variant_weight": 1,
    }
    assert (ranker.autoscaled, ranker.encrypt_volume, ranker.network_isolation) == (True, True, True)
    resource = "endpoint/sm-lab-prod-ranker/variant/AllTraffic"
    assert ranker.scalable_target() == {
        "service_namespace": "sagemaker", "scalable_dimension": "sagemaker:variant:DesiredInstanceCount",
        "resource_id": resource, "min_capacity": 2, "max_capacity": 7,
    }
    assert ranker.scaling_policy() == {
        "policy_type": "TargetTrackingScaling",
        "service_namespace": "sagemaker",
        "scalable_dimension": "sagemaker:variant:DesiredInstanceCount",
        "resource_id": resource,
        "target_tracking_scaling_policy_configuration": {
            # xgboost, 2 cores: 40 x 2 x 0.6 x 0.75 (p95 SLO under 100 ms) = 36 req/s per instance = 2160 per minute
            "target_value": 2160.0,
            "predefined_metric_specification": {"predefined_metric_type": "SageMakerVariantInvocationsPerInstance"},
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 60,
        },
    }
    assert ranker.data_capture_config("store-x") is None


def test_data_capture_with_drift():
    sm = _plan(monitoring={**lab_data()["monitoring"], "drift": True})
    scorer = sm.endpoints[0]
    assert scorer.mode == "realtime" and scorer.data_capture
    assert scorer.data_capture_config("store-x") == {
        "enable_capture": True,
        "initial_sampling_percentage": 10,
        "destination_s3_uri": "s3://store-x/data-capture/sm-lab-prod-scorer/",
        "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
    }


@pytest.mark.parametrize(
    ("artifact", "bucket", "key", "data_type", "compression"),
    [
        pytest.param("s3://lab-models/scorer/v3", "lab-models", "scorer/v3/", "S3Prefix", "None", id="s3-prefix"),
        pytest.param("s3://lab-models/scorer/v3.tar.gz", "lab-models", "scorer/v3.tar.gz", "S3Object", "Gzip", id="s3-tarball"),
        pytest.param("https://models.example.org/ranker-7.tar.gz?sig=1", None, "models/scorer/ranker-7.tar.gz",
                     "S3Object", "Gzip", id="https-staged"),
    ],
)
def test_artifact_sources(artifact, bucket, key, data_type, compression):
    model = {**lab_data()["models"][0], "artifact": artifact}
    sm = _plan(models=[model])
    source = sm.endpoints[0].artifact
    assert (source.bucket, source.key, source.s3_data_type, source.compression_type) == (bucket, key, data_type, compression)
    assert source.staged is (bucket is None)
    assert source.uri("store-x") == f"s3://{bucket or 'store-x'}/{key}"


def test_an_artifact_sagemaker_cannot_read_is_a_plan_error():
    model = {**lab_data()["models"][0], "artifact": "pvc://lab-store/scorer"}
    profile = profile_from_data(lab_data(models=[model]))
    with pytest.raises(PlanError, match=r"model 'scorer': SageMaker reads model data from S3 only; artifact pvc://"):
        artifact_source(TARGET.plan(profile, "prod").models[0])


@pytest.mark.parametrize(
    ("image", "tag"),
    [
        ("seldonio/mlserver:1.7.1", "mlserver-1.7.1"),
        ("nvcr.io/nvidia/tritonserver:25.06-py3", "tritonserver-25.06-py3"),
        ("ghcr.io/acme/scorer@sha256:abcdef", "scorer-sha256-abcdef"),
        ("acme/scorer", "scorer-latest"),
    ],
)
def test_image_tags(image, tag):
    assert image_tag(image) == tag


def test_execution_role_reads_only_its_own_artifact_and_writes_only_its_captures():
    assert trust_policy()["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    sm = _plan(monitoring={**lab_data()["monitoring"], "drift": True})
    scorer, ranker = sm.endpoints
    ids = dict(partition="aws", region="eu-west-1", account="210987654321", store_bucket="store-x",
               repository_arn="arn:aws:ecr:eu-west-1:210987654321:repository/mlinfra/sm-lab-prod",
               key_arn="arn:aws:kms:eu-west-1:210987654321:key/k-1")
    by_sid = {s["Sid"]: s for s in execution_policy(scorer, **ids)["Statement"]}
    assert by_sid["ReadTheModelArtifact"]["Resource"] == "arn:aws:s3:::lab-models/scorer/v3/*"
    assert by_sid["ListTheModelArtifact"] == {
        "Sid": "ListTheModelArtifact", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::lab-models",
        "Condition": {"StringLike": {"s3:prefix": ["scorer/v3/*"]}},
    }
    assert by_sid["PullTheServingImage"]["Resource"] == ids["repository_arn"]
    assert by_sid["UseTheStackKey"]["Resource"] == ids["key_arn"]
    assert by_sid["WriteTheEndpointLogs"]["Resource"] == [
        "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/sagemaker/Endpoints/sm-lab-prod-scorer",
        "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/sagemaker/Endpoints/sm-lab-prod-scorer:*",
    ]
    assert by_sid["WriteCapturedRequests"]["Resource"] == "arn:aws:s3:::store-x/data-capture/sm-lab-prod-scorer/*"
    staged = {s["Sid"]: s for s in execution_policy(ranker, **ids)["Statement"]}
    assert staged["ReadTheModelArtifact"]["Resource"] == "arn:aws:s3:::store-x/models/ranker/ranker-7.tar.gz"
    assert "ListTheModelArtifact" not in staged, "one object: nothing to list"
    without_drift = {s["Sid"] for s in execution_policy(_plan().endpoints[0], **ids)["Statement"]}
    assert "WriteCapturedRequests" not in without_drift and "ReadTheModelArtifact" in without_drift


@pytest.mark.parametrize(
    ("security", "gap"),
    [
        pytest.param({"exposure": "internal", "authentication": "api_key"}, None, id="api-key"),
        pytest.param({"exposure": "public", "authentication": "api_key"}, None, id="public-api-key"),
        pytest.param({"exposure": "private", "authentication": "none"}, None, id="private-none"),
        pytest.param({"exposure": "internal", "authentication": "oidc"},
                     "security.authentication is 'oidc' but security.oidc is not set", id="oidc-without-issuer"),
        pytest.param({"exposure": "private", "authentication": "oidc"},
                     "security.exposure is 'private' with authentication 'oidc'", id="private-oidc"),
        pytest.param({"exposure": "public", "authentication": "oidc",
                      "oidc": {"issuer": "https://idp.example.org", "audience": ["sm-lab"]}}, None, id="public-oidc"),
        pytest.param({"exposure": "public", "authentication": "none"}, None, id="public-none"),
    ],
)
def test_deployment_gaps_name_exactly_the_profiles_the_edge_cannot_serve(security, gap):
    """OIDC and unauthenticated public callers come through the API Gateway edge (test_sagemaker_edge.py); what is
    left is what the edge cannot do."""
    gaps = TARGET.deployment_gaps(profile_from_data(lab_data(security=security)))
    assert (len(gaps) == 1 and gaps[0].startswith(gap) and "API Gateway" in gaps[0]) if gap else gaps == []


def test_drift_is_no_gap_the_drift_monitor_publishes_its_score():
    profile = profile_from_data(lab_data(monitoring={**lab_data()["monitoring"], "drift": True}))
    assert TARGET.violations(profile) == []


def test_oci_and_pvc_artifacts_are_infeasible():
    models = [{**lab_data()["models"][0], "artifact": "oci://registry.example.org/scorer:3"},
              {**lab_data()["models"][1], "artifact": "pvc://lab-store/ranker"}]
    found = TARGET.feasibility(profile_from_data(lab_data(models=models)))
    assert [v.split(":", 1)[0] for v in found] == ["model 'scorer'", "model 'ranker'"]
    assert all("SageMaker reads model data from S3 only" in v for v in found)


def test_render_describes_the_stack_deterministically():
    profile = profile_from_data(lab_data())
    files = TARGET.render(profile, "prod")
    assert [f.path for f in files] == [SAGEMAKER_FILE]
    assert files[0].text == TARGET.render(profile, "prod")[0].text
    doc = yaml.safe_load(files[0].text)
    assert list(doc) == sorted(doc)
    assert doc["alerts"]["topics"] == {"page": "sm-lab-prod-alerts-page", "ticket": "sm-lab-prod-alerts-ticket"}
    scorer, ranker = doc["endpoints"]
    assert (scorer["mode"], ranker["mode"]) == ("serverless", "realtime")
    assert "autoscaling" not in scorer and ranker["autoscaling"]["target"]["max_capacity"] == 7
    assert ranker["model_data"] == {"s3_uri": "s3://<model-store-bucket>/models/ranker/ranker-7.tar.gz",
                                    "s3_data_type": "S3Object", "compression_type": "Gzip",
                                    "copy_from": "https://models.example.org/ranker-7.tar.gz"}
    sm = sagemaker_plan(profile, TARGET.plan(profile, "prod"))
    assert doc == yaml.safe_load(yaml.safe_dump(describe(sm)))
    assert [a["args"] for a in scorer["alarms"]] == [a.args for a in build_alarms(sm, sm.endpoints[0])]
    assert [a.get("topic") for a in scorer["alarms"] if "severity" in a] == ["page", "page", "ticket", "ticket"]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=profiles())
def test_any_profile_sagemaker_can_take_renders_null_free_and_deterministic(data):
    profile = profile_from_data(data)
    if TARGET.feasibility(profile):
        return
    for env in profile.environment_names:
        text = TARGET.render(profile, env)[0].text
        assert text == TARGET.render(profile, env)[0].text
        assert find_none(yaml.safe_load(text)) == [], "a null in aws/sagemaker.yaml"
