"""EksNodeGroups: the node role and one managed node group per pool of targets.aws_eks.nodegroups, each with a
launch template that enforces IMDSv2 (tokens required, one hop: pods cannot reach the node's credentials) and an
encrypted gp3 root volume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.components.aws.iam import service_role
from mlinfra.conventions import TYPE_EKS_NODE_GROUPS, child_name
from mlinfra.targets.aws_eks.nodegroups import NodeGroupSpec

ROOT_DEVICE = "/dev/xvda"  # Amazon Linux 2023 EKS AMIs
IMDS_HOP_LIMIT = 1


@dataclass(frozen=True, kw_only=True)
class EksNodeGroupsArgs:
    groups: tuple[NodeGroupSpec, ...]
    policy_arns: tuple[str, ...]  # managed policies of the node role
    cluster_name: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]] | pulumi.Output[list[str]]  # private subnets only


def launch_template_args(name: str, group: NodeGroupSpec) -> dict:
    """IMDSv2 only with one hop, an encrypted gp3 root volume of the priced size, tagged instances and volumes."""
    tags = {"Name": name}
    return dict(
        metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
            http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=IMDS_HOP_LIMIT,
        ),
        block_device_mappings=[
            aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name=ROOT_DEVICE,
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=group.root_volume_gib, volume_type="gp3", encrypted="true",
                    delete_on_termination="true",
                ),
            )
        ],
        tag_specifications=[
            aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type=kind, tags=tags) for kind in ("instance", "volume")
        ],
        update_default_version=True,
    )


class EksNodeGroups(pulumi.ComponentResource):
    """Node role (kubelet, image pulls, VPC CNI) and the managed node groups in the private subnets."""

    role_arn: pulumi.Output[str]
    cluster_name: pulumi.Output[str]
    groups: dict[str, aws.eks.NodeGroup]

    def __init__(
        self, name: str, args: EksNodeGroupsArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_EKS_NODE_GROUPS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        role, attachments = service_role(name, "ec2.amazonaws.com", args.policy_arns, child)
        self.groups = {}
        for group in args.groups:
            lt_name = child_name(name, f"{group.role}-lt")
            template = aws.ec2.LaunchTemplate(lt_name, **launch_template_args(lt_name, group), opts=child)
            self.groups[group.role] = aws.eks.NodeGroup(
                child_name(name, group.role),
                cluster_name=args.cluster_name,
                node_role_arn=role.arn,
                subnet_ids=args.subnet_ids if isinstance(args.subnet_ids, pulumi.Output) else list(args.subnet_ids),
                instance_types=[group.instance_type],
                ami_type=group.ami_type,
                capacity_type=group.capacity_type,
                scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                    min_size=group.min_size, desired_size=group.desired_size, max_size=group.max_size,
                ),
                update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
                launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                    id=template.id, version=template.latest_version.apply(str),
                ),
                labels=dict(group.labels),
                taints=[aws.eks.NodeGroupTaintArgs(key=t.key, value=t.value, effect=t.effect) for t in group.taints],
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=attachments)),
            )
        self.role_arn = role.arn
        # the cluster's name once every node group exists: add-ons whose pods need nodes take it as their input
        self.cluster_name = pulumi.Output.all(*[g.cluster_name for g in self.groups.values()]).apply(
            lambda names: names[0])
        self.register_outputs({"role_arn": self.role_arn, "node_groups": sorted(self.groups),
                               "cluster_name": self.cluster_name})
