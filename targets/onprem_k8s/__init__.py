"""onprem-k8s: the existing on-premise Kubernetes cluster declared in `onprem`; data never leaves the building.

Everything specific to it lives here: feasibility (feasibility.py), scores (criteria.py), TCO (cost.py), and
where its environments run (`cluster`: the profile's kube contexts, ingress and storage classes).
"""

from __future__ import annotations

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.planning.plan import PlanError
from mlinfra.planning.specs import ClusterSettings
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.kubernetes import KubernetesTarget
from mlinfra.targets.onprem_k8s import cost, feasibility
from mlinfra.targets.onprem_k8s.criteria import criteria

NAME = "onprem-k8s"


class OnpremK8s(KubernetesTarget):
    name = NAME
    title = "On-premise Kubernetes (existing cluster)"
    description = "Serve the models on the cluster named in `onprem`, monitored by kube-prometheus-stack."
    # no workload identity on premise: every fetched artifact reads the credentials the profile names
    artifact_credential_kinds = ("s3", "oci", "https")

    def feasibility(self, profile: Profile) -> list[str]:
        return feasibility.violations(profile)

    def environment_feasibility(self, profile: Profile, env: EnvironmentSettings) -> list[str]:
        return feasibility.environment_violations(profile, env)

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        return cost.estimate_onprem(profile, env, table)

    def criteria(self, profile: Profile) -> Criteria:
        return criteria(profile)

    def consequences(self, profile: Profile) -> list[str]:
        return [
            "The models run on the existing cluster; its capacity is fixed, so peak load must fit the declared nodes.",
            "The team deploys with the cluster's kubeconfig context and operates the serving stack and "
            "kube-prometheus-stack.",
            "Hardware, power and operations are priced as a share of the cluster; the cluster itself is not bought "
            "for this service.",
        ]

    def cluster(self, profile: Profile, env: EnvironmentSettings) -> ClusterSettings:
        """The declared cluster: environments.<env>.kube_context or onprem.kube_context (never the ambient one);
        environments on one context share its monitoring stack."""
        o = profile.onprem
        if o is None:
            raise PlanError(
                f"target '{NAME}' needs the profile's `onprem` block (kube_context, storage_class, ingress_class); "
                f"profile '{profile.name}' has none - add `onprem:` or choose another target"
            )
        return ClusterSettings(
            kube_context=env.kube_context,
            ingress_class=o.ingress_class,
            ingress_namespace=o.ingress_namespace,
            storage_class=o.storage_class,
            gpu_type=o.gpu_type,
            nodes=o.cpu_nodes + o.gpu_nodes,
        )
