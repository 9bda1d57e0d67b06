"""Everything one EKS environment needs besides the serving and monitoring objects, as one plain spec.

`eks_plan` is what the components deploy and what `render` writes to aws/eks.yaml, in one of two shapes:
- a cluster of its own (no cloud.eks_cluster): the network, the control plane, the node groups, the IRSA roles and
  the add-ons (EBS CSI driver, default StorageClass, and the AWS Load Balancer Controller when models are exposed,
  the NVIDIA device plugin when a model needs a GPU);
- an existing cluster (`existing_cluster`, from cloud.eks_cluster, or the shared cluster of cloud.shared_cluster
  for every environment but the one whose stack creates it): the node groups in the given subnets (the shared
  cluster's own) and the IRSA roles only; network, cluster and add-ons are the owners' (existing.py), so their
  fields are None.
Built from the profile once, here, so the components take plain values and decide nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from mlinfra.costs.model import EstimateError
from mlinfra.costs.prices import price_table
from mlinfra.planning.plan import PlanError
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.environments import resolve_environment
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.kms import key_alias
from mlinfra.targets.aws.tags import stack_tags
from mlinfra.targets.aws_eks.cluster import ClusterSpec, cluster_spec
from mlinfra.targets.aws_eks.existing import ExistingClusterSpec, existing_cluster_spec
from mlinfra.targets.aws_eks.iam import (
    CLUSTER_POLICIES,
    EBS_CSI_POLICY,
    NODE_POLICIES,
    ArtifactAccess,
    artifact_access,
    managed_policy_arn,
)
from mlinfra.targets.aws_eks.ingress import controller_policy, needs_controller
from mlinfra.targets.aws_eks.network import NetworkPlan, plan_network
from mlinfra.targets.aws_eks.nodegroups import NodeGroupSpec, node_groups

EBS_CSI_ADDON = "aws-ebs-csi-driver"  # the Prometheus, Alertmanager and Grafana volumes
# the VPC CNI enforces NetworkPolicies only when told to: without this the render's default deny is a no-op
VPC_CNI_ADDON = "vpc-cni"
VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
# GPU nodes: the AL2023 NVIDIA AMI brings the driver, the device plugin advertises nvidia.com/gpu to the scheduler
DEVICE_PLUGIN_CHART = "nvidia-device-plugin"
DEVICE_PLUGIN_REPO = "https://nvidia.github.io/k8s-device-plugin"
DEVICE_PLUGIN_VERSION = "0.17.1"
DEVICE_PLUGIN_NAMESPACE = "kube-system"
STORAGE_CLASS = "gp3-encrypted"  # the cluster's default StorageClass (EKS creates none since 1.30)
STORAGE_CLASS_PROVISIONER = "ebs.csi.aws.com"


@dataclass(frozen=True, kw_only=True)
class StorageClassSpec:
    name: str
    provisioner: str
    parameters: dict[str, str]
    default: bool

    def manifest(self) -> dict[str, Any]:
        """The StorageClass object: gp3, encrypted (the account's EBS key), the volume created in the zone the pod
        lands in, expandable."""
        metadata: dict[str, Any] = {"name": self.name}
        if self.default:
            metadata["annotations"] = {"storageclass.kubernetes.io/is-default-class": "true"}
        return {
            "apiVersion": "storage.k8s.io/v1",
            "kind": "StorageClass",
            "metadata": metadata,
            "provisioner": self.provisioner,
            "parameters": dict(self.parameters),
            "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer",
            "allowVolumeExpansion": True,
        }


@dataclass(frozen=True, kw_only=True)
class EksPlan:
    region: str
    protect: bool
    tags: dict[str, str]  # the AWS provider's default tags (targets.aws.tags)
    node_groups: tuple[NodeGroupSpec, ...]
    node_policy_arns: tuple[str, ...]
    artifact_access: tuple[ArtifactAccess, ...]
    # an existing cluster to deploy into (cloud.eks_cluster); None: the stack creates the cluster below
    existing_cluster: ExistingClusterSpec | None = None
    # a cluster of its own (None when existing_cluster is set: the owners' network, cluster and add-ons)
    key_alias: str | None = None  # the stack's KMS key (targets.aws.kms): Secrets envelope encryption, control-plane logs
    network: NetworkPlan | None = None
    cluster: ClusterSpec | None = None
    cluster_policy_arns: tuple[str, ...] | None = None
    ebs_csi_policy_arn: str | None = None
    storage_class: StorageClassSpec | None = None
    # the AWS Load Balancer Controller (exposure internal/public): replicas, or 0 when there is no Ingress (or the
    # existing cluster's owners run it)
    load_balancer_controller_replicas: int = 0
    load_balancer_controller_policy: dict[str, Any] | None = None

    @property
    def gpu(self) -> bool:
        return any(g.gpu for g in self.node_groups)

    @property
    def cluster_name(self) -> str:
        """The cluster the environment runs on: the existing one, or the one the stack creates."""
        return self.existing_cluster.name if self.existing_cluster else self.cluster.name

    def as_dict(self) -> dict[str, Any]:
        """Plain data for aws/eks.yaml (tuples as lists, no nulls)."""
        data = asdict(self)
        data["gpu"] = self.gpu
        return _lists(data)


def _lists(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_lists(v) for v in value]
    return value


def eks_plan(profile: Profile, plan: EnvironmentPlan) -> EksPlan:
    """The EKS platform of `plan`'s environment: the cost model's node pools, and either the environment's own
    network and cluster or the existing cluster of cloud.eks_cluster."""
    env = resolve_environment(profile, plan.environment)
    region = profile.region
    exposed = needs_controller(plan.exposure)
    try:
        groups = node_groups(profile, env, price_table(profile))
    except EstimateError as exc:  # feasibility rules the target out too; render and the program say why
        raise PlanError(f"the EKS node groups of environment '{env.name}' cannot be planned: {exc}") from None
    common = dict(
        region=region,
        protect=plan.protect,
        tags=stack_tags(profile.name, env.name),
        node_groups=groups,
        node_policy_arns=tuple(managed_policy_arn(region, p) for p in NODE_POLICIES),
        artifact_access=artifact_access(plan),
    )
    existing = existing_cluster_spec(profile, env.name, exposed, any(g.gpu for g in groups))
    if existing is not None:
        return EksPlan(**common, existing_cluster=existing)
    return EksPlan(
        **common,
        key_alias=key_alias(profile.name, env.name),
        network=plan_network(env, region),
        cluster=cluster_spec(profile.name, env, plan.exposure, tuple(profile.cloud.api_access_cidrs) if profile.cloud else ()),
        cluster_policy_arns=tuple(managed_policy_arn(region, p) for p in CLUSTER_POLICIES),
        ebs_csi_policy_arn=managed_policy_arn(region, EBS_CSI_POLICY),
        storage_class=StorageClassSpec(
            name=STORAGE_CLASS, provisioner=STORAGE_CLASS_PROVISIONER,
            parameters={"type": "gp3", "encrypted": "true"}, default=True,
        ),
        load_balancer_controller_replicas=(2 if plan.high_availability else 1) if exposed else 0,
        load_balancer_controller_policy=controller_policy(region) if exposed else None,
    )
