"""aws-sagemaker: one managed SageMaker endpoint per model (Serverless where it may serve the model and is
cheaper, real-time instances otherwise), CloudWatch alarms and dashboards, SNS alert topics.

Everything specific to it lives here: feasibility and deployment gaps (feasibility.py), scores (criteria.py),
the endpoint choice the cost model prices and the deployment deploys (choice.py, cost.py; sweep.py: the same cost
as a function of traffic, for the break-even sweep), the environment's spec (endpoints.py, iam.py), the API Gateway
edge for OIDC and unauthenticated public callers (edge.py and its Lambda proxy edge_handler.py), alarms and
dashboards (alarms.py, dashboards.py) and render (render.py). The Pulumi components (components/sagemaker*.py,
components/cloudwatch.py, components/aws/) only map the spec onto resources.
See README.md for what a deployment needs besides `pulumi up` (the serving image, https artifacts, subscriptions).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable, price_table
from mlinfra.decision.criteria import Criteria
from mlinfra.files.rendered import RenderedFile
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_sagemaker import cost, feasibility, sweep
from mlinfra.targets.aws_sagemaker.choice import vpc_isolation
from mlinfra.targets.aws_sagemaker.criteria import criteria
from mlinfra.targets.aws_sagemaker.edge import edge_spec, has_edge
from mlinfra.targets.aws_sagemaker.endpoints import TARGET, endpoint_name, sagemaker_plan
from mlinfra.targets.base import Target, deferred

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.planning.specs import EnvironmentPlan
    from mlinfra.targets.aws.drill import SnsDrill

NAME = TARGET
# render and drill only (the alarms' and dashboards' documents, the SNS test messages): not loaded by decide
_render_sagemaker = deferred("mlinfra.targets.aws_sagemaker.render:render_sagemaker")
_sns_drill = deferred("mlinfra.targets.aws.drill:sns_drill")


class AwsSageMaker(Target):
    name = NAME
    title = "AWS SageMaker (managed endpoints)"
    description = "One SageMaker endpoint per model, Serverless when eligible, CloudWatch alarms and dashboards."
    graph_file = "aws/resources.yaml"
    # no Grafana, and SNS mails without an SMTP relay
    ignores_secret_fields = ("monitoring.grafana_admin_password_secret", "monitoring.smtp.auth_password_secret",
                             "security.api_keys_secret")  # api_key callers sign with IAM keys here

    def feasibility(self, profile: Profile) -> list[str]:
        return feasibility.violations(profile)

    def plan(self, profile: Profile, env: str) -> EnvironmentPlan:
        """The common plan without the drift monitor beside each server: that sidecar is a cluster's; here
        monitoring.drift is Model Monitor's data-quality schedule over captured requests (model_monitor.py)."""
        plan = super().plan(profile, env)
        return replace(plan, models=tuple(replace(m, drift=None) for m in plan.models))

    def dashboard(self, profile: Profile, env: str, model: str) -> str:
        """The model's CloudWatch dashboard (dashboards.py: named after its endpoint)."""
        return f"CloudWatch dashboard '{endpoint_name(profile.name, env, model)}' in {profile.region}"

    def deployment_gaps(self, profile: Profile) -> list[str]:
        return feasibility.deployment_gaps(profile)

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        return cost.estimate_sagemaker(profile, self.plan(profile, env.name), env, table)

    def cost_function(
        self, profile: Profile, envs: Sequence[EnvironmentSettings], table: PriceTable
    ) -> Callable[[Profile], float]:
        """The estimate in closed form (sweep.py): the plans, endpoints and alarms built once, not per point."""
        return sweep.cost_function(profile, [(env, self.plan(profile, env.name)) for env in envs], table)

    def criteria(self, profile: Profile) -> Criteria:
        return criteria(profile)

    def consequences(self, profile: Profile) -> list[str]:
        return [
            "Each model becomes a SageMaker endpoint (Serverless where eligible); there are no Kubernetes manifests "
            "to maintain.",
            "Monitoring moves to CloudWatch alarms and dashboards instead of Prometheus rules; alerts reach people "
            "through SNS topics (Slack and Teams need a relay or AWS Chatbot, see the target's README).",
            self._callers(profile),
            "CI pushes the serving image to the stack's ECR repository and copies https:// artifacts into its "
            "model store before the endpoints are created.",
            *self._drift(profile),
            *self._network(profile),
        ]

    @staticmethod
    def _network(profile: Profile) -> list[str]:
        """The VPC an isolated profile's endpoints run in (network.py)."""
        why = vpc_isolation(profile)
        if not why:
            return []
        return [
            f"{why}: the endpoints' containers run in a VPC the stack creates per environment (private subnets in "
            "two zones, three in prod; no internet gateway or NAT; S3 through a gateway endpoint; a security group "
            "that admits nothing and lets out HTTPS to S3 only), at no charge; reach other resources of yours from "
            "it by peering or a transit gateway.",
        ]

    @staticmethod
    def _drift(profile: Profile) -> list[str]:
        """The drift monitor (model_monitor.py) and the baselines it still needs."""
        if not profile.monitoring.drift:
            return []
        missing = [m.name for m in profile.models if not m.drift_baseline]
        baselines = (
            f"write constraints.json and statistics.json for {', '.join(missing)} (DefaultModelMonitor.suggest_baseline "
            "on a reference sample) to model-monitor/<model>/baseline/ in the model store or set "
            "models[].drift_baseline - until then its runs fail"
            if missing else "the baselines are the profile's models[].drift_baseline"
        )
        return [
            "monitoring.drift: every endpoint captures 10 % of its requests and a SageMaker Model Monitor data-quality "
            "schedule (hourly in prod, daily elsewhere, ml.m5.xlarge, priced) compares them with a baseline; runs "
            f"with violations are ticketed; {baselines}. Model Monitor is closed to new AWS customers: an account "
            "that never used it cannot create the schedules.",
        ]

    @staticmethod
    def _callers(profile: Profile) -> str:
        """Who may call the endpoints, and what the edge in front of them costs when there is one."""
        if not has_edge(profile):
            return ("Endpoints authenticate callers with IAM (SigV4): API-key callers hold IAM access keys; OIDC and "
                    "unauthenticated public callers come through an API Gateway edge this target builds.")
        who = ("a JWT authorizer checks the callers' OIDC tokens" if profile.security.authentication == "oidc"
               else "callers need no credentials")
        eur = cost.edge_monthly_eur(profile, price_table(profile))
        return (f"Callers reach the endpoints through an API Gateway HTTP API and a Lambda proxy ({who}; throttled "
                f"per model, access-logged), priced per request: about {eur:,.2f} EUR/month over all environments.")

    def components(self, profile: Profile) -> list[str]:
        return ["SageMakerEndpoint", "CloudWatchMonitoring", *(["DataQualityMonitor"] if profile.monitoring.drift else []),
                *(["SageMakerNetwork"] if vpc_isolation(profile) else []),
                *(["SageMakerEdge"] if has_edge(profile) else [])]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """aws/sagemaker.yaml: the endpoints as priced, their alarms and dashboards, store, key, topics and edge."""
        sm = sagemaker_plan(profile, self.plan(profile, env))
        return _render_sagemaker(sm, edge_spec(profile, sm))

    def notification_drill(self, profile: Profile, env: str) -> SnsDrill:
        """A test message per alert topic of `env` (the topics its CloudWatch alarms publish to)."""
        sm = sagemaker_plan(profile, self.plan(profile, env))
        return _sns_drill(profile.name, env, sm.region, sm.notifications)

    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from mlinfra.components.sagemaker_assembly import assemble_sagemaker  # Pulumi: only when deploying

        return assemble_sagemaker(sagemaker_plan(profile, self.plan(profile, env)), profile, secrets)
