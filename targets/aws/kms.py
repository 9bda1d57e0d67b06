"""The stack's one KMS key (rotation on): who may use it, as a key policy document.

One key per stack encrypts the model store (S3 and ECR), the alert topics (SNS), the log groups and the captured
requests. Services that act on their own behalf need the key policy to name them; IAM roles of this account get
their grants through IAM (the first statement delegates to the account, as the default key policy does).
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import PACKAGE, k8s_name

DELETION_WINDOW_DAYS = 30  # the maximum: a key scheduled for deletion can be rescued for a month


def key_alias(profile: str, environment: str) -> str:
    return f"alias/{PACKAGE}/{k8s_name(profile, environment)}"


def key_policy(*, partition: str, region: str, account: str, eventbridge: bool = False) -> dict[str, Any]:
    """Account administration (IAM decides per role), CloudWatch alarms publishing to the encrypted topics, and
    CloudWatch Logs encrypting this account's log groups in this region; with `eventbridge`, EventBridge rules
    publishing to the encrypted topics too (aws-sagemaker's drift monitor alerts through one)."""
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersTheKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # an alarm action publishes to a KMS-encrypted SNS topic only when CloudWatch may use its key
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogsEncryptsThisAccountsLogGroups",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:log-group:*"}
                },
            },
        ],
    }
    if eventbridge:
        policy["Statement"].append({
            # an EventBridge target publishes to a KMS-encrypted SNS topic only when EventBridge may use its key
            "Sid": "EventBridgeRulesPublishToEncryptedTopics",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": "*",
        })
    return policy
