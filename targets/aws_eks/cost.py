"""AWS EKS monthly cost per environment: control plane, node pools packed from the models, volumes, NAT, ALB,
the monitoring volume and operations time. Pure arithmetic over the sizing and the price table.

In an existing cluster (cloud.eks_cluster) the stack pays for what it adds: its node groups and their volumes,
its load balancer, its monitoring volume and the operations time of its nodes. The control plane, the network
(NAT) and running the cluster are its owners'. With a shared cluster (cloud.shared_cluster) the environment that
creates it pays those once, and every other environment as in an existing cluster."""

from __future__ import annotations

from mlinfra.costs.assumptions import cloud
from mlinfra.costs.effort import Effort, EffortPart, models_part
from mlinfra.costs.lines import priced_line
from mlinfra.costs.model import CostEstimate, CostLine, fmt_number
from mlinfra.costs.prices import PriceTable
from mlinfra.planning.sizing import traffic_share
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.egress import internet_egress_line
from mlinfra.targets.aws_eks.existing import existing_cluster_name
from mlinfra.targets.aws_eks.network import AZ_COUNT, nat_gateway_count
from mlinfra.targets.aws_eks.pools import NODE_ROOT_VOLUME_GIB, node_pools

LCU_NEW_CONNECTIONS_PER_S = 25
LCU_GB_PER_HOUR = 1.0


def estimate_eks(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
    """One EKS cluster per environment: control plane, node pools, volumes, NAT, ALB, monitoring, ops time; in an
    existing cluster, the node pools, volumes, ALB, monitoring and the nodes' ops time only."""
    region, hours, fx = profile.region, table.hours_per_month, table.usd_to_eur
    own_cluster = existing_cluster_name(profile, env.name) is None
    lines: list[CostLine] = []
    if own_cluster:
        cp = table.regional("eks", "control-plane", region)
        lines.append(priced_line("EKS control plane (1 cluster)", cp.value * hours * fx, (cp,)))

    pools = [(pool.label, pool.plan) for pool in node_pools(profile, env, table)]  # what nodegroups.py deploys

    gp3 = table.regional("ebs", "gp3-gb", region)
    total_nodes = 0.0
    for label, plan in pools:
        total_nodes += plan.peak_nodes  # fixed node groups at the peak count (no cluster autoscaler)
        lines.append(
            priced_line(
                f"{label}: {plan.peak_nodes} x {plan.instance.name} (sized for the peak)",
                plan.peak_nodes * plan.price.value * hours * fx,
                (plan.price,),
                note=f"{plan.peak_nodes} node-months billed: node groups hold the peak all month",
            )
        )
    lines.append(
        priced_line(
            f"node root volumes ({NODE_ROOT_VOLUME_GIB} GiB gp3 each)",
            total_nodes * NODE_ROOT_VOLUME_GIB * gp3.value * fx,
            (gp3,),
        )
    )
    if own_cluster:
        nat = table.regional("nat", "hour", region)
        nats = nat_gateway_count(env)  # one per zone in production (network.py)
        label = "NAT gateway" if nats == 1 else f"NAT gateways ({nats}, one per zone)"
        lines.append(priced_line(f"{label} (egress of private worker nodes)", nats * nat.value * hours * fx, (nat,)))
        lines.append(nat_data_line(profile, total_nodes, table))
    if profile.security.exposure != "private":
        lines.append(_alb_line(profile, env, table))
    ips = public_ipv4_count(profile, env)
    if ips:
        ipv4 = table.regional("vpc", "public-ipv4-hour", region)
        lines.append(priced_line(
            f"public IPv4 addresses ({ips})", ips * ipv4.value * hours * fx, (ipv4,),
            note="the NAT gateways' Elastic IPs" + (", the internet-facing load balancer's one per zone"
                                                    if profile.security.exposure == "public" else ""),
        ))
    if profile.security.exposure == "public":
        lines.append(internet_egress_line(profile, env, table))
    storage = profile.monitoring.storage_gib
    lines.append(priced_line(f"Prometheus volume ({storage} GiB gp3)", storage * gp3.value * fx, (gp3,)))
    lines.append(eks_effort(profile, total_nodes, env.name).line(profile.costs.onprem.ops_hourly_rate_eur))
    return CostEstimate(lines=tuple(lines), assumptions=cloud(profile))


def nat_data_line(profile: Profile, nodes: float, table: PriceTable) -> CostLine:
    """What the worker nodes fetch through the NAT gateways a month (costs.nat_gb_per_node_month each), at the
    data-processing rate; S3 traffic takes the gateway endpoint (network.py) and is not counted."""
    per_node = profile.costs.nat_gb_per_node_month
    gb = nodes * per_node
    price = table.regional("nat", "gb", profile.region)
    return priced_line(
        f"NAT data processing: {fmt_number(round(gb, 2))} GB", gb * price.value * table.usd_to_eur, (price,),
        note=f"{fmt_number(nodes)} nodes x {fmt_number(per_node)} GB (costs.nat_gb_per_node_month: public images, "
        "https artifacts, updates; S3 and ECR layers use the S3 gateway endpoint)",
    )


def eks_effort(profile: Profile, nodes: float, env: str) -> Effort:
    """Operations hours of one environment: its cluster (unless it deploys into one it did not create: an existing
    one's owners or the shared cluster's stack run that), its `nodes` (node groups at their peak count) and its
    models - what the cost bills and the operations score weighs."""
    c = profile.costs
    parts = []
    if existing_cluster_name(profile, env) is None:
        parts.append(EffortPart("cluster", c.eks_ops_hours_per_cluster_month, ("costs.eks_ops_hours_per_cluster_month",)))
    parts.append(EffortPart(f"{fmt_number(nodes)} nodes x {fmt_number(c.eks_ops_hours_per_node_month)} h",
                            nodes * c.eks_ops_hours_per_node_month, ("costs.eks_ops_hours_per_node_month",)))
    parts.append(models_part(len(profile.models), c.ops_hours_per_model_month))
    return Effort(tuple(parts))


def eks_efforts(profile: Profile, table: PriceTable) -> list[Effort]:
    """The effort of every environment (for the operations score)."""
    return [
        eks_effort(profile, sum(p.plan.peak_nodes for p in node_pools(profile, env, table)), env.name)
        for env in all_environments(profile)
    ]


def public_ipv4_count(profile: Profile, env: EnvironmentSettings) -> int:
    """Public IPv4 addresses the environment holds: one per NAT gateway of its own network, and an internet-facing
    load balancer's one per zone."""
    own = existing_cluster_name(profile, env.name) is None
    nats = nat_gateway_count(env) if own else 0
    alb = AZ_COUNT.get(env.tier, 2) if profile.security.exposure == "public" else 0
    return nats + alb


def _alb_line(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostLine:
    region, hours, fx = profile.region, table.hours_per_month, table.usd_to_eur
    alb = table.regional("alb", "hour", region)
    lcu = table.regional("alb", "lcu-hour", region)
    rps = sum(m.traffic.average_rps for m in profile.models) * traffic_share(env)
    lcus = max(rps / LCU_NEW_CONNECTIONS_PER_S, rps * profile.costs.payload_kb_per_request * 3600 / 1e6 / LCU_GB_PER_HOUR)
    return priced_line(
        f"application load balancer ({profile.security.exposure}), {fmt_number(round(lcus, 3))} LCU",
        (alb.value + lcus * lcu.value) * hours * fx,
        (alb, lcu),
    )


