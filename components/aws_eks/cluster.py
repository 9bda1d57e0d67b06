"""EksCluster: the control plane of one environment from targets.aws_eks.cluster's spec, and its OIDC provider.

Order: the cluster role and its policies, and the encrypted control-plane log group, exist before the cluster
(EKS would otherwise create an unencrypted log group without retention, and cannot clean up without the role).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.components.aws.iam import service_role
from mlinfra.conventions import TYPE_EKS_CLUSTER, child_name
from mlinfra.targets.aws_eks.cluster import ClusterSpec, kubeconfig
from mlinfra.targets.aws_eks.iam import STS_AUDIENCE, cluster_key_policy


@dataclass(frozen=True, kw_only=True)
class EksClusterArgs:
    cluster: ClusterSpec
    region: str
    policy_arns: tuple[str, ...]  # managed policies of the cluster role
    subnet_ids: Sequence[pulumi.Input[str]]  # private subnets: the control plane's network interfaces
    kms_key_arn: pulumi.Input[str]  # envelope encryption of Secrets, and the log group
    protect: bool = False


class EksCluster(pulumi.ComponentResource):
    """Cluster role (with the KMS key for Secrets), encrypted log group, the EKS cluster (private endpoint, access entries), OIDC provider."""

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    certificate_authority: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]
    cluster: aws.eks.Cluster

    def __init__(
        self, name: str, args: EksClusterArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_EKS_CLUSTER, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        spec = args.cluster
        role, attachments = service_role(name, "eks.amazonaws.com", args.policy_arns, child)
        key_access = aws.iam.RolePolicy(
            child_name(name, "role-kms"), role=role.name,
            policy=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda arn: json.dumps(cluster_key_policy(arn), sort_keys=True)),
            opts=child,
        )
        logs = aws.cloudwatch.LogGroup(
            child_name(name, "logs"),
            name=spec.log_group, retention_in_days=spec.log_retention_days, kms_key_id=args.kms_key_arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        self.cluster = aws.eks.Cluster(
            child_name(name, "cluster"),
            name=spec.name,
            version=spec.version,
            role_arn=role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=list(args.subnet_ids),
                endpoint_private_access=spec.endpoint_private_access,
                endpoint_public_access=spec.endpoint_public_access,
                public_access_cidrs=list(spec.public_access_cidrs) or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=args.kms_key_arn),
                resources=list(spec.encrypted_resources),
            ),
            enabled_cluster_log_types=list(spec.log_types),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode=spec.authentication_mode, bootstrap_cluster_creator_admin_permissions=True,
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type=spec.support_type),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(protect=args.protect, depends_on=[*attachments, key_access, logs])
            ),
        )
        self.name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.certificate_authority = self.cluster.certificate_authority.apply(lambda ca: ca.data)
        self.oidc_issuer = self.cluster.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(
            child_name(name, "oidc"), url=self.oidc_issuer, client_id_lists=[STS_AUDIENCE], opts=child,
        )
        self.oidc_provider_arn = oidc.arn
        region = args.region
        # no credential in it (`aws eks get-token` at use), so a plain output
        self.kubeconfig = pulumi.Output.all(self.name, self.endpoint, self.certificate_authority).apply(
            lambda v: kubeconfig(v[0], v[1], v[2], region)
        )
        self.register_outputs(
            {"name": self.name, "endpoint": self.endpoint, "oidc_issuer": self.oidc_issuer,
             "oidc_provider_arn": self.oidc_provider_arn}
        )
