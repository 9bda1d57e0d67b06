"""AWS SageMaker: managed endpoints (Serverless where a model qualifies, real-time instances otherwise)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlinfra.targets.base import CostEstimate, RenderedFile, Target

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Profile


class AwsSageMaker(Target):
    name = "aws-sagemaker"
    title = "AWS SageMaker (managed endpoints)"
    description = "One SageMaker endpoint per model, Serverless when eligible, CloudWatch alarms and dashboards."

    def violations(self, profile: Profile) -> list[str]:
        from mlinfra.decision.constraints import sagemaker_violations

        return sagemaker_violations(profile)

    def estimate(self, profile: Profile, env: EnvironmentSettings) -> CostEstimate:
        from mlinfra.costs.estimate import estimate_sagemaker
        from mlinfra.costs.prices import price_table

        return estimate_sagemaker(profile, env, price_table(profile))

    def criteria(self, profile: Profile) -> dict[str, float]:
        from mlinfra.decision.scoring import criteria

        return criteria(self.name, profile).scores

    def criteria_notes(self, profile: Profile) -> dict[str, str]:
        from mlinfra.decision.scoring import criteria

        return criteria(self.name, profile).notes

    def components(self, profile: Profile) -> list[str]:
        return ["SageMakerEndpoint", "CloudWatchMonitoring"]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        raise NotImplementedError(
            "target aws-sagemaker cannot be rendered yet: its AWS components (SageMakerEndpoint, "
            "CloudWatchMonitoring) come in a later issue; render onprem-k8s or aws-eks instead"
        )

    def assemble(self, profile: Profile, env: str) -> dict[str, Any]:
        raise NotImplementedError(
            "target aws-sagemaker cannot be deployed yet: its AWS components (SageMakerEndpoint, "
            "CloudWatchMonitoring) come in a later issue; choose onprem-k8s or aws-eks"
        )
