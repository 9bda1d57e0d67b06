"""aws-sagemaker under Pulumi's official mocks: the real program (mlinfra.program) for the bursty example, the
bundled profile pinned to aws-sagemaker and a lab profile; assertions on the recorded graph, after the runs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sagemaker_profile import lab_data

from resource_graph import camel, of_type, one
from mlinfra.components.offline import OfflineError, run_mocked
from mlinfra.conventions import (
    TYPE_ALERT_TOPICS,
    TYPE_CLOUDWATCH_MONITORING,
    TYPE_ENCRYPTION_KEY,
    TYPE_ENVIRONMENT,
    TYPE_MODEL_STORE,
    TYPE_SAGEMAKER_ENDPOINT,
)
from mlinfra.guardrails import context_from_graph, run_check, run_guardrails
from mlinfra.guardrails.context import allowed_regions_for
from mlinfra.guardrails.graph import SECRET_MARK, resource
from mlinfra.profiles import load_profile
from mlinfra.targets.aws.kms import key_policy
from mlinfra.targets.aws.notifications import topic_policy
from mlinfra.targets.aws.storage import lifecycle_rules, repository_lifecycle_policy, tls_only_bucket_policy
from mlinfra.targets.aws.tags import stack_tags
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.alarms import build_alarms
from mlinfra.targets.aws_sagemaker.dashboards import dashboard_body
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.iam import execution_policy, trust_policy

REPO = Path(__file__).resolve().parents[2]
BURSTY = REPO / "docs" / "examples" / "bursty-cloud.yaml"
BUNDLED = REPO / "stacks" / "profile.yaml"
ACCOUNT = "123456789012"  # the offline mocks' account
TARGET = AwsSageMaker()

BUCKET = "aws:s3/bucket:Bucket"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"


@pytest.fixture(scope="module")
def lab_path(tmp_path_factory) -> Path:
    """The lab profile plus a model whose 2-minute SLO only an asynchronous endpoint meets (scorer: Serverless
    with provisioned concurrency in prod, ranker: real-time)."""
    path = tmp_path_factory.mktemp("lab") / "profile.yaml"
    data = lab_data()
    data["models"].append({**data["models"][0], "name": "batcher", "artifact": "s3://lab-models/batcher/v1.tar.gz",
                           "slo": {"latency_p95_ms": 120_000, "availability": 0.99}})
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(lab_path):
    """(profile, env) -> run: bursty-cloud as decided, the bundled profile pinned, the lab profile pinned."""
    from mlinfra.program import run_offline

    out = {("bursty", env): run_offline(BURSTY, env) for env in ("dev", "prod")}
    out |= {("bundled", env): run_offline(BUNDLED, env, target="aws-sagemaker") for env in ("dev", "prod")}
    out |= {("lab", env): run_offline(lab_path, env, target="aws-sagemaker") for env in ("dev", "prod")}
    return out


PATHS = {"bursty": BURSTY, "bundled": BUNDLED}
ALL = [pytest.param(p, e, id=f"{p}-{e}") for p in ("bursty", "bundled", "lab") for e in ("dev", "prod")]


def _path(which: str, lab_path: Path) -> Path:
    return PATHS.get(which, lab_path)


def _plan(which: str, env: str, lab_path: Path):
    profile = load_profile(str(_path(which, lab_path)))
    return profile, sagemaker_plan(profile, TARGET.plan(profile, env))


def _keyed(config: dict | None, key_arn: str) -> dict | None:
    return None if config is None else {**config, "output_config": {**config["output_config"], "kms_key_id": key_arn}}




def test_bursty_cloud_is_decided_onto_sagemaker(runs):
    for env in ("dev", "prod"):
        outputs = runs[("bursty", env)].outputs
        assert (outputs["target"], outputs["target_chosen_by"]) == ("aws-sagemaker", "decision")


@pytest.mark.parametrize(("which", "env"), ALL)
def test_one_explicit_provider_in_the_profiles_region_parent_of_nothing_else(runs, lab_path, which, env):
    run = runs[(which, env)]
    profile = load_profile(str(_path(which, lab_path)))
    scope = one(run, TYPE_ENVIRONMENT)
    provider = one(run, "pulumi:providers:aws")
    assert provider["inputs"]["region"] == profile.region and provider["parent"] == scope["urn"]
    assert json.loads(provider["inputs"]["defaultTags"]) == {"tags": stack_tags(profile.name, env)}
    components = {r["urn"]: r for r in run.resources if not r["custom"]}
    for r in run.resources:
        assert r["parent"], f"{r['type']} {r['name']} has no parent"
        if r is not scope:
            assert r["parent"] in components, f"{r['name']}'s parent is not a component"
        if r["custom"] and r["type"].startswith("aws:"):
            assert r["provider"] == provider["urn"], f"{r['name']} uses provider {r['provider']}"
            assert "region" not in r["inputs"], "no per-resource region: the provider's only"
    for component in (r for r in components.values() if r is not scope):
        children = [r for r in run.resources if r["parent"] == component["urn"]]
        assert children and all(c["name"].startswith(component["name"] + "-") for c in children)
    assert run.invokes == [], "no invoke (get_caller_identity and friends): the account comes from ARNs"
    names = [(r["type"], r["name"]) for r in run.resources]
    assert len(names) == len(set(names))


@pytest.mark.parametrize(("which", "env"), ALL)
def test_guardrails_pass(runs, which, env):
    run = runs[(which, env)]
    checks = {c.id: c for c in run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))}
    assert [c.id for c in checks.values() if c.status == "fail"] == [], [c.violations for c in checks.values()]
    assert checks["encryption"].status == checks["sovereignty"].status == "pass"
    assert checks["protect"].status == ("pass" if env == "prod" else "n/a")


@pytest.mark.parametrize(("which", "env"), ALL)
def test_the_model_store_is_encrypted_versioned_private_and_tls_only(runs, lab_path, which, env):
    run = runs[(which, env)]
    drift = load_profile(str(_path(which, lab_path))).monitoring.drift  # its violations reach the topics by EventBridge
    key_arn = f"arn:aws:kms:{one(run, 'pulumi:providers:aws')['inputs']['region']}:{ACCOUNT}:key/"
    for bucket in of_type(run, BUCKET):
        def on_bucket(typ: str) -> dict:
            found = [r for r in of_type(run, typ) if bucket["urn"] in r["options"]["depends_on"]]
            assert len(found) == 1, f"{typ} of {bucket['name']}"
            return found[0]["inputs"]

        sse = on_bucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
        rule = sse["rules"][0]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"].startswith(key_arn)
        assert on_bucket("aws:s3/bucketVersioning:BucketVersioning")["versioningConfiguration"] == {"status": "Enabled"}
        block = on_bucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        policy = json.loads(on_bucket("aws:s3/bucketPolicy:BucketPolicy")["policy"])
        assert policy == tls_only_bucket_policy(f"arn:aws:s3:::{bucket['inputs']['bucketPrefix']}mock")
        assert on_bucket("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")["rules"] == camel(lifecycle_rules())
        assert bucket["options"]["protect"] is (env == "prod")
    repo = one(run, "aws:ecr/repository:Repository")
    assert (repo["inputs"]["imageTagMutability"], repo["inputs"]["imageScanningConfiguration"]) == ("IMMUTABLE", {"scanOnPush": True})
    assert repo["inputs"]["encryptionConfigurations"][0]["encryptionType"] == "KMS"
    assert repo["options"]["protect"] is (env == "prod")
    assert json.loads(one(run, "aws:ecr/lifecyclePolicy:LifecyclePolicy")["inputs"]["policy"]) == repository_lifecycle_policy()
    key = one(run, "aws:kms/key:Key")
    assert key["inputs"]["enableKeyRotation"] is True and key["options"]["protect"] is (env == "prod")
    region = one(run, "pulumi:providers:aws")["inputs"]["region"]
    assert json.loads(one(run, "aws:kms/keyPolicy:KeyPolicy")["inputs"]["policy"]) == key_policy(
        partition="aws", region=region, account=ACCOUNT, eventbridge=drift)
    for topic in of_type(run, TOPIC):
        assert topic["inputs"]["kmsMasterKeyId"].startswith(key_arn)
    for policy in of_type(run, "aws:sns/topicPolicy:TopicPolicy"):
        assert json.loads(policy["inputs"]["policy"]) == topic_policy(policy["inputs"]["arn"], eventbridge=drift)
    for group in of_type(run, "aws:cloudwatch/logGroup:LogGroup"):
        assert group["inputs"]["kmsKeyId"].startswith(key_arn)


@pytest.mark.parametrize(("which", "env"), ALL)
def test_every_alarm_reads_its_endpoint_and_every_notifying_one_has_actions(runs, which, env):
    run = runs[(which, env)]
    conditions = set()
    for composite in of_type(run, COMPOSITE):
        conditions |= set(re.findall(r'ALARM\("([^"]+)"\)', composite["inputs"]["alarmRule"]))
        assert composite["inputs"]["alarmActions"] and composite["inputs"]["okActions"]
        named = {r["inputs"]["name"] for r in of_type(run, ALARM) if r["urn"] in composite["options"]["depends_on"]}
        assert named == set(re.findall(r'ALARM\("([^"]+)"\)', composite["inputs"]["alarmRule"])), "conditions exist first"
    for alarm in of_type(run, ALARM):
        inputs = alarm["inputs"]
        assert inputs.get("dimensions") or inputs.get("metricQueries"), alarm["name"]
        if inputs["name"] in conditions:
            assert "alarmActions" not in inputs, "a condition notifies through its composite alarm"
        else:
            assert inputs["alarmActions"] == inputs["okActions"] and len(inputs["alarmActions"]) == 1, alarm["name"]
    topics = {t["inputs"]["name"].rsplit("-", 1)[1]: f"arn:aws:sns:{one(run, 'pulumi:providers:aws')['inputs']['region']}:{ACCOUNT}:{t['inputs']['name']}"
              for t in of_type(run, TOPIC)}
    actions = {a for r in of_type(run, ALARM) + of_type(run, COMPOSITE) for a in r["inputs"].get("alarmActions", [])}
    if env == "dev":  # dev never pages: no page topic, every alarm tickets
        assert set(topics) == {"ticket"} and actions == {topics["ticket"]}
    else:
        assert actions == {topics["page"], topics["ticket"]}


@pytest.mark.parametrize(("which", "env"), ALL)
def test_recorded_inputs_equal_the_pure_builders(runs, lab_path, plain, which, env):
    run = runs[(which, env)]
    profile, sm = _plan(which, env, lab_path)
    region = sm.region
    store_bucket = one(run, BUCKET)["inputs"]["bucketPrefix"] + "mock"
    key_arn = of_type(run, "aws:cloudwatch/logGroup:LogGroup")[0]["inputs"]["kmsKeyId"]
    assert key_arn.startswith(f"arn:aws:kms:{region}:{ACCOUNT}:key/")
    repo_arn = f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{sm.store.repository}"
    alarms = {r["inputs"]["name"]: r["inputs"] for r in of_type(run, ALARM)}
    alarms |= {r["inputs"]["alarmName"]: r["inputs"] for r in of_type(run, COMPOSITE)}
    built_alarms = set()
    for spec in sm.endpoints:
        endpoint = next(r for r in of_type(run, TYPE_SAGEMAKER_ENDPOINT) if r["name"] == f"{profile.name}-{spec.model}")
        children = {r["type"].rsplit(":", 1)[1]: r for r in run.resources if r["parent"] == endpoint["urn"]}
        assert children["Endpoint"]["inputs"]["name"] == spec.endpoint_name
        config = children["EndpointConfiguration"]["inputs"]
        variant = dict(config["productionVariants"][0])
        assert variant.pop("modelName") == f"{profile.name}-{spec.model}-model-mock"
        assert plain(variant) == plain(camel(spec.production_variant()))
        assert (config.get("kmsKeyArn") == key_arn) is spec.encrypt_volume
        assert plain(config.get("asyncInferenceConfig")) == plain(
            camel(_keyed(spec.async_inference_config(store_bucket), key_arn)))
        capture = spec.data_capture_config(store_bucket)
        assert plain(config.get("dataCaptureConfig")) == plain(camel({**capture, "kms_key_id": key_arn}) if capture else None)
        model = children["Model"]["inputs"]
        container = model["primaryContainer"]
        assert container["image"] == f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{sm.store.repository}:{spec.image_tag}"
        uri = spec.artifact.uri(store_bucket)
        assert (container.get("modelDataUrl") or container["modelDataSource"]["s3DataSources"][0]["s3Uri"]) == uri
        assert model["enableNetworkIsolation"] is spec.network_isolation
        assert json.loads(children["Role"]["inputs"]["assumeRolePolicy"]) == trust_policy()
        assert json.loads(children["RolePolicy"]["inputs"]["policy"]) == execution_policy(
            spec, partition="aws", region=region, account=ACCOUNT, store_bucket=store_bucket,
            repository_arn=repo_arn, key_arn=key_arn)
        logs = children["LogGroup"]["inputs"]
        assert (logs["name"], logs["retentionInDays"]) == (spec.log_group, spec.log_retention_days)
        if spec.autoscaled:
            assert plain(children["Target"]["inputs"]) == plain(camel(spec.scalable_target()))
            policy = dict(children["Policy"]["inputs"])
            assert policy.pop("name") == f"{spec.endpoint_name}-invocations"
            assert plain(policy) == plain(camel(spec.scaling_policy()))
        else:
            assert "Target" not in children and "Policy" not in children
        monitoring = next(r for r in of_type(run, TYPE_CLOUDWATCH_MONITORING)
                          if r["name"] == f"{profile.name}-{spec.model}-monitoring")
        dashboards = [r for r in of_type(run, "aws:cloudwatch/dashboard:Dashboard") if r["parent"] == monitoring["urn"]]
        built = build_alarms(sm, spec)
        assert [d["inputs"]["dashboardBody"] for d in dashboards] == [dashboard_body(sm, spec, built)]
        for alarm in built:
            recorded = {k: v for k, v in alarms[alarm.name].items() if k not in ("alarmActions", "okActions", "tags")}
            assert plain(recorded) == plain(camel(alarm.args)), alarm.name
            built_alarms.add(alarm.name)
    assert set(alarms) == built_alarms, "nothing registered that the builders did not build"
    assert {r["inputs"]["name"] for r in of_type(run, TOPIC)} == set(sm.notifications.topics.values())


def test_subscriptions_read_secret_endpoints_and_dev_never_subscribes_pagerduty(runs):
    prod, dev = runs[("lab", "prod")], runs[("lab", "dev")]

    def subscriptions(run):
        return {r["name"].removeprefix("sm-lab-alerts-"): r["inputs"] for r in of_type(run, SUBSCRIPTION)}

    assert set(subscriptions(prod)) == {"page-slack", "page-pagerduty", "ticket-email", "ticket-slack"}
    assert set(subscriptions(dev)) == {"ticket-email", "ticket-slack"}
    for name, inputs in subscriptions(prod).items():
        if name == "ticket-email":
            assert (inputs["protocol"], inputs["endpoint"]) == ("email", "oncall@example.org")
        else:
            assert (inputs["protocol"], inputs["endpoint"]) == ("https", SECRET_MARK), name
    raw = {urn: inputs for urn, inputs in prod.raw_inputs.items() if urn.endswith("page-pagerduty")}
    assert len(raw) == 1, "the PagerDuty URL is built from the secret and stays a secret"


def test_prod_and_dev_differ_in_instances_paging_and_protection(runs):
    def variants(run):
        return {r["name"]: r["inputs"]["productionVariants"][0] for r in of_type(run, ENDPOINT_CONFIG)}

    dev, prod = variants(runs[("bursty", "dev")]), variants(runs[("bursty", "prod")])
    assert dev["reco-api-summariser-config"]["initialInstanceCount"] == 1
    assert prod["reco-api-summariser-config"]["initialInstanceCount"] == 2
    assert dev["reco-api-ranker-config"]["serverlessConfig"]["maxConcurrency"] == 1  # dev serves 5 % of the peak
    assert prod["reco-api-ranker-config"]["serverlessConfig"]["maxConcurrency"] == 3
    scaling = {e: one(runs[("bursty", e)], "aws:appautoscaling/target:Target")["inputs"] for e in ("dev", "prod")}
    assert (scaling["dev"]["minCapacity"], scaling["dev"]["maxCapacity"]) == (1, 1)
    assert (scaling["prod"]["minCapacity"], scaling["prod"]["maxCapacity"]) == (2, 2)
    assert [t["inputs"]["name"] for t in of_type(runs[("bursty", "dev")], TOPIC)] == ["reco-api-dev-alerts-ticket"]
    protected = {e: sorted(r["type"] for r in runs[("bursty", e)].resources if r["options"]["protect"]) for e in ("dev", "prod")}
    assert protected["dev"] == []
    assert protected["prod"] == sorted([BUCKET, "aws:ecr/repository:Repository", "aws:kms/key:Key"]
                                       + ["aws:cloudwatch/logGroup:LogGroup"] * 3)


def test_drift_captures_requests_and_the_bundled_oidc_callers_get_the_edge(runs):
    run = runs[("bundled", "prod")]
    config = one(run, ENDPOINT_CONFIG)["inputs"]
    assert config["dataCaptureConfig"]["destinationS3Uri"] == "s3://churn-scoring-prod-models-mock/data-capture/churn-scoring-prod-churn/"
    assert config["productionVariants"][0]["instanceType"] == "ml.m5.large", "drift: real-time, not Serverless"
    assert not any(r["inputs"].get("metricName") == "ModelDriftScore" for r in of_type(run, ALARM)), "nothing publishes it"
    rule = one(run, "aws:cloudwatch/eventRule:EventRule")["inputs"]  # the drift alert: Model Monitor's violations
    assert json.loads(rule["eventPattern"])["detail"]["ExitMessage"] == [{"prefix": "CompletedWithViolations"}]
    assert run.outputs["deployment_gaps"] == [], "security.oidc names the issuer the edge's JWT authorizer trusts"
    assert run.outputs["invoke_urls"] == {"churn": f"{run.outputs['edge_url']}/models/churn/invocations"}
    assert run.outputs["region"] == "eu-central-1"


def test_outputs_name_endpoints_topics_dashboards_and_what_ci_must_upload(runs):
    out = runs[("bursty", "prod")].outputs
    assert out["endpoints"] == {m: f"reco-api-prod-{m}" for m in ("embedder", "ranker", "summariser")}
    assert out["dashboards"] == out["endpoints"]
    assert set(out["alert_topics"]) == {"page", "ticket"}
    assert out["alert_routes"] == [
        {"matchers": ['severity="critical"'], "receiver": "mlinfra-page", "integrations": ["slack"]},
        {"matchers": ['severity="warning"'], "receiver": "mlinfra-ticket", "integrations": ["email", "slack"]},
    ]
    assert out["artifact_uploads"] == [{
        "model": "summariser", "from": "https://models.example.com/summariser-v1.tar.gz",
        "to": "s3://reco-api-prod-models-mock/models/summariser/summariser-v1.tar.gz",
    }]
    assert out["images"]["ranker"] == f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/mlinfra/reco-api-prod:mlserver-1.7.1"
    assert out["deployment_gaps"] == []


def test_a_missing_secret_config_value_is_named(lab_path):
    from mlinfra import program

    with pytest.raises(OfflineError, match=r"stack 'prod' has no value for the secret config key\(s\) pdKey named in "
                                           r"the profile's monitoring.notify"):
        run_mocked(program.main, stack="prod",
                   config={"mlinfra:profile": str(lab_path), "mlinfra:target": "aws-sagemaker"},
                   secret_keys=["slackHook"])


def test_an_aws_resource_on_the_default_provider_breaks_sovereignty():
    ctx = context_from_graph([resource(type=TYPE_ENVIRONMENT, name="lab", urn="urn:env",
                                       inputs={"sovereignty": "eu", "allowedRegions": list(allowed_regions_for("eu"))})])
    ambient = resource(type=BUCKET, name="lab-bucket", urn="urn:bucket", parent="urn:env")
    engine_default = resource(type=BUCKET, name="lab-bucket-2", urn="urn:bucket2", parent="urn:env",
                              provider="urn:pulumi:prod::mlinfra::pulumi:providers:aws::default_7_51_1")
    explicit = resource(type=BUCKET, name="lab-bucket-3", urn="urn:bucket3", parent="urn:env",
                        provider="urn:pulumi:prod::mlinfra::pulumi:providers:aws::lab-aws")
    found = run_check("sovereignty", [ambient, engine_default, explicit], ctx).violations
    assert [v.resource for v in found] == [f"{BUCKET} lab-bucket", f"{BUCKET} lab-bucket-2"]
    assert all("uses the default AWS provider" in v.message for v in found)


def test_component_types_are_the_conventions(runs):
    types = {r["type"] for r in runs[("lab", "prod")].resources if not r["custom"]}
    assert types == {TYPE_ENVIRONMENT, TYPE_ENCRYPTION_KEY, TYPE_MODEL_STORE, TYPE_ALERT_TOPICS,
                     TYPE_SAGEMAKER_ENDPOINT, TYPE_CLOUDWATCH_MONITORING}


def test_lab_modes_serverless_warm_real_time_and_asynchronous(runs, lab_path):
    """Each mode deploys what the choice priced: provisioned concurrency, instances, and a queue that scales on
    its backlog, counts requests by ModelLatency samples and keeps results encrypted under its own prefix."""
    run = runs[("lab", "prod")]
    _, sm = _plan("lab", "prod", lab_path)
    modes = {s.model: s.mode for s in sm.endpoints}
    assert modes == {"scorer": "serverless", "ranker": "realtime", "batcher": "async"}
    configs = {r["name"].rsplit("-", 1)[0]: r["inputs"] for r in of_type(run, ENDPOINT_CONFIG)}
    assert configs["sm-lab-scorer"]["productionVariants"][0]["serverlessConfig"]["provisionedConcurrency"] == 1
    output = configs["sm-lab-batcher"]["asyncInferenceConfig"]["outputConfig"]
    store = one(run, BUCKET)["inputs"]["bucketPrefix"] + "mock"
    assert output["s3OutputPath"] == f"s3://{store}/async/sm-lab-prod-batcher/output/"
    assert output["kmsKeyId"].startswith("arn:aws:kms:")
    policy = next(r["inputs"] for r in of_type(run, "aws:appautoscaling/policy:Policy")
                  if r["inputs"]["name"] == "sm-lab-prod-batcher-invocations")
    metric = policy["targetTrackingScalingPolicyConfiguration"]["customizedMetricSpecification"]
    assert (metric["metricName"], metric["dimensions"]) == (
        "ApproximateBacklogSizePerInstance", [{"name": "EndpointName", "value": "sm-lab-prod-batcher"}])
    alarms = {r["inputs"]["name"]: r["inputs"] for r in of_type(run, ALARM)}
    quiet = alarms["sm-lab-prod-batcher-MLModelNoTraffic"]
    assert (quiet["metricName"], quiet["statistic"]) == ("ModelLatency", "SampleCount")
    assert (alarms["sm-lab-prod-ranker-MLModelNoTraffic"]["metricName"]) == "Invocations"
    down = {n for n in alarms if n.endswith("-MLModelPodsNotReady")}
    assert down == {"sm-lab-prod-ranker-MLModelPodsNotReady", "sm-lab-prod-batcher-MLModelPodsNotReady"}
    assert alarms["sm-lab-prod-batcher-MLModelPodsNotReady"]["namespace"] == "/aws/sagemaker/Endpoints"


def test_an_isolated_profile_runs_its_endpoints_in_a_vpc_of_its_own(tmp_path):
    """Confidential data: Serverless is ruled out (no VPC attachment) and every endpoint's model gets VpcConfig - the
    subnets and security group of the environment's SageMakerNetwork: private subnets in three zones in prod, no
    internet gateway or NAT, S3 through a gateway endpoint, no ingress and HTTPS to S3's prefix list only."""
    from mlinfra.program import run_offline
    from mlinfra.conventions import TYPE_SAGEMAKER_NETWORK
    from mlinfra.profiles.environments import resolve_environment
    from mlinfra.targets.aws_sagemaker.network import endpoint_network

    path = tmp_path / "profile.yaml"
    data = lab_data(data={"sovereignty": "eu", "classification": "confidential"})
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    run = run_offline(path, "prod", target="aws-sagemaker")
    profile = load_profile(str(path))
    sm = sagemaker_plan(profile, TARGET.plan(profile, "prod"))
    assert sm.network == endpoint_network(profile, resolve_environment(profile, "prod"))
    assert sm.network.reason == "data.classification 'confidential'"
    assert {s.mode for s in sm.endpoints} == {"realtime"} and all(s.in_vpc for s in sm.endpoints)
    network = one(run, TYPE_SAGEMAKER_NETWORK)
    inside = [r for r in run.resources if r["parent"] == network["urn"]]
    kinds = sorted(r["type"] for r in inside)
    assert kinds == sorted(["aws:ec2/vpc:Vpc", "aws:ec2/routeTable:RouteTable", "aws:ec2/vpcEndpoint:VpcEndpoint",
                            "aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
                            *["aws:ec2/subnet:Subnet"] * 3, *["aws:ec2/routeTableAssociation:RouteTableAssociation"] * 3])
    assert not of_type(run, "aws:ec2/internetGateway:InternetGateway") and not of_type(run, "aws:ec2/natGateway:NatGateway")
    subnets = sorted(of_type(run, "aws:ec2/subnet:Subnet"), key=lambda r: r["name"])
    assert [s["inputs"]["cidrBlock"] for s in subnets] == [s.cidr for s in sm.network.subnets]
    assert len({s["inputs"]["availabilityZone"] for s in subnets}) == 3
    gateway = one(run, "aws:ec2/vpcEndpoint:VpcEndpoint")["inputs"]
    assert (gateway["vpcEndpointType"], gateway["serviceName"]) == ("Gateway", "com.amazonaws.eu-west-1.s3")
    rule = one(run, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")["inputs"]
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", 443, 443)
    assert rule["prefixListId"] == "pl-sm-lab-network-s3-endpoint"
    group = one(run, "aws:ec2/securityGroup:SecurityGroup")["inputs"]
    assert not group.get("ingress") and not group.get("egress")
    subnet_ids = sorted(f"{s['name']}-id" for s in subnets)
    for model in of_type(run, "aws:sagemaker/model:Model"):
        vpc = model["inputs"]["vpcConfig"]
        assert sorted(vpc["subnets"]) == subnet_ids and vpc["securityGroupIds"] == ["sm-lab-network-models-id"]
    checks = run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))
    assert [c.id for c in checks if c.status == "fail"] == []


def test_endpoints_of_a_profile_without_isolation_are_not_in_a_vpc(runs):
    for run in runs.values():
        assert not of_type(run, "aws:ec2/vpc:Vpc")
        assert all(not m["inputs"].get("vpcConfig") for m in of_type(run, "aws:sagemaker/model:Model"))
