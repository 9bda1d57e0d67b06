"""aws-sagemaker's drift monitor as plain data (targets/aws_sagemaker/model_monitor.py): the Model Monitor
data-quality schedule per environment tier, the analyzer image per region, the job definition's URIs, the
monitoring role's prefixes, the violations rule - and its priced processing hours (cost.py)."""

from __future__ import annotations

import pytest
from sagemaker_profile import lab_data

from mlinfra.costs.prices import price_table
from mlinfra.profiles import ProfileError, profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.aws.kms import key_policy
from mlinfra.targets.aws.notifications import topic_policy
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.cost import estimate_sagemaker
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.render import describe
from mlinfra.targets.aws_sagemaker.model_monitor import (
    MonitorRegionError,
    analyzer_image,
    data_quality_monitors,
)

TARGET = AwsSageMaker()
DRIFT = {**lab_data()["monitoring"], "drift": True}
STORE = "sm-lab-prod-models-x7"
KEY = "arn:aws:kms:eu-west-1:210987654321:key/k-42"
ROLE = "arn:aws:iam::210987654321:role/monitor-17"
BASELINE_RANKER = "s3://ml-baselines/ranker/v7/"


def _data(**patch):
    return lab_data(**{"monitoring": DRIFT, "environments": {"dev": {}, "qa": {}, "prod": {"max_replicas": 7}}, **patch})


def _monitors(env="prod", data=None):
    profile = profile_from_data(data or _data())
    return {m.model: m for m in data_quality_monitors(sagemaker_plan(profile, TARGET.plan(profile, env)))}


@pytest.mark.parametrize(("env", "expression"), [
    pytest.param("prod", "cron(0 * ? * * *)", id="prod-hourly"),
    pytest.param("qa", "cron(0 0 ? * * *)", id="staging-daily"),
    pytest.param("dev", "cron(0 0 ? * * *)", id="dev-daily"),
])
def test_the_schedule_runs_hourly_in_prod_and_daily_elsewhere(env, expression):
    monitors = _monitors(env)
    assert set(monitors) == {"scorer", "ranker"}, "every endpoint captures with monitoring.drift"
    assert {m.schedule_expression for m in monitors.values()} == {expression}
    assert monitors["scorer"].schedule("job-3") == {
        "name": f"sm-lab-{env}-scorer-data-quality",
        "monitoring_schedule_config": {
            "monitoring_job_definition_name": "job-3",
            "monitoring_type": "DataQuality",
            "schedule_config": {"schedule_expression": expression},
        },
    }


def test_no_monitor_without_drift():
    profile = profile_from_data(lab_data())
    assert data_quality_monitors(sagemaker_plan(profile, TARGET.plan(profile, "prod"))) == ()


@pytest.mark.parametrize(("region", "image"), [
    pytest.param("eu-west-1", "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer", id="eu-west-1"),
    pytest.param("eu-central-1", "048819808253.dkr.ecr.eu-central-1.amazonaws.com/sagemaker-model-monitor-analyzer", id="eu-central-1"),
    pytest.param("us-east-1", "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer", id="us-east-1"),
    pytest.param("cn-north-1", "453000072557.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-model-monitor-analyzer", id="china"),
])
def test_the_analyzer_image_is_aws_own_for_the_region(region, image):
    assert analyzer_image(region) == image


def test_a_region_without_the_analyzer_is_infeasible_and_says_so():
    with pytest.raises(MonitorRegionError, match="cloud.region is 'ap-south-2', where SageMaker Model Monitor's analyzer"):
        analyzer_image("ap-south-2")
    far = profile_from_data(_data(data={"sovereignty": "none"}, cloud={"region": "ap-south-2"}))
    problems = TARGET.feasibility(far)
    assert any(p.startswith("monitoring.drift is on and cloud.region is 'ap-south-2'") and "eu-west-1" in p
               and p.endswith("set cloud.region to one of them or monitoring.drift: false") for p in problems)
    assert TARGET.feasibility(profile_from_data(lab_data(data={"sovereignty": "none"}, cloud={"region": "ap-south-2"}))) \
        == [p for p in problems if not p.startswith("monitoring.drift")], "without drift the region is no problem"


