"""The drift monitor of one model's endpoint: a SageMaker Model Monitor data-quality schedule over the requests the
endpoint captures, and the alert on its violations - as plain data. components/sagemaker_monitor.py creates exactly
these; `render` writes them; cost.py prices the schedule's processing hours.

What runs: every period (hourly in prod, daily in dev and staging - `schedule_expression`) SageMaker starts a
processing job on one ml.m5.xlarge with AWS's own analyzer image (`sagemaker-model-monitor-analyzer`, the account
per region below). It reads the period's captured requests (`data-capture/<endpoint>/`), compares their statistics
with the model's baseline (`constraints.json`, `statistics.json` under `models[].drift_baseline`, default
`model-monitor/<model>/baseline/` in the model store), writes its reports to `model-monitor/<model>/reports/` and,
with `publish_cloudwatch_metrics` Enabled, per-feature metrics (`feature_baseline_drift_<feature>`, ...) to
CloudWatch (namespace aws/sagemaker/Endpoints/data-metrics, dimensions Endpoint and MonitoringSchedule).

The alert (MLModelDriftHigh, warning): an execution that finds violations ends with the processing job status
`Completed` and an exit message starting with `CompletedWithViolations` (its monitoring execution status); SageMaker
sends a "SageMaker Processing Job State Change" event for it, naming the schedule (MonitoringScheduleArn). An
EventBridge rule matching those events notifies the topic the warning severity routes to. This needs no feature
names - the per-feature metrics do, and the profile has none - so it works for any profile. Executions that fail
(no baseline yet, no captured data) do not match: see the target's README.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from mlinfra.conventions import ALERT_DRIFT_HIGH, k8s_name, runbook_url
from mlinfra.monitoring.rules import SEVERITY
from mlinfra.planning.plan import PlanError
from mlinfra.targets.aws.arns import log_group_arn, split_s3_uri
from mlinfra.targets.aws_sagemaker.endpoints import EndpointSpec, SageMakerPlan

MONITORING_TYPE = "DataQuality"
ANALYZER_REPOSITORY = "sagemaker-model-monitor-analyzer"
# AWS's registry account of the analyzer image per region. Source: aws/sagemaker-python-sdk
# sagemaker-core/src/sagemaker/core/image_uri_config/model-monitor.json (commit a248126, 2026-08-21), which
# `sagemaker.image_uris.retrieve("model-monitor", region)` reads; the ISO regions (us-isof-*) are left out.
ANALYZER_ACCOUNTS = {
    "af-south-1": "875698925577",
    "ap-east-1": "001633400207",
    "ap-northeast-1": "574779866223",
    "ap-northeast-2": "709848358524",
    "ap-northeast-3": "990339680094",
    "ap-south-1": "126357580389",
    "ap-southeast-1": "245545462676",
    "ap-southeast-2": "563025443158",
    "ap-southeast-3": "669540362728",
    "ca-central-1": "536280801234",
    "cn-north-1": "453000072557",
    "cn-northwest-1": "453252182341",
    "eu-central-1": "048819808253",
    "eu-central-2": "590183933784",
    "eu-north-1": "895015795356",
    "eu-south-1": "933208885752",
    "eu-south-2": "437450045455",
    "eu-west-1": "468650794304",
    "eu-west-2": "749857270468",
    "eu-west-3": "680080141114",
    "il-central-1": "843974653677",
    "me-central-1": "588750061953",
    "me-south-1": "607024016150",
    "sa-east-1": "539772159869",
    "us-east-1": "156813124566",
    "us-east-2": "777275614652",
    "us-west-1": "890145073186",
    "us-west-2": "159807026194",
}
MONITOR_PREFIX = "model-monitor/"  # model-monitor/<model>/baseline/ and reports/ in the model store
BASELINE_FILES = ("constraints.json", "statistics.json")  # what a baselining job (suggest_baseline) writes
# Where the analyzer finds its input and leaves its output in the container (the SDK's defaults).
ENDPOINT_LOCAL_PATH = "/opt/ml/processing/input/endpoint"
OUTPUT_LOCAL_PATH = "/opt/ml/processing/output"
INSTANCE_TYPE = "ml.m5.xlarge"  # the SDK's default for Model Monitor jobs
INSTANCE_COUNT = 1
VOLUME_SIZE_GB = 30  # the SDK's default; a period of a 10 % sample fits many times over
MAX_RUNTIME_SECONDS = 3600  # a data-quality run of an hourly schedule may take at most the hour (API limit)
EXPECTED_RUN_MINUTES = 10  # billed time of one run (start-up and Spark analysis of a period's sample): priced
# prod: hourly, so drift on real traffic is reported within the hour, like the Kubernetes drift alert. dev and
# staging: daily - their traffic is sparse (an hour of a 10 % sample is often empty, a run without data fails),
# their alerts only ticket, and a daily run costs 1/24 of the hourly one.
HOURLY = "cron(0 * ? * * *)"
DAILY = "cron(0 0 ? * * *)"
PUBLISH_METRICS_ENV = {"publish_cloudwatch_metrics": "Enabled"}
# The event an execution with violations sends, and how it is told apart (module docstring).
EVENT_SOURCE = "aws.sagemaker"
EVENT_DETAIL_TYPE = "SageMaker Processing Job State Change"
VIOLATIONS_STATUS = "CompletedWithViolations"
PROCESSING_LOG_GROUP = "/aws/sagemaker/ProcessingJobs"  # SageMaker's log group of every processing job
NAME_MAX = 63  # schedule and job definition names: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}
RULE_NAME_MAX = 64


class MonitorRegionError(PlanError):
    """The region has no Model Monitor analyzer image in the table."""


def analyzer_image(region: str) -> str:
    """The analyzer image of `region`, as the SageMaker SDK names it (MonitorRegionError where AWS publishes none)."""
    if region not in ANALYZER_ACCOUNTS:
        raise MonitorRegionError(region_problem(region))
    domain = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"{ANALYZER_ACCOUNTS[region]}.dkr.ecr.{region}.{domain}/{ANALYZER_REPOSITORY}"


def region_problem(region: str) -> str:
    return (
        f"monitoring.drift is on and cloud.region is '{region}', where SageMaker Model Monitor's analyzer image is not "
        f"published; regions with it: {', '.join(sorted(ANALYZER_ACCOUNTS))} - set cloud.region to one of them or "
        "monitoring.drift: false"
    )


def schedule_expression(tier: str) -> str:
    """Hourly in prod, daily in dev and staging (see HOURLY/DAILY)."""
    return HOURLY if tier == "prod" else DAILY


def runs_per_month(expression: str, hours_per_month: float) -> float:
    return hours_per_month if expression == HOURLY else hours_per_month / 24


@dataclass(frozen=True, kw_only=True)
class MonitorSpec:
    """The data-quality schedule of one endpoint and the alert on its violations."""

    model: str
    endpoint_name: str
    environment: str
    region: str
    schedule_name: str
    schedule_expression: str
    capture_prefix: str  # data-capture/<endpoint>/ in the model store
    baseline: str | None  # models[].drift_baseline, an s3:// prefix ending in '/'; None: the store's placeholder
    rule_name: str
    severity: str
    runbook: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def image_uri(self) -> str:
        return analyzer_image(self.region)

    @property
    def prefix(self) -> str:
        return f"{MONITOR_PREFIX}{self.model}/"

    @property
    def reports_prefix(self) -> str:
        return f"{self.prefix}reports/"

    @property
    def baseline_placeholder(self) -> str:
        """Where the baseline goes when the profile names none (the target's README says how to write it)."""
        return f"{self.prefix}baseline/"

    def baseline_uri(self, store_bucket: str) -> str:
        return self.baseline or f"s3://{store_bucket}/{self.baseline_placeholder}"

    def reports_uri(self, store_bucket: str) -> str:
        return f"s3://{store_bucket}/{self.reports_prefix}"

    def analyzer_repository_arn(self, partition: str) -> str:
        return f"arn:{partition}:ecr:{self.region}:{ANALYZER_ACCOUNTS[self.region]}:repository/{ANALYZER_REPOSITORY}"

    def job_definition(self, *, store_bucket: str, key_arn: str, endpoint_name: str, role_arn: str) -> dict[str, Any]:
        """The DataQualityJobDefinition's arguments but its name (pulumi-aws names; `job_definition_name`)."""
        baseline = self.baseline_uri(store_bucket)
        return {
            "data_quality_app_specification": {"image_uri": self.image_uri, "environment": dict(PUBLISH_METRICS_ENV)},
            "data_quality_baseline_config": {
                "constraints_resource": {"s3_uri": f"{baseline}{BASELINE_FILES[0]}"},
                "statistics_resource": {"s3_uri": f"{baseline}{BASELINE_FILES[1]}"},
            },
            "data_quality_job_input": {
                "endpoint_input": {
                    "endpoint_name": endpoint_name,
                    "local_path": ENDPOINT_LOCAL_PATH,
                    "s3_input_mode": "File",
                    "s3_data_distribution_type": "FullyReplicated",
                }
            },
            "data_quality_job_output_config": {
                "kms_key_id": key_arn,
                "monitoring_outputs": {
                    "s3_output": {
                        "s3_uri": self.reports_uri(store_bucket),
                        "local_path": OUTPUT_LOCAL_PATH,
                        "s3_upload_mode": "EndOfJob",
                    }
                },
            },
            "job_resources": {
                "cluster_config": {
                    "instance_count": INSTANCE_COUNT,
                    "instance_type": INSTANCE_TYPE,
                    "volume_size_in_gb": VOLUME_SIZE_GB,
                    "volume_kms_key_id": key_arn,
                }
            },
            # the analyzer reads and writes local paths only (SageMaker moves the data and publishes the metrics
            # files it writes), so its container gets no network
            "network_config": {"enable_network_isolation": True, "enable_inter_container_traffic_encryption": True},
            "role_arn": role_arn,
            "stopping_condition": {"max_runtime_in_seconds": MAX_RUNTIME_SECONDS},
        }

    def job_definition_name(self, definition: dict[str, Any]) -> str:
        """`<endpoint>-dq-<8 hex of the definition>`, at most 63 characters. Job definitions cannot be updated: a
        changed one gets a new name, so it is created before the schedule moves to it and the old one is deleted."""
        digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:8]
        return f"{k8s_name(self.endpoint_name, 'dq', max_len=NAME_MAX - 9)}-{digest}"

    def schedule(self, job_definition_name: str) -> dict[str, Any]:
        """The MonitoringSchedule's arguments."""
        return {
            "name": self.schedule_name,
            "monitoring_schedule_config": {
                "monitoring_job_definition_name": job_definition_name,
                "monitoring_type": MONITORING_TYPE,
                "schedule_config": {"schedule_expression": self.schedule_expression},
            },
        }

    def event_pattern(self, schedule_arn: str) -> dict[str, Any]:
        """Executions of this schedule that completed with violations."""
        return {
            "source": [EVENT_SOURCE],
            "detail-type": [EVENT_DETAIL_TYPE],
            "detail": {
                "MonitoringScheduleArn": [schedule_arn],
                "ProcessingJobStatus": ["Completed"],
                "ExitMessage": [{"prefix": VIOLATIONS_STATUS}],
            },
        }

    def rule(self) -> dict[str, Any]:
        """The EventRule's arguments but its pattern (which names the schedule's ARN)."""
        return {
            "name": self.rule_name,
            "description": (
                f"{ALERT_DRIFT_HIGH} ({self.severity}): {self.model} ({self.environment}, endpoint "
                f"{self.endpoint_name}): Model Monitor found data-quality violations"
            )[:512],
        }

    def input_transformer(self) -> dict[str, Any]:
        """What the topic's subscribers read: a sentence with the execution, its result and the runbook."""
        text = (
            f"{ALERT_DRIFT_HIGH} ({self.severity}): {self.model} ({self.environment}, endpoint {self.endpoint_name}): "
            f"SageMaker Model Monitor schedule {self.schedule_name} found data-quality violations against the "
            "baseline - <exit> (execution <job>, <time>). Reports: "
            f"{self.reports_prefix} in the model store; captured requests: {self.capture_prefix}. "
            f"Runbook: {self.runbook}"
        )
        return {
            "input_paths": {"exit": "$.detail.ExitMessage", "job": "$.detail.ProcessingJobName", "time": "$.time"},
            "input_template": f'"{text}"',  # a JSON string: SNS sends it as the message text
        }

    def role_policy(self, *, partition: str, account: str, store_bucket: str, key_arn: str) -> dict[str, Any]:
        """The monitoring role: read this endpoint's captured requests and the baseline, write the reports, use
        the stack's key, write processing-job logs, pull the analyzer image - nothing else."""
        store = f"arn:{partition}:s3:::{store_bucket}"
        baseline_bucket, baseline_key = split_s3_uri(self.baseline_uri(store_bucket))
        logs = log_group_arn(partition, self.region, account, PROCESSING_LOG_GROUP)
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListCapturedRequests",
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": store,
                    "Condition": {"StringLike": {"s3:prefix": [f"{self.capture_prefix}*"]}},
                },
                {
                    "Sid": "ReadCapturedRequests",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"{store}/{self.capture_prefix}*",
                },
                {
                    "Sid": "ReadTheBaseline",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": [f"arn:{partition}:s3:::{baseline_bucket}/{baseline_key}{f}" for f in BASELINE_FILES],
                },
                {"Sid": "WriteTheReports", "Effect": "Allow", "Action": "s3:PutObject",
                 "Resource": f"{store}/{self.reports_prefix}*"},
                {
                    "Sid": "UseTheStackKey",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                },
                {
                    # the processing instance's volume is encrypted with the key through a grant SageMaker creates
                    "Sid": "GrantTheKeyToTheVolume",
                    "Effect": "Allow",
                    "Action": "kms:CreateGrant",
                    "Resource": key_arn,
                    "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
                },
                {
                    "Sid": "WriteProcessingJobLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams",
                               "logs:PutLogEvents"],
                    "Resource": [logs, f"{logs}:*"],
                },
                {
                    "Sid": "PublishDataQualityMetrics",
                    "Effect": "Allow",
                    "Action": "cloudwatch:PutMetricData",
                    "Resource": "*",
                    # AWS's pages spell the namespace with and without the leading '/' and the trailing 's'
                    "Condition": {"StringLike": {"cloudwatch:namespace": "*aws/sagemaker/Endpoint*/data-metric*"}},
                },
                {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                {
                    "Sid": "PullTheAnalyzerImage",
                    "Effect": "Allow",
                    "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Resource": self.analyzer_repository_arn(partition),
                },
            ],
        }


