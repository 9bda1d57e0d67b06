"""AlertTopics: the SNS topics of targets.aws.notifications' plan (KMS-encrypted, CloudWatch may publish, TLS
only) and their subscriptions; https endpoints come from the secret config values and stay Pulumi secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_ALERT_TOPICS, child_name
from mlinfra.targets.aws.notifications import NotificationPlan, topic_policy


@dataclass(frozen=True, kw_only=True)
class AlertTopicsArgs:
    notifications: NotificationPlan
    kms_key_arn: pulumi.Input[str]
    # secret config key -> its value, a Pulumi secret (None: the stack has no value); the program reads them
    secrets: Mapping[str, pulumi.Input[str] | None] = field(default_factory=dict)
    eventbridge: bool = False  # EventBridge rules of the account may publish too (targets.aws.notifications)


class AlertTopics(pulumi.ComponentResource):
    """One topic per route target (`page`, `ticket`), its policy, its subscriptions."""

    topic_arns: dict[str, pulumi.Output[str]]  # topic -> ARN

    def __init__(
        self, name: str, args: AlertTopicsArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_ALERT_TOPICS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        plan = args.notifications
        missing = [key for key in plan.secret_keys if args.secrets.get(key) is None]
        if missing:
            stack = pulumi.get_stack()
            raise pulumi.RunError(
                f"stack '{stack}' has no value for the secret config key(s) {', '.join(missing)} named in the profile's "
                f"monitoring.notify or owners.*.notify; set each once with `pulumi config set --secret -s {stack} KEY`"
            )
        topics = {
            topic: aws.sns.Topic(child_name(name, topic), name=topic_name, kms_master_key_id=args.kms_key_arn, opts=child)
            for topic, topic_name in sorted(plan.topics.items())
        }
        eventbridge = args.eventbridge
        for topic, resource in topics.items():
            aws.sns.TopicPolicy(
                child_name(name, f"{topic}-policy"), arn=resource.arn,
                policy=resource.arn.apply(lambda arn: json.dumps(topic_policy(arn, eventbridge=eventbridge),
                                                                 sort_keys=True)),
                opts=child,
            )
        for sub in plan.subscriptions:
            if sub.secret_key:
                template = sub.endpoint_template
                endpoint: pulumi.Input[str] = pulumi.Output.secret(args.secrets[sub.secret_key]).apply(template.format)
            else:
                endpoint = sub.endpoint or ""
            aws.sns.TopicSubscription(
                child_name(name, sub.name), topic=topics[sub.topic].arn, protocol=sub.protocol, endpoint=endpoint,
                opts=child,
            )
        self.topic_arns = {topic: resource.arn for topic, resource in topics.items()}
        self.register_outputs({"topic_arns": self.topic_arns})