def test_the_job_reads_the_endpoint_and_baseline_and_writes_reports_encrypted():
    job = _monitors()["scorer"].job_definition(store_bucket=STORE, key_arn=KEY, endpoint_name="ep-9", role_arn=ROLE)
    assert job == {
        "data_quality_app_specification": {
            "image_uri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-model-monitor-analyzer",
            "environment": {"publish_cloudwatch_metrics": "Enabled"},
        },
        "data_quality_baseline_config": {
            "constraints_resource": {"s3_uri": f"s3://{STORE}/model-monitor/scorer/baseline/constraints.json"},
            "statistics_resource": {"s3_uri": f"s3://{STORE}/model-monitor/scorer/baseline/statistics.json"},
        },
        "data_quality_job_input": {"endpoint_input": {
            "endpoint_name": "ep-9", "local_path": "/opt/ml/processing/input/endpoint", "s3_input_mode": "File",
            "s3_data_distribution_type": "FullyReplicated",
        }},
        "data_quality_job_output_config": {"kms_key_id": KEY, "monitoring_outputs": {"s3_output": {
            "s3_uri": f"s3://{STORE}/model-monitor/scorer/reports/", "local_path": "/opt/ml/processing/output",
            "s3_upload_mode": "EndOfJob",
        }}},
        "job_resources": {"cluster_config": {
            "instance_count": 1, "instance_type": "ml.m5.xlarge", "volume_size_in_gb": 30, "volume_kms_key_id": KEY,
        }},
        "network_config": {"enable_network_isolation": True, "enable_inter_container_traffic_encryption": True},
        "role_arn": ROLE,
        "stopping_condition": {"max_runtime_in_seconds": 3600},
    }


def test_the_job_definition_is_named_by_its_content_within_63_characters():
    scorer = _monitors()["scorer"]
    job = scorer.job_definition(store_bucket=STORE, key_arn=KEY, endpoint_name="ep-9", role_arn=ROLE)
    name = scorer.job_definition_name(job)
    assert name.startswith("sm-lab-prod-scorer-dq-") and len(name) == len("sm-lab-prod-scorer-dq-") + 8
    assert scorer.job_definition_name(dict(job)) == name, "the same definition, the same name"
    moved = scorer.job_definition(store_bucket="other-store-5", key_arn=KEY, endpoint_name="ep-9", role_arn=ROLE)
    assert scorer.job_definition_name(moved) != name, "a changed definition is a new one (they cannot be updated)"
    long = _data(name="a" * 40, environments={"production-eu": {}})
    long["models"][0]["name"] = "m" * 40
    (monitor,) = [m for m in _monitors("production-eu", long).values() if m.model == "m" * 40]
    assert len(monitor.job_definition_name(job)) == 63 and len(monitor.schedule_name) <= 63
    assert len(monitor.rule_name) <= 64


def test_a_profile_baseline_is_read_where_it_is():
    data = _data()
    data["models"][1]["drift_baseline"] = "s3://ml-baselines/ranker/v7"
    ranker = _monitors(data=data)["ranker"]
    job = ranker.job_definition(store_bucket=STORE, key_arn=KEY, endpoint_name="ep-9", role_arn=ROLE)
    assert job["data_quality_baseline_config"] == {
        "constraints_resource": {"s3_uri": "s3://ml-baselines/ranker/v7/constraints.json"},
        "statistics_resource": {"s3_uri": "s3://ml-baselines/ranker/v7/statistics.json"},
    }
    policy = ranker.role_policy(partition="aws", account="210987654321", store_bucket=STORE, key_arn=KEY)
    assert next(s for s in policy["Statement"] if s["Sid"] == "ReadTheBaseline")["Resource"] == [
        "arn:aws:s3:::ml-baselines/ranker/v7/constraints.json", "arn:aws:s3:::ml-baselines/ranker/v7/statistics.json",
    ]
    assert _monitors(data=data)["scorer"].baseline is None, "the other model keeps the store's placeholder"


