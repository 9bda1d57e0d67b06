"""aws-sagemaker: one managed SageMaker endpoint per model (Serverless where it may serve the model and is
cheaper, real-time instances otherwise), CloudWatch alarms and dashboards.

Everything specific to it lives here: feasibility (feasibility.py), scores (criteria.py), cost (cost.py).
"""

from __future__ import annotations

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_sagemaker import cost, feasibility
from mlinfra.targets.aws_sagemaker.criteria import criteria
from mlinfra.targets.base import Target

NAME = "aws-sagemaker"


class AwsSageMaker(Target):
    name = NAME
    title = "AWS SageMaker (managed endpoints)"
    description = "One SageMaker endpoint per model, Serverless when eligible, CloudWatch alarms and dashboards."

    def feasibility(self, profile: Profile) -> list[str]:
        return feasibility.violations(profile)

    def deployment_gaps(self, profile: Profile) -> list[str]:
        return ["this mlinfra has no components for SageMaker endpoints and CloudWatch alarms"]

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        return cost.estimate_sagemaker(profile, env, table)

    def criteria(self, profile: Profile) -> Criteria:
        return criteria(profile)

    def consequences(self, profile: Profile) -> list[str]:
        return [
            "Each model becomes a SageMaker endpoint (Serverless where eligible); there are no Kubernetes manifests "
            "to maintain.",
            "Monitoring moves to CloudWatch alarms and dashboards instead of Prometheus rules; the alert routing must "
            "be rebuilt there.",
            "Endpoints authenticate callers with IAM: OIDC or API-key callers need a gateway in front of them.",
        ]

    def components(self, profile: Profile) -> list[str]:
        return ["SageMakerEndpoint", "CloudWatchMonitoring"]
