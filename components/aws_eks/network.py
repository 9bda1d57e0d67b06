"""EksNetwork: the VPC of one environment from targets.aws_eks.network's plan (subnets, routes, NAT, S3 endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_EKS_NETWORK, child_name
from mlinfra.targets.aws_eks.network import DEFAULT_ROUTE, NetworkPlan

# Availability zones only, no Local/Wavelength zones (a node group in one would break)
AZ_FILTERS = [aws.GetAvailabilityZonesFilterArgs(name="opt-in-status", values=["opt-in-not-required"])]


@dataclass(frozen=True, kw_only=True)
class EksNetworkArgs:
    network: NetworkPlan


def zone(names: list[str], index: int, needed: int) -> str:
    """The index-th available zone (sorted by name); a region with too few zones is an error that says so."""
    ordered = sorted(names)
    if len(ordered) < needed:
        raise pulumi.RunError(
            f"the region has {len(ordered)} available zones ({', '.join(ordered) or 'none'}); this environment's "
            f"network spans {needed}"
        )
    return ordered[index]


class EksNetwork(pulumi.ComponentResource):
    """VPC, private subnets for nodes, public subnets for load balancers and NAT, route tables, S3 gateway."""

    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: EksNetworkArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_EKS_NETWORK, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        net = args.network

        def tags(role: str, extra: dict[str, str] | None = None) -> dict[str, str]:
            return {"Name": child_name(name, role), **(extra or {})}

        zones = aws.get_availability_zones_output(
            state="available", filters=AZ_FILTERS,  # the provider's region (pulumi-aws 7.0 has no region argument)
            opts=pulumi.InvokeOutputOptions(provider=provider, parent=self),
        )
        vpc = aws.ec2.Vpc(
            child_name(name, "vpc"),
            cidr_block=net.vpc_cidr, enable_dns_support=True, enable_dns_hostnames=True, tags=tags("vpc"),
            opts=child,
        )
        subnets: dict[str, aws.ec2.Subnet] = {}
        for spec in (*net.private_subnets, *net.public_subnets):
            subnets[spec.role] = aws.ec2.Subnet(
                child_name(name, spec.role),
                vpc_id=vpc.id,
                cidr_block=spec.cidr,
                availability_zone=zones.names.apply(lambda names, i=spec.az_index: zone(names, i, net.az_count)),
                map_public_ip_on_launch=False,  # nothing in a public subnet gets a public address but NAT and ELBs
                tags=tags(spec.role, dict(spec.tags)),
                opts=child,
            )
        igw = aws.ec2.InternetGateway(child_name(name, "igw"), vpc_id=vpc.id, tags=tags("igw"), opts=child)
        nats: dict[str, aws.ec2.NatGateway] = {}
        for spec in net.nat_gateways:
            eip = aws.ec2.Eip(child_name(name, f"{spec.role}-eip"), domain="vpc", tags=tags(f"{spec.role}-eip"),
                              opts=child)
            nats[spec.role] = aws.ec2.NatGateway(
                child_name(name, spec.role),
                allocation_id=eip.id, subnet_id=subnets[spec.subnet].id, tags=tags(spec.role),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
            )
        tables: dict[str, aws.ec2.RouteTable] = {}
        for spec in net.route_tables:
            table = aws.ec2.RouteTable(child_name(name, f"rt-{spec.role}"), vpc_id=vpc.id,
                                       tags=tags(f"rt-{spec.role}"), opts=child)
            tables[spec.role] = table
            via = {"gateway_id": igw.id} if spec.default_route == "internet-gateway" else {
                "nat_gateway_id": nats[spec.default_route].id}
            aws.ec2.Route(child_name(name, f"rt-{spec.role}-default"), route_table_id=table.id,
                          destination_cidr_block=DEFAULT_ROUTE, **via, opts=child)
            for subnet in spec.subnets:
                aws.ec2.RouteTableAssociation(child_name(name, f"rt-{spec.role}-{subnet}"), route_table_id=table.id,
                                              subnet_id=subnets[subnet].id, opts=child)
        aws.ec2.VpcEndpoint(
            child_name(name, "s3-endpoint"),
            vpc_id=vpc.id, service_name=net.s3_endpoint_service, vpc_endpoint_type="Gateway",
            route_table_ids=[tables[role].id for role in net.private_route_tables], tags=tags("s3-endpoint"),
            opts=child,
        )
        self.vpc_id = vpc.id
        self.private_subnet_ids = [subnets[s.role].id for s in net.private_subnets]
        self.public_subnet_ids = [subnets[s.role].id for s in net.public_subnets]
        self.register_outputs(
            {"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids,
             "public_subnet_ids": self.public_subnet_ids}
        )
