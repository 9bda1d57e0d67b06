"""aws-sagemaker's drift monitor under Pulumi's official mocks: the lab profile with monitoring.drift (and one
model's own baseline) through the real program, dev and prod; the lab profile without drift for contrast.
Assertions on the recorded graph against model_monitor.py's pure specs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from sagemaker_profile import lab_data

from resource_graph import camel, of_type, one
from mlinfra.conventions import TYPE_DATA_QUALITY_MONITOR, TYPE_ENVIRONMENT
from mlinfra.guardrails import context_from_graph, run_guardrails
from mlinfra.profiles import load_profile
from mlinfra.targets.aws.iam import service_trust_policy
from mlinfra.targets.aws.kms import key_policy
from mlinfra.targets.aws.notifications import topic_policy
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.model_monitor import data_quality_monitors

ACCOUNT = "123456789012"  # the offline mocks' account
REGION = "eu-west-1"  # the lab profile's
BASELINE = "s3://lab-baselines/ranker/v7/"
JOB = "aws:sagemaker/dataQualityJobDefinition:DataQualityJobDefinition"
SCHEDULE = "aws:sagemaker/monitoringSchedule:MonitoringSchedule"
RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
ENVS = ("dev", "prod")




@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    drift = lab_data(monitoring={**lab_data()["monitoring"], "drift": True})
    drift["models"][1]["drift_baseline"] = BASELINE
    out = {}
    for which, data in (("drift", drift), ("plain", lab_data())):
        path = tmp_path_factory.mktemp(which) / "profile.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        out[which] = path
    return out


@pytest.fixture(scope="module")
def runs(paths):
    from mlinfra.program import run_offline

    return {(which, env): run_offline(paths[which], env, target="aws-sagemaker") for which in paths for env in ENVS}


def _monitors(paths, env):
    profile = load_profile(str(paths["drift"]))
    return {m.model: m for m in data_quality_monitors(sagemaker_plan(profile, AwsSageMaker().plan(profile, env)))}


def _children(run, component: dict) -> dict[str, dict]:
    return {r["type"]: r for r in run.resources if r["parent"] == component["urn"]}


@pytest.mark.parametrize("env", ENVS)
def test_one_monitor_per_model_under_the_environment_after_its_endpoint(runs, env):
    run = runs[("drift", env)]
    scope = one(run, TYPE_ENVIRONMENT)
    monitors = of_type(run, TYPE_DATA_QUALITY_MONITOR)
    assert sorted(m["name"] for m in monitors) == ["sm-lab-ranker-drift", "sm-lab-scorer-drift"]
    endpoints = {e["name"]: e for e in of_type(run, "aws:sagemaker/endpoint:Endpoint")}
    for monitor in monitors:
        assert monitor["parent"] == scope["urn"]
        endpoint = endpoints[monitor["name"].removesuffix("-drift") + "-endpoint"]
        assert endpoint["urn"] in monitor["options"]["depends_on"], "created once the endpoint exists"
        children = _children(run, monitor)
        assert sorted(children) == sorted(["aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", JOB, SCHEDULE, RULE,
                                           EVENT_TARGET])
        assert all(c["name"].startswith(monitor["name"] + "-") for c in children.values())
    assert run.invokes == []
    assert run.outputs["drift_schedules"] == {"ranker": f"sm-lab-{env}-ranker-data-quality",
                                              "scorer": f"sm-lab-{env}-scorer-data-quality"}


@pytest.mark.parametrize("env", ENVS)
def test_the_schedule_runs_the_job_definition_the_builders_made(runs, paths, plain, env):
    run = runs[("drift", env)]
    store = one(run, "aws:s3/bucket:Bucket")["inputs"]["bucketPrefix"] + "mock"
    key_prefix = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"  # the stack's key (its id is the mocks')
    for model, spec in _monitors(paths, env).items():
        monitor = next(m for m in of_type(run, TYPE_DATA_QUALITY_MONITOR) if m["name"] == f"sm-lab-{model}-drift")
        children = _children(run, monitor)
        job, schedule, role = children[JOB], children[SCHEDULE], children["aws:iam/role:Role"]
        assert schedule["inputs"] == camel({**spec.schedule(job["inputs"]["name"]), "tags": {"mlinfra.io/model": model}})
        assert schedule["inputs"]["monitoringScheduleConfig"]["scheduleConfig"]["scheduleExpression"] == (
            "cron(0 * ? * * *)" if env == "prod" else "cron(0 0 ? * * *)")
        recorded = dict(job["inputs"])
        key = recorded["jobResources"]["clusterConfig"]["volumeKmsKeyId"]
        assert key.startswith(key_prefix) and recorded["dataQualityJobOutputConfig"]["kmsKeyId"] == key
        assert recorded.pop("tags") == {"mlinfra.io/model": model}
        role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role['name']}-mock"
        built = spec.job_definition(store_bucket=store, key_arn=key, endpoint_name=f"sm-lab-{env}-{model}",
                                    role_arn=role_arn)
        assert recorded.pop("name") == spec.job_definition_name(built)  # named by its content
        assert re.fullmatch(rf"sm-lab-{env}-{model}-dq-[0-9a-f]{{8}}", job["inputs"]["name"])
        expected = camel(built)
        expected["dataQualityAppSpecification"]["environment"] = {"publish_cloudwatch_metrics": "Enabled"}  # as is
        assert plain(recorded) == plain(expected)
        baseline = recorded["dataQualityBaselineConfig"]["constraintsResource"]["s3Uri"]
        assert baseline == (f"{BASELINE}constraints.json" if model == "ranker"
                            else f"s3://{store}/model-monitor/scorer/baseline/constraints.json")
        assert recorded["dataQualityAppSpecification"]["imageUri"] == (
            "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer")
        assert children["aws:iam/rolePolicy:RolePolicy"]["urn"] in job["options"]["depends_on"]


@pytest.mark.parametrize("env", ENVS)
def test_the_monitoring_role_is_sagemakers_and_holds_the_builders_policy(runs, paths, env):
    run = runs[("drift", env)]
    store = one(run, "aws:s3/bucket:Bucket")["inputs"]["bucketPrefix"] + "mock"
    for model, spec in _monitors(paths, env).items():
        monitor = next(m for m in of_type(run, TYPE_DATA_QUALITY_MONITOR) if m["name"] == f"sm-lab-{model}-drift")
        children = _children(run, monitor)
        assert json.loads(children["aws:iam/role:Role"]["inputs"]["assumeRolePolicy"]) == service_trust_policy(
            "sagemaker.amazonaws.com")
        policy = json.loads(children["aws:iam/rolePolicy:RolePolicy"]["inputs"]["policy"])
        key = children[JOB]["inputs"]["jobResources"]["clusterConfig"]["volumeKmsKeyId"]
        assert policy == spec.role_policy(partition="aws", account=ACCOUNT, store_bucket=store, key_arn=key)
        reads = next(s for s in policy["Statement"] if s["Sid"] == "ReadCapturedRequests")["Resource"]
        assert reads == f"arn:aws:s3:::{store}/data-capture/sm-lab-{env}-{model}/*"


@pytest.mark.parametrize("env", ENVS)
def test_violations_of_the_schedule_go_to_the_ticket_topic(runs, paths, env):
    run = runs[("drift", env)]
    ticket = next(t for t in of_type(run, TOPIC) if t["inputs"]["name"] == f"sm-lab-{env}-alerts-ticket")
    ticket_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{ticket['inputs']['name']}"
    for model, spec in _monitors(paths, env).items():
        monitor = next(m for m in of_type(run, TYPE_DATA_QUALITY_MONITOR) if m["name"] == f"sm-lab-{model}-drift")
        children = _children(run, monitor)
        schedule_arn = (f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:monitoring-schedule/"
                        f"{children[SCHEDULE]['inputs']['name']}")
        rule = children[RULE]["inputs"]
        assert json.loads(rule["eventPattern"]) == spec.event_pattern(schedule_arn)
        assert json.loads(rule["eventPattern"])["detail"]["ExitMessage"] == [{"prefix": "CompletedWithViolations"}]
        assert (rule["name"], rule["description"]) == (spec.rule()["name"], spec.rule()["description"])
        target = children[EVENT_TARGET]["inputs"]
        assert (target["rule"], target["arn"]) == (rule["name"], ticket_arn)
        assert target["inputTransformer"] == camel(spec.input_transformer())


@pytest.mark.parametrize("env", ENVS)
def test_eventbridge_may_publish_to_the_encrypted_topics_only_with_drift(runs, env):
    for which, expected in (("drift", True), ("plain", False)):
        run = runs[(which, env)]
        for policy in of_type(run, "aws:sns/topicPolicy:TopicPolicy"):
            recorded = json.loads(policy["inputs"]["policy"])
            assert recorded == topic_policy(policy["inputs"]["arn"], eventbridge=expected)
            assert ("EventBridgeRulesOfThisAccountPublish" in {s["Sid"] for s in recorded["Statement"]}) is expected
        key = json.loads(one(run, "aws:kms/keyPolicy:KeyPolicy")["inputs"]["policy"])
        assert key == key_policy(partition="aws", region=REGION, account=ACCOUNT, eventbridge=expected)
        assert ("EventBridgeRulesPublishToEncryptedTopics" in {s["Sid"] for s in key["Statement"]}) is expected


@pytest.mark.parametrize("env", ENVS)
def test_nothing_of_the_monitor_without_drift(runs, env):
    run = runs[("plain", env)]
    assert of_type(run, TYPE_DATA_QUALITY_MONITOR) == []
    assert [r for r in run.resources if r["type"] in (JOB, SCHEDULE, RULE, EVENT_TARGET)] == []
    assert "drift_schedules" not in run.outputs


@pytest.mark.parametrize("env", ENVS)
def test_guardrails_pass_with_the_monitor(runs, env):
    run = runs[("drift", env)]
    checks = run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))
    assert [c.id for c in checks if c.status == "fail"] == [], [c.violations for c in checks]