def monitor_spec(sm: SageMakerPlan, spec: EndpointSpec) -> MonitorSpec | None:
    """The endpoint's monitor, when it captures requests (monitoring.drift); None otherwise."""
    if not spec.data_capture:
        return None
    baseline = sm.drift_baselines.get(spec.model)
    if baseline is not None and not baseline.endswith("/"):
        baseline += "/"
    severity = SEVERITY[ALERT_DRIFT_HIGH]
    return MonitorSpec(
        model=spec.model,
        endpoint_name=spec.endpoint_name,
        environment=sm.plan.environment,
        region=sm.region,
        schedule_name=k8s_name(spec.endpoint_name, "data-quality", max_len=NAME_MAX),
        schedule_expression=schedule_expression(sm.plan.tier),
        capture_prefix=spec.capture_prefix,
        baseline=baseline,
        rule_name=k8s_name(spec.endpoint_name, "drift-violations", max_len=RULE_NAME_MAX),
        severity=severity,
        runbook=runbook_url(ALERT_DRIFT_HIGH, sm.plan.monitoring.runbook_url),
        tags=dict(spec.tags),
    )


def data_quality_monitors(sm: SageMakerPlan) -> tuple[MonitorSpec, ...]:
    """The monitor of every endpoint that captures requests, in the endpoints' order."""
    return tuple(m for m in (monitor_spec(sm, spec) for spec in sm.endpoints) if m is not None)
