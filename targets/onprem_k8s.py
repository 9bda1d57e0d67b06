"""The existing on-premise Kubernetes cluster declared in `onprem`: data never leaves the building."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlinfra.targets.base import CostEstimate, RenderedFile, Target

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Profile


class OnpremK8s(Target):
    name = "onprem-k8s"
    title = "On-premise Kubernetes (existing cluster)"
    description = "Serve the models on the cluster named in `onprem`, monitored by kube-prometheus-stack."

    def violations(self, profile: Profile) -> list[str]:
        from mlinfra.decision.constraints import onprem_violations

        return onprem_violations(profile)

    def estimate(self, profile: Profile, env: EnvironmentSettings) -> CostEstimate:
        from mlinfra.costs.onprem import estimate_onprem
        from mlinfra.costs.prices import price_table

        return estimate_onprem(profile, env, price_table(profile))

    def criteria(self, profile: Profile) -> dict[str, float]:
        from mlinfra.decision.scoring import criteria

        return criteria(self.name, profile).scores

    def criteria_notes(self, profile: Profile) -> dict[str, str]:
        from mlinfra.decision.scoring import criteria

        return criteria(self.name, profile).notes

    def components(self, profile: Profile) -> list[str]:
        return ["KubernetesModelServer", "MonitoringStack"]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        from mlinfra.rendering.kubernetes import render_kubernetes

        return render_kubernetes(profile, env, target=self.name, options=options)

    def assemble(self, profile: Profile, env: str) -> dict[str, Any]:
        from mlinfra.components.assembly import assemble_kubernetes

        return assemble_kubernetes(profile, env, target=self.name)
