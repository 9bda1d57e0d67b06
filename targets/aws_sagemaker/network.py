"""The VPC the instance-backed endpoints of an isolated profile run in, as data (`endpoint_network`).

Private exposure and confidential data ask for the model containers inside the customer's VPC (choice.py rules
Serverless out for it: Serverless endpoints cannot be attached to one). The stack creates a small VPC of its own
per environment: private subnets in two zones (three in production: SageMaker spreads a variant's instances over
the subnets' zones), no internet gateway and no NAT, an S3 gateway endpoint on their route table (SageMaker reads
the model data, writes captured requests and asynchronous results through the VPC) and a security group that
admits nothing and lets out HTTPS to S3 only. Invocations do not pass through it: callers reach the endpoint
through SageMaker's API. Nothing here is billed: VPCs, subnets, route tables, security groups and gateway
endpoints cost nothing (the endpoint's network interfaces are part of its instances).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_sagemaker.choice import vpc_isolation

VPC_CIDR = "10.80.0.0/16"
SUBNET_PREFIX = 20  # 4094 addresses per zone: an instance takes one per network interface
AZ_COUNT = {"dev": 2, "staging": 2, "prod": 3}
HTTPS = 443


@dataclass(frozen=True, kw_only=True)
class IsolatedSubnet:
    role: str  # child-name role, "private-0"
    az_index: int  # index into the region's available zones, sorted by name
    cidr: str


@dataclass(frozen=True, kw_only=True)
class EndpointNetwork:
    """One environment's VPC for its real-time and asynchronous endpoints."""

    reason: str  # the profile field that asks for it
    vpc_cidr: str
    az_count: int
    subnets: tuple[IsolatedSubnet, ...]
    s3_endpoint_service: str
    egress_port: int = HTTPS  # the security group lets out HTTPS to the S3 prefix list, nothing else

    def as_dict(self) -> dict[str, Any]:
        return {
            "why": self.reason,
            "vpc_cidr": self.vpc_cidr,
            "subnets": [{"role": s.role, "zone_index": s.az_index, "cidr": s.cidr} for s in self.subnets],
            "internet": "none (no internet gateway, no NAT)",
            "s3_gateway_endpoint": self.s3_endpoint_service,
            "security_group": {"ingress": [], "egress": [f"tcp/{self.egress_port} to the S3 prefix list"]},
        }


def endpoint_network(profile: Profile, env: EnvironmentSettings) -> EndpointNetwork | None:
    """The VPC of `env` (None when no profile field asks for isolation)."""
    reason = vpc_isolation(profile)
    if not reason:
        return None
    zones = AZ_COUNT[env.tier]
    blocks = list(ipaddress.ip_network(VPC_CIDR).subnets(new_prefix=SUBNET_PREFIX))
    return EndpointNetwork(
        reason=reason,
        vpc_cidr=VPC_CIDR,
        az_count=zones,
        subnets=tuple(IsolatedSubnet(role=f"private-{i}", az_index=i, cidr=str(blocks[i])) for i in range(zones)),
        s3_endpoint_service=f"com.amazonaws.{profile.region}.s3",
    )
