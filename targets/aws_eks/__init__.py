"""aws-eks: one managed EKS cluster per environment, worker nodes sized from the models, the same Kubernetes
component set as on premise.

Everything specific to it lives here: feasibility (feasibility.py), scores (criteria.py), cost (cost.py), where
its environments run (`cluster`: a cluster of their own, ingress through the AWS Load Balancer Controller), and
what the cluster is, as data (platform.py over network.py, cluster.py, nodegroups.py, iam.py, ingress.py), which
components/aws_eks deploys and render writes to aws/eks.yaml. README.md says what deploys and what does not.
"""

from __future__ import annotations

from typing import Any

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.files.dump import to_yaml
from mlinfra.files.rendered import RenderedFile
from mlinfra.planning.specs import ClusterSettings
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_eks import cost, feasibility
from mlinfra.targets.aws_eks.criteria import criteria
from mlinfra.targets.aws_eks.platform import eks_plan
from mlinfra.targets.kubernetes import KubernetesTarget

NAME = "aws-eks"
INGRESS_CLASS = "alb"  # AWS Load Balancer Controller
EKS_FILE = "aws/eks.yaml"


class AwsEks(KubernetesTarget):
    name = NAME
    title = "AWS EKS (managed Kubernetes)"
    description = "One EKS cluster per environment; the same Kubernetes component set as on premise."

    def feasibility(self, profile: Profile) -> list[str]:
        return feasibility.violations(profile)

    def deployment_gaps(self, profile: Profile) -> list[str]:
        return []  # components/aws_eks creates the cluster, its node groups and its kubeconfig

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        return cost.estimate_eks(profile, env, table)

    def criteria(self, profile: Profile) -> Criteria:
        return criteria(profile)

    def consequences(self, profile: Profile) -> list[str]:
        return [
            "One EKS cluster per environment: the team owns upgrades, node groups and add-ons (cluster autoscaler, "
            "ingress, CSI driver).",
            "The same Kubernetes manifests and kube-prometheus-stack monitoring as on premise, so moving between the "
            "two stays cheap.",
            "Worker nodes sit in private subnets behind a NAT gateway; exposure other than private adds an "
            "application load balancer.",
            "The cluster's API endpoint is private: `pulumi up` runs where it reaches the VPC (a runner inside it, "
            "a VPN or peering).",
        ]

    def components(self, profile: Profile) -> list[str]:
        return ["EksNetwork", "EksCluster", "EksNodeGroups", "ServiceAccountRole", "EksAddons",
                *super().components(profile)]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """The Kubernetes render, plus aws/eks.yaml: the network, cluster, node groups and IRSA roles deployed."""
        files = super().render(profile, env, options)
        return [*files, RenderedFile(EKS_FILE, to_yaml(eks_plan(profile, self.plan(profile, env)).as_dict()))]

    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from mlinfra.components.aws_eks.assembly import assemble_eks  # Pulumi: only when deploying

        plan = self.plan(profile, env)
        return assemble_eks(plan, eks_plan(profile, plan), profile, secrets)

    def cluster(self, profile: Profile, env: EnvironmentSettings) -> ClusterSettings:
        """A cluster per environment (no shared context). ALB targets are pod IPs reached from the VPC, not from an
        in-cluster controller: no ingress-controller namespace to admit (the ALB's security group is the gate);
        storage on the cluster's default StorageClass."""
        return ClusterSettings(ingress_class=INGRESS_CLASS)
