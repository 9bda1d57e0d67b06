"""CloudWatchMonitoring: one model's alarms and dashboard, exactly as targets.aws_sagemaker.alarms and
dashboards build them; each notifying alarm sends ALARM and OK to the topics the notification plan routes it to
(its severity's, or its model owner's)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_CLOUDWATCH_MONITORING, child_name
from mlinfra.targets.aws_sagemaker.alarms import AlarmSpec


@dataclass(frozen=True, kw_only=True)
class CloudWatchMonitoringArgs:
    alarms: tuple[AlarmSpec, ...]
    dashboard_name: str
    dashboard_body: str  # JSON
    topic_arns: Mapping[str, pulumi.Input[str]]  # topic -> its ARN
    alarm_topics: Mapping[str, tuple[str, ...]]  # a notifying alarm's key -> the topics it notifies
    tags: dict[str, str] = field(default_factory=dict)


class CloudWatchMonitoring(pulumi.ComponentResource):
    alarm_names: list[str]
    dashboard_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: CloudWatchMonitoringArgs, *, provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_CLOUDWATCH_MONITORING, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        conditions: dict[str, list[pulumi.Resource]] = {}
        for alarm in args.alarms:
            actions = [args.topic_arns[t] for t in args.alarm_topics[alarm.key]] if alarm.severity else None
            if alarm.kind == "metric":
                resource = aws.cloudwatch.MetricAlarm(
                    child_name(name, alarm.key), **alarm.args, alarm_actions=actions, ok_actions=actions,
                    tags=dict(args.tags), opts=child,
                )
                if not alarm.notifies:
                    conditions.setdefault(alarm.alert, []).append(resource)
            else:  # its rule names the condition alarms: they exist first
                aws.cloudwatch.CompositeAlarm(
                    child_name(name, alarm.key), **alarm.args, alarm_actions=actions, ok_actions=actions,
                    tags=dict(args.tags),
                    opts=pulumi.ResourceOptions.merge(
                        child, pulumi.ResourceOptions(depends_on=conditions.get(alarm.alert, []))
                    ),
                )
        dashboard = aws.cloudwatch.Dashboard(
            child_name(name, "dashboard"), dashboard_name=args.dashboard_name, dashboard_body=args.dashboard_body,
            opts=child,
        )
        self.alarm_names = [a.name for a in args.alarms]
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"alarm_names": self.alarm_names, "dashboard_name": self.dashboard_name})
