"""aws-eks: one managed EKS cluster per environment (or an existing one, cloud.eks_cluster), worker nodes sized
from the models, the same Kubernetes component set as on premise.

Everything specific to it lives here: feasibility (feasibility.py), scores (criteria.py), cost (cost.py), where
its environments run (`cluster`: a cluster of their own or the existing one, ingress through the AWS Load Balancer
Controller), and what the cluster is, as data (platform.py over network.py, cluster.py, existing.py,
nodegroups.py, iam.py, ingress.py), which components/aws_eks deploys and render writes to aws/eks.yaml.
README.md says what deploys and what does not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.files.rendered import RenderedFile
from mlinfra.planning.specs import ClusterSettings, EnvironmentPlan
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.kubernetes.access import access_gaps
from mlinfra.targets.aws_eks import cost, feasibility
from mlinfra.targets.aws_eks.criteria import criteria
from mlinfra.targets.aws_eks.existing import assumed_present, existing_cluster_name, shared_cluster_name, shared_owner
from mlinfra.targets.aws_eks.ingress import needs_controller
from mlinfra.targets.base import deferred
from mlinfra.targets.kubernetes import KubernetesTarget

NAME = "aws-eks"
INGRESS_CLASS = "alb"  # AWS Load Balancer Controller
EKS_FILE = "aws/eks.yaml"
# render and deployment only (the network, cluster, node groups and IRSA roles as data): not loaded by decide
_eks_plan = deferred("mlinfra.targets.aws_eks.platform:eks_plan")
_to_yaml = deferred("mlinfra.files.dump:to_yaml")


class AwsEks(KubernetesTarget):
    name = NAME
    title = "AWS EKS (managed Kubernetes)"
    description = "One EKS cluster per environment; the same Kubernetes component set as on premise."
    graph_file = "aws/resources.yaml"

    def feasibility(self, profile: Profile) -> list[str]:
        return feasibility.violations(profile)

    def deployment_gaps(self, profile: Profile) -> list[str]:
        # components/aws_eks creates (or looks up) the cluster, its node groups and its kubeconfig
        return access_gaps(profile)

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        return cost.estimate_eks(profile, env, table)

    def criteria(self, profile: Profile) -> Criteria:
        return criteria(profile)

    def consequences(self, profile: Profile) -> list[str]:
        existing = existing_cluster_name(profile)
        if existing:
            return self._existing_consequences(profile, existing)
        owner = shared_owner(profile)
        if owner is not None:
            return [
                f"One EKS cluster, '{shared_cluster_name(profile)}', for every environment (cloud.shared_cluster): "
                f"environment {owner.name}'s stack creates its network, control plane, add-ons and monitoring stack "
                "and pays for them; every other environment adds its own node groups, IRSA roles and workloads in its "
                f"namespace and pays for those only. `pulumi up` {owner.name} first and destroy it last; the "
                "other stacks' identity needs an access entry on the cluster (the same one as the creator's needs "
                "none).",
                "The environments share one control plane and its upgrades: a Kubernetes upgrade reaches dev and "
                "prod together, and a fault in the cluster touches every environment.",
                "The same Kubernetes manifests and kube-prometheus-stack monitoring as on premise, so moving between "
                "the two stays cheap.",
                self._endpoint_consequence(profile),
            ]
        return [
            "One EKS cluster per environment: the team owns upgrades, node groups and add-ons (cluster autoscaler, "
            "ingress, CSI driver).",
            "The same Kubernetes manifests and kube-prometheus-stack monitoring as on premise, so moving between the "
            "two stays cheap.",
            "Worker nodes sit in private subnets behind a NAT gateway; exposure other than private adds an "
            "application load balancer.",
            self._endpoint_consequence(profile),
        ]

    @staticmethod
    def _endpoint_consequence(profile: Profile) -> str:
        cidrs = profile.cloud.api_access_cidrs if profile.cloud else []
        private = ("`pulumi up` runs where it reaches the VPC (a runner inside it, a VPN or peering)")
        if profile.security.exposure == "public" and cidrs:
            return (f"The cluster's API endpoint is public for cloud.api_access_cidrs only ({', '.join(cidrs)}) and "
                    "private inside the VPC: `pulumi up` and kubectl run from those addresses or from inside the VPC.")
        if cidrs:
            return (f"The cluster's API endpoint is private (security.exposure is '{profile.security.exposure}', so "
                    f"cloud.api_access_cidrs is not used): {private}.")
        hint = (" (with cloud.api_access_cidrs it would be public for those addresses only)"
                if profile.security.exposure == "public" else "")
        return f"The cluster's API endpoint is private{hint}: {private}."

    @staticmethod
    def _existing_consequences(profile: Profile, name: str) -> list[str]:
        assumed = assumed_present(name, profile.region, needs_controller(profile.security.exposure),
                                  any(m.resources.gpus > 0 for m in profile.models))
        return [
            f"Deploys into the existing EKS cluster '{name}' (cloud.eks_cluster, looked up by name): its owners keep "
            "its VPC, NAT, control plane, upgrades, access entries and add-ons; the stack adds node groups in "
            "cloud.eks_node_subnets, IRSA roles and the workloads, and is billed for those only.",
            "Assumed present in the cluster, not installed by the stack: " + "; ".join(assumed) + ".",
            "Every environment deploys into this cluster, each in its own namespace and node groups; they share one "
            "kube-prometheus-stack, installed by the highest tier: `pulumi up` that environment first.",
            "The same Kubernetes manifests and monitoring as on premise, so moving between the two stays cheap.",
            "`pulumi up` runs where it reaches the cluster's API endpoint (its access is the owners' setting).",
        ]

    def components(self, profile: Profile) -> list[str]:
        if existing_cluster_name(profile):  # the network, cluster and add-ons are the owners'
            return ["EksNodeGroups", "ServiceAccountRole", *super().components(profile)]
        return ["EksNetwork", "EksCluster", "EksNodeGroups", "ServiceAccountRole", "EksAddons",
                *super().components(profile)]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """The Kubernetes render, plus aws/eks.yaml: the network, cluster, node groups and IRSA roles deployed."""
        files = super().render(profile, env, options)
        return [*files, RenderedFile(EKS_FILE, _to_yaml(_eks_plan(profile, self.plan(profile, env)).as_dict()))]

    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from mlinfra.components.aws_eks.assembly import assemble_eks  # Pulumi: only when deploying

        plan = self.plan(profile, env)
        return assemble_eks(plan, _eks_plan(profile, plan), profile, secrets)

    def cluster(self, profile: Profile, env: EnvironmentSettings) -> ClusterSettings:
        """A cluster per environment (no shared context), or the existing or shared one every environment shares
        (named as its context: they share its monitoring stack, installed by the highest tier). ALB targets
        are pod IPs reached from the VPC, not from an in-cluster controller: no ingress-controller namespace to
        admit (the ALB's security group is the gate); storage on the cluster's default StorageClass.

        An existing cluster is named as the context of the kubeconfig the program builds for it
        (cluster.kubeconfig names its context after the cluster), so its environments share one monitoring stack
        like environments on one on-premise context (planning.plan.monitoring_share)."""
        return ClusterSettings(ingress_class=INGRESS_CLASS,
                               kube_context=existing_cluster_name(profile) or shared_cluster_name(profile))

    def plan(self, profile: Profile, env: str) -> EnvironmentPlan:
        """The Kubernetes family's plan, without a kube context: the program builds the kubeconfig from the cluster
        (created or looked up), so there is no context for CI or a stack to provide."""
        plan = super().plan(profile, env)
        return replace(plan, kube_context=None) if plan.kube_context else plan
