"""DataQualityMonitor: one endpoint's drift monitor from targets.aws_sagemaker.model_monitor's spec - the monitoring
role and its policy, the data-quality job definition, the monitoring schedule, and the EventBridge rule that sends
the schedule's executions with violations to the alert topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlinfra.components.aws.iam import service_role
from mlinfra.conventions import TYPE_DATA_QUALITY_MONITOR, child_name
from mlinfra.targets.aws.arns import account_of, partition_of
from mlinfra.targets.aws_sagemaker.endpoints import SAGEMAKER_SERVICE
from mlinfra.targets.aws_sagemaker.model_monitor import MonitorSpec


@dataclass(frozen=True, kw_only=True)
class DataQualityMonitorArgs:
    monitor: MonitorSpec
    endpoint_name: pulumi.Input[str]  # the monitored endpoint's (the schedule waits for it)
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]  # the model store's
    topic_arn: pulumi.Input[str]  # where the monitor's severity routes


class DataQualityMonitor(pulumi.ComponentResource):
    schedule_name: pulumi.Output[str]
    schedule_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: DataQualityMonitorArgs, *, provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_DATA_QUALITY_MONITOR, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        spec, tags = args.monitor, dict(args.monitor.tags)

        role, _ = service_role(name, SAGEMAKER_SERVICE, (), child)

        def policy(values: list[str]) -> str:
            key_arn, bucket = values
            return json.dumps(spec.role_policy(partition=partition_of(key_arn), account=account_of(key_arn),
                                               store_bucket=bucket, key_arn=key_arn), sort_keys=True)

        role_policy = aws.iam.RolePolicy(
            child_name(name, "role-policy"), role=role.id,
            policy=pulumi.Output.all(args.kms_key_arn, args.bucket_name).apply(policy), opts=child,
        )
        definition = pulumi.Output.all(args.bucket_name, args.kms_key_arn, args.endpoint_name, role.arn).apply(
            lambda v: spec.job_definition(store_bucket=v[0], key_arn=v[1], endpoint_name=v[2], role_arn=v[3])
        )

        def part(key: str) -> pulumi.Output[Any]:
            return definition.apply(lambda d: d[key])

        job = aws.sagemaker.DataQualityJobDefinition(
            child_name(name, "job"),
            name=definition.apply(spec.job_definition_name),
            data_quality_app_specification=part("data_quality_app_specification"),
            data_quality_baseline_config=part("data_quality_baseline_config"),
            data_quality_job_input=part("data_quality_job_input"),
            data_quality_job_output_config=part("data_quality_job_output_config"),
            job_resources=part("job_resources"),
            network_config=part("network_config"),
            role_arn=part("role_arn"),
            stopping_condition=part("stopping_condition"),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[role_policy])),
        )
        schedule = aws.sagemaker.MonitoringSchedule(
            child_name(name, "schedule"), **spec.schedule(job.name), tags=tags, opts=child,  # type: ignore[arg-type]
        )
        rule = aws.cloudwatch.EventRule(
            child_name(name, "violations"), **spec.rule(),
            event_pattern=schedule.arn.apply(lambda arn: json.dumps(spec.event_pattern(arn), sort_keys=True)),
            tags=tags, opts=child,
        )
        aws.cloudwatch.EventTarget(
            child_name(name, "violations-topic"), rule=rule.name, arn=args.topic_arn,
            input_transformer=spec.input_transformer(), opts=child,
        )
        self.schedule_name = schedule.name
        self.schedule_arn = schedule.arn
        self.role_arn = role.arn
        self.register_outputs({"schedule_name": self.schedule_name, "schedule_arn": self.schedule_arn,
                               "role_arn": self.role_arn})
