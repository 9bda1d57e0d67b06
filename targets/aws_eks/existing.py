"""An existing EKS cluster (cloud.eks_cluster) as data: what a stack adds to it and what it takes as given.

The cluster's owners (a platform team) keep its VPC, NAT, control plane, access entries and cluster-wide add-ons;
a stack looks the cluster up by name and adds only what the models need: managed node groups in
cloud.eks_node_subnets (the cost model's pools, as for a cluster of its own), an IRSA role per S3 model trusting
the cluster's IAM OIDC provider, and the Kubernetes serving and monitoring objects. What it does not install must
already be there (`assumed_present`, written to aws/eks.yaml and said by `decide`): installing a cluster-wide
add-on from one stack would fight the owners' copy, or another environment's.

Every environment of the profile deploys into the one cluster, so they share its monitoring stack
(kube-prometheus-stack is cluster-wide), installed by the highest tier among them, as on premise.

A shared cluster (cloud.shared_cluster) is the same shape with mlinfra as the owner: the highest tier's stack creates
the cluster (network, control plane, add-ons, monitoring) as a cluster of its own; every other environment deploys
into it like into an existing cluster, its node groups in the cluster's own subnets.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.planning.plan import TIER_RANK
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_eks.cluster import cluster_name
from mlinfra.targets.aws_eks.iam import issuer_host

OIDC_PROVIDER_COMMAND = "eksctl utils associate-iam-oidc-provider --cluster {name} --region {region} --approve"


@dataclass(frozen=True, kw_only=True)
class ExistingClusterSpec:
    name: str  # cloud.eks_cluster, looked up with aws.eks.get_cluster_output
    node_subnet_ids: tuple[str, ...]  # cloud.eks_node_subnets: where the node groups launch; () = the cluster's own
    assumed_present: tuple[str, ...]  # what the stack needs in the cluster and does not install, one line each
    shared_by: str | None = None  # a shared cluster (cloud.shared_cluster): the environment whose stack creates it


def shared_owner(profile: Profile) -> EnvironmentSettings | None:
    """The environment whose stack creates the shared cluster (cloud.shared_cluster): the highest tier, the first
    declared among equals; None without a shared cluster."""
    if not (profile.cloud and profile.cloud.shared_cluster):
        return None
    return max(all_environments(profile), key=lambda e: TIER_RANK[e.tier])


def shared_cluster_name(profile: Profile) -> str | None:
    """The shared cluster's name (its owner's cluster name), or None without one."""
    owner = shared_owner(profile)
    return cluster_name(profile.name, owner.name) if owner else None


def existing_cluster_name(profile: Profile, env: str | None = None) -> str | None:
    """The cluster `env` deploys into without creating it: cloud.eks_cluster, or the shared cluster for every
    environment but its owner; None: the stack creates a cluster (its own, or the shared one). Without `env`:
    cloud.eks_cluster only."""
    if profile.cloud and profile.cloud.eks_cluster:
        return profile.cloud.eks_cluster
    owner = shared_owner(profile)
    if owner is None or env is None or env == owner.name:
        return None
    return shared_cluster_name(profile)


def assumed_present(name: str, region: str, exposed: bool, gpu: bool) -> tuple[str, ...]:
    """What a stack deploying into cluster `name` relies on and leaves to its owners."""
    found = [
        f"an IAM OIDC provider for the cluster's issuer, for the IRSA roles ({OIDC_PROVIDER_COMMAND.format(name=name, region=region)})",
        "an access entry with cluster-admin for the identity that runs `pulumi up` (the monitoring chart installs "
        "CRDs and cluster roles)",
        "vpc-cni with NetworkPolicy enforcement on (enableNetworkPolicy), or another CNI that enforces NetworkPolicies",
        "aws-ebs-csi-driver and a default StorageClass (the Prometheus, Alertmanager and Grafana volumes name none)",
    ]
    if exposed:
        found.append("the AWS Load Balancer Controller, serving IngressClass alb")
    if gpu:
        found.append("the NVIDIA device plugin, on nodes labelled nvidia.com/gpu.present=true")
    return tuple(found)


def existing_cluster_spec(profile: Profile, env: str, exposed: bool, gpu: bool) -> ExistingClusterSpec | None:
    """The cluster `env` deploys into without creating it (None: the stack creates it)."""
    name = existing_cluster_name(profile, env)
    if name is None:
        return None
    owner = shared_owner(profile)
    if owner is not None:  # the shared cluster: the owner's stack installed what an existing cluster's owners do
        return ExistingClusterSpec(
            name=name, node_subnet_ids=(), shared_by=owner.name,
            assumed_present=(f"the shared cluster '{name}' with its network, add-ons and monitoring stack, created by "
                             f"environment {owner.name}'s stack (`pulumi up` it first)",
                             "an access entry with cluster-admin for the identity that runs this stack's `pulumi up` "
                             f"(the cluster's creator has one: the same identity for every stack needs nothing more)"),
        )
    return ExistingClusterSpec(
        name=name,
        node_subnet_ids=tuple(profile.cloud.eks_node_subnets),
        assumed_present=assumed_present(name, profile.region, exposed, gpu),
    )


def oidc_provider_arn(cluster_arn: str, issuer_url: str) -> str:
    """The ARN of the IAM OIDC provider for an existing cluster's issuer: IAM names it after the issuer's host and
    path, in the cluster's partition and account (both read from the cluster's ARN,
    arn:<partition>:eks:<region>:<account>:cluster/<name>)."""
    parts = cluster_arn.split(":")
    if len(parts) < 6 or parts[0] != "arn" or parts[2] != "eks":
        raise ValueError(f"not an EKS cluster ARN: {cluster_arn!r}")
    return f"arn:{parts[1]}:iam::{parts[4]}:oidc-provider/{issuer_host(issuer_url)}"