@pytest.mark.parametrize(("baseline", "ok"), [
    pytest.param("s3://ml-baselines/scorer/v3/", True, id="prefix"),
    pytest.param("s3://ml-baselines", True, id="bucket"),
    pytest.param("https://ml-baselines.example.org/scorer/", False, id="https"),
    pytest.param("s3://ML_Baselines/scorer/", False, id="bad-bucket"),
    pytest.param("s3://ml-baselines/with space/", False, id="space"),
])
def test_drift_baseline_takes_s3_prefixes_only(baseline, ok):
    data = _data()
    data["models"][0]["drift_baseline"] = baseline
    if ok:
        assert profile_from_data(data).models[0].drift_baseline == baseline
        return
    with pytest.raises(ProfileError) as exc:
        profile_from_data(data, "p.yaml")
    assert [str(p) for p in exc.value.problems] == [
        "models[0].drift_baseline: must be an s3:// prefix holding constraints.json and statistics.json, "
        f"e.g. s3://ml-baselines/scorer/v3/ (got '{baseline}')"
    ]


def test_the_monitoring_role_reaches_its_own_prefixes_only():
    policy = _monitors()["scorer"].role_policy(partition="aws", account="210987654321", store_bucket=STORE, key_arn=KEY)
    store = f"arn:aws:s3:::{STORE}"
    logs = "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/sagemaker/ProcessingJobs"
    assert policy == {"Version": "2012-10-17", "Statement": [
        {"Sid": "ListCapturedRequests", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": store,
         "Condition": {"StringLike": {"s3:prefix": ["data-capture/sm-lab-prod-scorer/*"]}}},
        {"Sid": "ReadCapturedRequests", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": f"{store}/data-capture/sm-lab-prod-scorer/*"},
        {"Sid": "ReadTheBaseline", "Effect": "Allow", "Action": "s3:GetObject",
         "Resource": [f"{store}/model-monitor/scorer/baseline/constraints.json",
                      f"{store}/model-monitor/scorer/baseline/statistics.json"]},
        {"Sid": "WriteTheReports", "Effect": "Allow", "Action": "s3:PutObject",
         "Resource": f"{store}/model-monitor/scorer/reports/*"},
        {"Sid": "UseTheStackKey", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
         "Resource": KEY},
        {"Sid": "GrantTheKeyToTheVolume", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": KEY,
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Sid": "WriteProcessingJobLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": [logs, f"{logs}:*"]},
        {"Sid": "PublishDataQualityMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringLike": {"cloudwatch:namespace": "*aws/sagemaker/Endpoint*/data-metric*"}}},
        {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PullTheAnalyzerImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
         "Resource": "arn:aws:ecr:eu-west-1:468650794304:repository/sagemaker-model-monitor-analyzer"},
    ]}


def test_violations_of_this_schedule_reach_the_warning_topic():
    scorer = _monitors()["scorer"]
    arn = "arn:aws:sagemaker:eu-west-1:210987654321:monitoring-schedule/sm-lab-prod-scorer-data-quality"
    assert scorer.event_pattern(arn) == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Processing Job State Change"],
        "detail": {
            "MonitoringScheduleArn": [arn],
            "ProcessingJobStatus": ["Completed"],
            "ExitMessage": [{"prefix": "CompletedWithViolations"}],
        },
    }
    assert (scorer.severity, scorer.rule()["name"]) == ("warning", "sm-lab-prod-scorer-drift-violations")
    transformer = scorer.input_transformer()
    assert transformer["input_paths"] == {"exit": "$.detail.ExitMessage", "job": "$.detail.ProcessingJobName", "time": "$.time"}
    text = transformer["input_template"]
    assert text.startswith('"MLModelDriftHigh (warning): scorer (prod, endpoint sm-lab-prod-scorer): ') and text.endswith('"')
    assert "<exit> (execution <job>, <time>)" in text and text.count('"') == 2
    assert "Runbook: https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md#mlmodeldrifthigh" in text


def test_the_processing_hours_are_priced_per_tier():
    prices = {"costs": {"usd_to_eur": 0.9, "prices": {"sagemaker-processing/ml.m5.xlarge/eu-west-1": 0.31}}}

    def line(env, monitoring=DRIFT):
        profile = profile_from_data(_data(monitoring=monitoring, **prices))
        estimate = estimate_sagemaker(profile, TARGET.plan(profile, env), resolve_environment(profile, env),
                                      price_table(profile))
        return [ln for ln in estimate.lines if ln.item.startswith("SageMaker Model Monitor")]

    (prod,) = line("prod")
    assert prod.item == "SageMaker Model Monitor: 2 data-quality schedules, 243.3 processing hours on ml.m5.xlarge"
    assert prod.monthly_eur == pytest.approx(2 * 730 * 10 / 60 * 0.31 * 0.9, abs=0.006)  # 67.89
    assert prod.price_keys == ("sagemaker-processing/ml.m5.xlarge/eu-west-1",)
    assert prod.note.startswith("1460 runs a month (hourly) x 10 min (assumed)")
    (dev,) = line("dev")
    assert dev.monthly_eur == pytest.approx(2 * 730 / 24 * 10 / 60 * 0.31 * 0.9, abs=0.006)  # 2.83
    assert "60.8 runs a month (daily)" in dev.note
    assert line("prod", lab_data()["monitoring"]) == [], "no drift, no schedule, nothing priced"


