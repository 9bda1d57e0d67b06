"""An existing EKS cluster (cloud.eks_cluster) as data: what a stack adds to it and what it takes as given.

The cluster's owners (a platform team) keep its VPC, NAT, control plane, access entries and cluster-wide add-ons;
a stack looks the cluster up by name and adds only what the models need: managed node groups in
cloud.eks_node_subnets (the cost model's pools, as for a cluster of its own), an IRSA role per S3 model trusting
the cluster's IAM OIDC provider, and the Kubernetes serving and monitoring objects. What it does not install must
already be there (`assumed_present`, written to aws/eks.yaml and said by `decide`): installing a cluster-wide
add-on from one stack would fight the owners' copy, or another environment's.

Every environment of the profile deploys into the one cluster, so they share its monitoring stack
(kube-prometheus-stack is cluster-wide), installed by the highest tier among them, as on premise.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_eks.iam import issuer_host

OIDC_PROVIDER_COMMAND = "eksctl utils associate-iam-oidc-provider --cluster {name} --region {region} --approve"


@dataclass(frozen=True, kw_only=True)
class ExistingClusterSpec:
    name: str  # cloud.eks_cluster, looked up with aws.eks.get_cluster_output
    node_subnet_ids: tuple[str, ...]  # cloud.eks_node_subnets: where the node groups launch
    assumed_present: tuple[str, ...]  # what the stack needs in the cluster and does not install, one line each


def existing_cluster_name(profile: Profile) -> str | None:
    """cloud.eks_cluster, or None: the stack creates a VPC and a cluster of its own."""
    return profile.cloud.eks_cluster if profile.cloud else None


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


def existing_cluster_spec(profile: Profile, exposed: bool, gpu: bool) -> ExistingClusterSpec | None:
    """The existing cluster of the profile (None: the stack creates its own)."""
    name = existing_cluster_name(profile)
    if name is None:
        return None
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
