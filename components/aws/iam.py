"""A service role with AWS managed policies attached: the EKS cluster's and the nodes' roles are made this way."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import child_name
from mlinfra.targets.aws.iam import service_trust_policy


def service_role(
    name: str, service: str, policy_arns: tuple[str, ...], opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """`<name>-role`, assumable by `service` (e.g. eks.amazonaws.com), and one attachment per managed policy
    (`<name>-role-<policy>`); callers depend on the attachments before using the role."""
    role = aws.iam.Role(child_name(name, "role"), assume_role_policy=json.dumps(service_trust_policy(service)),
                        opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(child_name(name, f"role-{arn.rsplit('/', 1)[-1]}"), role=role.name,
                                     policy_arn=arn, opts=opts)
        for arn in policy_arns
    ]
    return role, attachments
