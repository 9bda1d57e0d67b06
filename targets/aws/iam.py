"""IAM documents every AWS target writes the same way."""

from __future__ import annotations

from typing import Any

POLICY_VERSION = "2012-10-17"


def service_trust_policy(service: str) -> dict[str, Any]:
    """Trust policy of a role only the AWS service `service` may assume (eks, ec2, sagemaker.amazonaws.com)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
