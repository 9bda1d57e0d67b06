"""SageMakerNetwork: the VPC of one environment's instance-backed endpoints from targets.aws_sagemaker.network's
plan - private subnets, their route table with the S3 gateway endpoint, and the security group of the models'
containers (no ingress, HTTPS to S3 only). No internet gateway, no NAT."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.components.aws_eks.network import AZ_FILTERS, zone
from mlinfra.conventions import TYPE_SAGEMAKER_NETWORK, child_name
from mlinfra.targets.aws_sagemaker.network import EndpointNetwork


@dataclass(frozen=True, kw_only=True)
class SageMakerNetworkArgs:
    network: EndpointNetwork


class SageMakerNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    subnet_ids: list[pulumi.Output[str]]
    security_group_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: SageMakerNetworkArgs, *, provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_SAGEMAKER_NETWORK, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        net = args.network

        def tags(role: str) -> dict[str, str]:
            return {"Name": child_name(name, role)}

        zones = aws.get_availability_zones_output(
            state="available", filters=AZ_FILTERS, opts=pulumi.InvokeOutputOptions(provider=provider, parent=self),
        )
        vpc = aws.ec2.Vpc(child_name(name, "vpc"), cidr_block=net.vpc_cidr, enable_dns_support=True,
                          enable_dns_hostnames=True, tags=tags("vpc"), opts=child)
        table = aws.ec2.RouteTable(child_name(name, "rt-private"), vpc_id=vpc.id, tags=tags("rt-private"), opts=child)
        subnets = []
        for spec in net.subnets:
            subnet = aws.ec2.Subnet(
                child_name(name, spec.role), vpc_id=vpc.id, cidr_block=spec.cidr,
                availability_zone=zones.names.apply(lambda names, i=spec.az_index: zone(names, i, net.az_count)),
                map_public_ip_on_launch=False, tags=tags(spec.role), opts=child,
            )
            aws.ec2.RouteTableAssociation(child_name(name, f"rt-private-{spec.role}"), route_table_id=table.id,
                                          subnet_id=subnet.id, opts=child)
            subnets.append(subnet)
        s3 = aws.ec2.VpcEndpoint(
            child_name(name, "s3-endpoint"), vpc_id=vpc.id, service_name=net.s3_endpoint_service,
            vpc_endpoint_type="Gateway", route_table_ids=[table.id], tags=tags("s3-endpoint"), opts=child,
        )
        # the provider removes AWS's default allow-all egress rule of a new group: only the rule below lets out
        group = aws.ec2.SecurityGroup(
            child_name(name, "models"), vpc_id=vpc.id,
            description="SageMaker model containers: no ingress, HTTPS to S3 through the gateway endpoint only",
            tags=tags("models"), opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            child_name(name, "models-s3"), security_group_id=group.id, prefix_list_id=s3.prefix_list_id,
            ip_protocol="tcp", from_port=net.egress_port, to_port=net.egress_port,
            description="model data, captured requests and asynchronous results in S3", opts=child,
        )
        self.vpc_id = vpc.id
        self.subnet_ids = [s.id for s in subnets]
        self.security_group_id = group.id
        self.register_outputs({"vpc_id": self.vpc_id, "subnet_ids": self.subnet_ids,
                               "security_group_id": self.security_group_id})
