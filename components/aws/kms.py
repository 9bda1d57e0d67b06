"""EncryptionKey: the stack's one KMS key (rotation on), its key policy and alias.

The key is created with AWS's default policy and then given targets.aws.kms.key_policy, whose account comes from
the key's own ARN - no invoke (get_caller_identity) needed. `arn` resolves only after that policy is in place, so a
log group or topic encrypted with it is created once CloudWatch may use the key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_ENCRYPTION_KEY, child_name
from mlinfra.targets.aws.arns import account_of, partition_of
from mlinfra.targets.aws.kms import DELETION_WINDOW_DAYS, key_policy


@dataclass(frozen=True, kw_only=True)
class EncryptionKeyArgs:
    alias: str  # targets.aws.kms.key_alias
    region: str
    description: str
    protect: bool = False  # production: a deleted key makes everything it encrypted unreadable
    eventbridge: bool = False  # EventBridge rules publish to topics encrypted with it (targets.aws.kms.key_policy)


def policy_document(key_arn: str, region: str, eventbridge: bool = False) -> str:
    return json.dumps(
        key_policy(partition=partition_of(key_arn), region=region, account=account_of(key_arn),
                   eventbridge=eventbridge),
        sort_keys=True,
    )


class EncryptionKey(pulumi.ComponentResource):
    """Key (rotation on, 30-day deletion window), key policy, alias."""

    arn: pulumi.Output[str]
    key_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: EncryptionKeyArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_ENCRYPTION_KEY, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        key = aws.kms.Key(
            child_name(name, "key"),
            description=args.description, enable_key_rotation=True, deletion_window_in_days=DELETION_WINDOW_DAYS,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        region, eventbridge = args.region, args.eventbridge
        policy = aws.kms.KeyPolicy(
            child_name(name, "policy"), key_id=key.key_id,
            policy=key.arn.apply(lambda arn: policy_document(arn, region, eventbridge)),
            opts=child,
        )
        aws.kms.Alias(child_name(name, "alias"), name=args.alias, target_key_id=key.key_id, opts=child)
        # the ARN as a dependency on the policy too: whatever is encrypted with it waits until services may use it
        self.arn = pulumi.Output.all(key.arn, policy.id).apply(lambda values: values[0])
        self.key_id = key.key_id
        self.register_outputs({"arn": self.arn, "key_id": self.key_id})
