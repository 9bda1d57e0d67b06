"""Assemble one aws-eks environment: its cluster (one the stack creates, or the existing one of cloud.eks_cluster),
node groups and IRSA roles, then the Kubernetes serving and monitoring components on it - the same
KubernetesModelServer and MonitoringStack as on premise.

Tree (the Environment is the parent of everything, as the guardrails and the policy pack expect):
    Environment
      aws provider                                             region, default tags
      a cluster the stack creates:
        EncryptionKey (components.aws)                         the key for Secrets and logs
        EksNetwork -> EksCluster -> EksNodeGroups              VPC, control plane, nodes
        kubernetes provider "eks-kubernetes" (after the nodes) -> EksAddons: VPC CNI, EBS CSI driver, default
                                                               StorageClass, AWS Load Balancer Controller when exposed
      or an existing cluster (cloud.eks_cluster; the shared cluster in every environment but its creator's):
        aws.eks.get_cluster_output (a look-up, no resource) -> EksNodeGroups in cloud.eks_node_subnets (shared:
                                                               the cluster's own subnets)
      ServiceAccountRole per S3 model                          IRSA: its own model prefix only
      kubernetes provider (kubeconfig from the cluster's outputs; after the nodes, and the add-ons when created)
      serving Namespace objects, KubernetesModelServer per model, MonitoringStack

The Kubernetes half is `assembly.deploy_on_cluster`, exactly as on premise, with each S3 model's IRSA role;
tests/components/test_eks.py checks that what it registers equals the Kubernetes render.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlinfra.components.assembly import NEVER_ADOPT, deploy_on_cluster, environment_scope
from mlinfra.components.aws import EncryptionKey, EncryptionKeyArgs, aws_provider
from mlinfra.components.aws_eks.addons import EksAddons, EksAddonsArgs
from mlinfra.components.aws_eks.cluster import EksCluster, EksClusterArgs
from mlinfra.components.aws_eks.existing import ExistingCluster
from mlinfra.components.aws_eks.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from mlinfra.components.aws_eks.network import EksNetwork, EksNetworkArgs
from mlinfra.components.aws_eks.nodes import EksNodeGroups, EksNodeGroupsArgs
from mlinfra.components.environment import Environment
from mlinfra.conventions import child_name
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_eks.iam import artifact_read_policy
from mlinfra.targets.aws_eks.platform import EksPlan


class Cluster(Protocol):
    """What the shared half needs from a cluster: EksCluster (created) and ExistingCluster (looked up) both have it."""

    name: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    oidc_issuer: pulumi.Output[str]
    oidc_provider_arn: pulumi.Output[str]
    kubeconfig: pulumi.Output[str]


def assemble_eks(plan: EnvironmentPlan, eks: EksPlan, profile: Profile, secrets: dict[str, Any]) -> dict[str, Any]:
    """Create the environment: its cluster (or find the existing one), then the serving and monitoring on it."""
    name = profile.name  # as on premise: names carry no environment, so `diff` pairs resources across stacks
    scope = environment_scope(plan, profile)
    provider = aws_provider(child_name(name, "aws"), region=eks.region, tags=eks.tags,
                            opts=pulumi.ResourceOptions(parent=scope))
    on_cluster = create_cluster if eks.existing_cluster is None else existing_cluster
    cluster, kubernetes = on_cluster(name, plan, eks, scope, provider)
    roles = {
        access.model: ServiceAccountRole(
            child_name(name, access.role),
            ServiceAccountRoleArgs(
                namespace=access.namespace, service_account=access.service_account,
                oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
                policy=artifact_read_policy(eks.region, access),
            ),
            provider=provider, opts=pulumi.ResourceOptions(parent=scope),
        )
        for access in eks.artifact_access
    }
    outputs = deploy_on_cluster(name, plan, secrets, scope, kubernetes, {m: role.arn for m, role in roles.items()})
    outputs.update(cluster_name=cluster.name, cluster_endpoint=cluster.endpoint, region=eks.region)
    return outputs


def create_cluster(
    name: str, plan: EnvironmentPlan, eks: EksPlan, scope: Environment, provider: aws.Provider
) -> tuple[Cluster, k8s.Provider]:
    """A cluster of the environment's own: key, network, control plane, nodes and add-ons; the workloads' provider
    waits for the add-ons (volumes need the CSI driver and the default class)."""
    in_scope = pulumi.ResourceOptions(parent=scope)
    key = EncryptionKey(
        child_name(name, "key"),
        EncryptionKeyArgs(alias=eks.key_alias, region=eks.region, protect=eks.protect,
                          description=f"mlinfra {name} {plan.environment}: EKS Secrets, control-plane logs"),
        provider=provider, opts=in_scope,
    )
    network = EksNetwork(child_name(name, "network"), EksNetworkArgs(network=eks.network),
                         provider=provider, opts=in_scope)
    cluster = EksCluster(
        child_name(name, "eks"),
        EksClusterArgs(cluster=eks.cluster, region=eks.region, policy_arns=eks.cluster_policy_arns,
                       subnet_ids=network.private_subnet_ids, kms_key_arn=key.arn, protect=eks.protect),
        provider=provider, opts=in_scope,
    )
    nodes = node_groups(name, eks, cluster.name, network.private_subnet_ids, scope, provider)
    # the cluster's API through its kubeconfig; Kubernetes objects wait for nodes to run on
    platform = kubernetes_provider(child_name(name, "eks-kubernetes"), cluster, scope, list(nodes.groups.values()))
    addons = EksAddons(
        child_name(name, "addons"),
        EksAddonsArgs(cluster_name=nodes.cluster_name, oidc_provider_arn=cluster.oidc_provider_arn,
                      oidc_issuer=cluster.oidc_issuer, ebs_csi_policy_arn=eks.ebs_csi_policy_arn,
                      storage_class=eks.storage_class, region=eks.region, vpc_id=network.vpc_id,
                      load_balancer_controller_replicas=eks.load_balancer_controller_replicas,
                      load_balancer_controller_policy=eks.load_balancer_controller_policy,
                      nvidia_device_plugin=eks.gpu, protect=eks.protect),
        provider=provider, kubernetes=platform, opts=in_scope,
    )
    return cluster, kubernetes_provider(child_name(name, "kubernetes"), cluster, scope, addons.ready)


def existing_cluster(
    name: str, plan: EnvironmentPlan, eks: EksPlan, scope: Environment, provider: aws.Provider
) -> tuple[Cluster, k8s.Provider]:
    """The existing (or shared) cluster, looked up by name, and this environment's node groups in the given subnets
    (the shared cluster's own); its network, control plane, access entries and add-ons are its owners'
    (targets.aws_eks.existing)."""
    spec = eks.existing_cluster
    cluster = ExistingCluster(spec, eks.region, provider=provider, parent=scope)
    subnets = list(spec.node_subnet_ids) or cluster.subnet_ids
    nodes = node_groups(name, eks, cluster.name, subnets, scope, provider)
    return cluster, kubernetes_provider(child_name(name, "kubernetes"), cluster, scope, list(nodes.groups.values()))


def node_groups(
    name: str, eks: EksPlan, cluster_name: pulumi.Input[str],
    subnet_ids: Sequence[pulumi.Input[str]] | pulumi.Output[list[str]],
    scope: Environment, provider: aws.Provider,
) -> EksNodeGroups:
    """The cost model's node pools as managed node groups of `cluster_name`, in `subnet_ids`."""
    return EksNodeGroups(
        child_name(name, "nodes"),
        EksNodeGroupsArgs(groups=eks.node_groups, policy_arns=eks.node_policy_arns, cluster_name=cluster_name,
                          subnet_ids=subnet_ids),
        provider=provider, opts=pulumi.ResourceOptions(parent=scope),
    )


def kubernetes_provider(
    name: str, cluster: Cluster, scope: Environment, after: Sequence[pulumi.Resource]
) -> k8s.Provider:
    """A Kubernetes provider for the cluster's API (kubeconfig from its outputs), used only after `after`."""
    return k8s.Provider(name, kubeconfig=cluster.kubeconfig,
                        opts=pulumi.ResourceOptions(parent=scope, depends_on=list(after)), **NEVER_ADOPT)
