"""The VPC of one EKS environment as data: CIDRs, subnets per availability zone, route tables, NAT gateways.

Worker nodes live in private subnets only; the public subnets hold nothing but the NAT gateways and the load
balancers the AWS Load Balancer Controller creates (it finds them by the `kubernetes.io/role/*` tags). S3 traffic
(model artifacts) leaves through a gateway endpoint, not the NAT. Production gets one NAT gateway per zone, so a
zone outage does not cut the other zones' egress; the other tiers share one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mlinfra.profiles.environments import EnvironmentSettings

VPC_CIDR = "10.64.0.0/16"
PRIVATE_PREFIX = 19  # 8190 addresses per zone: the VPC CNI gives every pod an address of the node's subnet
PUBLIC_PREFIX = 24  # NAT gateways and load balancer nodes only
PUBLIC_BLOCK = 3  # the public /24s are taken from the /19 after the private ones (10.64.96.0/19 for a /16)
AZ_COUNT = {"dev": 2, "staging": 2, "prod": 3}  # EKS needs subnets in two zones at least
ELB_TAG = "kubernetes.io/role/elb"  # public subnets: internet-facing load balancers
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"  # private subnets: internal load balancers
DEFAULT_ROUTE = "0.0.0.0/0"


@dataclass(frozen=True, kw_only=True)
class SubnetSpec:
    role: str  # child-name role, e.g. "private-0"
    tier: Literal["private", "public"]
    az_index: int  # index into the region's available zones (sorted by name)
    cidr: str
    tags: Mapping[str, str]


@dataclass(frozen=True, kw_only=True)
class RouteTableSpec:
    role: str  # "public", "private-0", ...
    default_route: str  # "internet-gateway" or the role of a NAT gateway ("nat-0")
    subnets: tuple[str, ...]  # roles of the subnets associated with it


@dataclass(frozen=True, kw_only=True)
class NatGatewaySpec:
    role: str  # "nat-0"
    subnet: str  # role of the public subnet it sits in


@dataclass(frozen=True, kw_only=True)
class NetworkPlan:
    vpc_cidr: str
    az_count: int
    private_subnets: tuple[SubnetSpec, ...]
    public_subnets: tuple[SubnetSpec, ...]
    nat_gateways: tuple[NatGatewaySpec, ...]
    route_tables: tuple[RouteTableSpec, ...]
    s3_endpoint_service: str  # gateway endpoint service name, associated with every private route table

    @property
    def private_route_tables(self) -> tuple[str, ...]:
        return tuple(t.role for t in self.route_tables if t.default_route != "internet-gateway")


def nat_gateway_count(env: EnvironmentSettings) -> int:
    """One NAT gateway per zone in production, one shared by the zones otherwise (the cost model prices this)."""
    return AZ_COUNT[env.tier] if env.tier == "prod" else 1


def plan_network(env: EnvironmentSettings, region: str) -> NetworkPlan:
    """The VPC layout of one environment in `region`."""
    zones = AZ_COUNT[env.tier]
    vpc = ipaddress.ip_network(VPC_CIDR)
    private_blocks = list(vpc.subnets(new_prefix=PRIVATE_PREFIX))
    public_blocks = list(private_blocks[PUBLIC_BLOCK].subnets(new_prefix=PUBLIC_PREFIX))
    private = tuple(
        SubnetSpec(role=f"private-{i}", tier="private", az_index=i, cidr=str(private_blocks[i]),
                   tags={INTERNAL_ELB_TAG: "1"})
        for i in range(zones)
    )
    public = tuple(
        SubnetSpec(role=f"public-{i}", tier="public", az_index=i, cidr=str(public_blocks[i]), tags={ELB_TAG: "1"})
        for i in range(zones)
    )
    nats = tuple(NatGatewaySpec(role=f"nat-{i}", subnet=public[i].role) for i in range(nat_gateway_count(env)))
    tables = [RouteTableSpec(role="public", default_route="internet-gateway", subnets=tuple(s.role for s in public))]
    for i, nat in enumerate(nats):  # a zone's private subnet routes through its own NAT, or through the one
        served = tuple(s.role for s in private if (s.az_index if len(nats) > 1 else 0) == i)
        tables.append(RouteTableSpec(role=f"private-{i}", default_route=nat.role, subnets=served))
    return NetworkPlan(
        vpc_cidr=VPC_CIDR,
        az_count=zones,
        private_subnets=private,
        public_subnets=public,
        nat_gateways=nats,
        route_tables=tuple(tables),
        s3_endpoint_service=f"com.amazonaws.{region}.s3",
    )
