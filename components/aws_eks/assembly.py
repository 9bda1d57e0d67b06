"""Assemble one aws-eks environment: the cluster this stack owns, then the Kubernetes serving and monitoring
components on it - the same KubernetesModelServer and MonitoringStack as on premise.

Tree (the Environment is the parent of everything, as the guardrails and the policy pack expect):
    Environment
      aws provider, EncryptionKey (components.aws)            region, default tags; the key for Secrets and logs
      EksNetwork -> EksCluster -> EksNodeGroups                VPC, control plane, nodes
      ServiceAccountRole per S3 model                          IRSA: its own model prefix only
      kubernetes provider (kubeconfig from the cluster's outputs; after the nodes)
      EksAddons                                                EBS CSI driver, default StorageClass,
                                                               AWS Load Balancer Controller when exposed
      serving Namespace objects, KubernetesModelServer per model, MonitoringStack (after the add-ons)

The Kubernetes half is `assembly.deploy_on_cluster`, exactly as on premise, with each S3 model's IRSA role;
tests/components/test_eks.py checks that what it registers equals the Kubernetes render.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.aws import EncryptionKey, EncryptionKeyArgs, aws_provider
from mlinfra.components.aws_eks.addons import EksAddons, EksAddonsArgs
from mlinfra.components.aws_eks.cluster import EksCluster, EksClusterArgs
from mlinfra.components.aws_eks.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from mlinfra.components.aws_eks.network import EksNetwork, EksNetworkArgs
from mlinfra.components.aws_eks.nodes import EksNodeGroups, EksNodeGroupsArgs
from mlinfra.components.assembly import deploy_on_cluster, environment_scope
from mlinfra.conventions import child_name
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_eks.iam import artifact_read_policy
from mlinfra.targets.aws_eks.platform import EksPlan

def assemble_eks(plan: EnvironmentPlan, eks: EksPlan, profile: Profile, secrets: dict[str, Any]) -> dict[str, Any]:
    """Create the environment: its cluster, then the serving and monitoring components on it."""
    env = plan.environment
    name = profile.name  # as on premise: names carry no environment, so `diff` pairs resources across stacks
    scope = environment_scope(plan, profile)
    in_scope = pulumi.ResourceOptions(parent=scope)
    provider = aws_provider(child_name(name, "aws"), region=eks.region, tags=eks.tags, opts=in_scope)
    key = EncryptionKey(
        child_name(name, "key"),
        EncryptionKeyArgs(alias=eks.key_alias, region=eks.region, protect=eks.protect,
                          description=f"mlinfra {profile.name} {env}: EKS Secrets, control-plane logs"),
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
    nodes = EksNodeGroups(
        child_name(name, "nodes"),
        EksNodeGroupsArgs(groups=eks.node_groups, policy_arns=eks.node_policy_arns, cluster_name=cluster.name,
                          subnet_ids=network.private_subnet_ids),
        provider=provider, opts=in_scope,
    )
    roles = {
        access.model: ServiceAccountRole(
            child_name(name, access.role),
            ServiceAccountRoleArgs(
                namespace=access.namespace, service_account=access.service_account,
                oidc_provider_arn=cluster.oidc_provider_arn, oidc_issuer=cluster.oidc_issuer,
                policy=artifact_read_policy(eks.region, access),
            ),
            provider=provider, opts=in_scope,
        )
        for access in eks.artifact_access
    }
    # the cluster's API through its kubeconfig; Kubernetes objects wait for nodes to run on
    platform = k8s.Provider(
        child_name(name, "eks-kubernetes"), kubeconfig=cluster.kubeconfig,
        opts=pulumi.ResourceOptions(parent=scope, depends_on=list(nodes.groups.values())),
    )
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
    # the workloads' provider: same cluster, after the add-ons (volumes need the CSI driver and the default class)
    kubernetes = k8s.Provider(
        child_name(name, "kubernetes"), kubeconfig=cluster.kubeconfig,
        opts=pulumi.ResourceOptions(parent=scope, depends_on=addons.ready),
    )
    outputs = deploy_on_cluster(name, plan, secrets, scope, kubernetes, {m: role.arn for m, role in roles.items()})
    outputs.update(cluster_name=cluster.name, cluster_endpoint=cluster.endpoint, region=eks.region)
    return outputs
