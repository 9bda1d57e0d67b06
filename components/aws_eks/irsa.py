"""ServiceAccountRole: an IAM role only one Kubernetes ServiceAccount can assume, through the cluster's OIDC
provider (IRSA), with managed policies and an optional inline policy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_SERVICE_ACCOUNT_ROLE, child_name
from mlinfra.targets.aws_eks.iam import irsa_trust_policy


@dataclass(frozen=True, kw_only=True)
class ServiceAccountRoleArgs:
    namespace: str
    service_account: str
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    policy_arns: tuple[str, ...] = ()
    # an inline policy document: plain data, or an Output of one (it may name resources of the same program)
    policy: pulumi.Input[dict[str, Any]] | None = None
    tags: dict[str, str] = field(default_factory=dict)


class ServiceAccountRole(pulumi.ComponentResource):
    """The role, its trust policy bound to namespace/ServiceAccount, its policies."""

    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: ServiceAccountRoleArgs, *, provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_SERVICE_ACCOUNT_ROLE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        namespace, account = args.namespace, args.service_account
        trust = pulumi.Output.all(args.oidc_provider_arn, args.oidc_issuer).apply(
            lambda v: json.dumps(irsa_trust_policy(v[0], v[1], namespace, account), sort_keys=True)
        )
        role = aws.iam.Role(child_name(name, "role"), assume_role_policy=trust, tags=args.tags or None, opts=child)
        for arn in args.policy_arns:
            aws.iam.RolePolicyAttachment(child_name(name, f"role-{arn.rsplit('/', 1)[-1]}"), role=role.name,
                                         policy_arn=arn, opts=child)
        if args.policy is not None:
            document = pulumi.Output.from_input(args.policy).apply(lambda doc: json.dumps(doc, sort_keys=True))
            aws.iam.RolePolicy(child_name(name, "policy"), role=role.name, policy=document, opts=child)
        self.arn = role.arn
        self.register_outputs({"arn": self.arn})