def test_the_shipped_processing_price_is_unconfirmed_and_derived_for_frankfurt():
    table = price_table(profile_from_data(lab_data()))
    us, eu = table.get("sagemaker-processing/ml.m5.xlarge/us-east-1"), table.get("sagemaker-processing/ml.m5.xlarge/eu-central-1")
    assert (us.value, us.confidence) == (0.23, "U")
    assert eu.confidence == "U" and eu.value == pytest.approx(0.23 * 0.23 / 0.192)


def test_render_writes_the_monitor_of_every_capturing_endpoint():
    profile = profile_from_data(_data())
    doc = describe(sagemaker_plan(profile, TARGET.plan(profile, "prod")))
    scorer = next(e for e in doc["endpoints"] if e["model"] == "scorer")["model_monitor"]
    assert scorer["baseline"] == {"s3_uri": "s3://<model-store-bucket>/model-monitor/scorer/baseline/",
                                  "from_profile": False}
    assert scorer["schedule"]["monitoring_schedule_config"]["schedule_config"] == {"schedule_expression": "cron(0 * ? * * *)"}
    assert scorer["job_definition"]["data_quality_job_input"]["endpoint_input"]["endpoint_name"] == "sm-lab-prod-scorer"
    rule = scorer["violations_rule"]
    assert (rule["name"], rule["severity"], rule["topic"]) == ("sm-lab-prod-scorer-drift-violations", "warning", "ticket")
    assert rule["event_pattern"]["detail"]["MonitoringScheduleArn"] == [
        "arn:<partition>:sagemaker:eu-west-1:<account>:monitoring-schedule/sm-lab-prod-scorer-data-quality"]
    plain = profile_from_data(lab_data())
    assert all("model_monitor" not in e for e in describe(sagemaker_plan(plain, TARGET.plan(plain, "prod")))["endpoints"])


def test_decide_says_which_baselines_are_missing():
    data = _data()
    data["models"][1]["drift_baseline"] = BASELINE_RANKER
    (drift,) = [c for c in TARGET.consequences(profile_from_data(data)) if c.startswith("monitoring.drift")]
    assert "write constraints.json and statistics.json for scorer (DefaultModelMonitor.suggest_baseline" in drift
    assert "hourly in prod, daily elsewhere" in drift and "closed to new AWS customers" in drift
    data["models"][0]["drift_baseline"] = BASELINE_RANKER
    (drift,) = [c for c in TARGET.consequences(profile_from_data(data)) if c.startswith("monitoring.drift")]
    assert "the baselines are the profile's models[].drift_baseline" in drift
    assert "DataQualityMonitor" in TARGET.components(profile_from_data(data))
    plain = profile_from_data(lab_data())
    assert not [c for c in TARGET.consequences(plain) if c.startswith("monitoring.drift")]
    assert "DataQualityMonitor" not in TARGET.components(plain)


def test_eventbridge_may_publish_to_the_encrypted_topics_when_asked():
    arn = "arn:aws:sns:eu-west-1:210987654321:sm-lab-prod-alerts-ticket"
    plain, events = topic_policy(arn), topic_policy(arn, eventbridge=True)
    assert events["Statement"] == [plain["Statement"][0], {
        "Sid": "EventBridgeRulesOfThisAccountPublish",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": arn,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "210987654321"},
            "ArnLike": {"aws:SourceArn": "arn:aws:events:eu-west-1:210987654321:rule/*"},
        },
    }, *plain["Statement"][1:]]
    key = key_policy(partition="aws", region="eu-west-1", account="210987654321", eventbridge=True)
    assert key["Statement"][:-1] == key_policy(partition="aws", region="eu-west-1", account="210987654321")["Statement"]
    assert key["Statement"][-1] == {
        "Sid": "EventBridgeRulesPublishToEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
    }
