"""The Kubernetes family: what onprem-k8s and aws-eks share (and a plugin for another cluster can reuse).

Render and assembly of the serving objects and the monitoring stack on a cluster; each member brings its own
feasibility rules, cost model, scores and ClusterSettings (where its environments run).
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import ALERTMANAGER_SECRETS_DIR, dashboard_uid
from mlinfra.files.rendered import RenderedFile
from mlinfra.monitoring.alertmanager import build_alertmanager_config
from mlinfra.monitoring.checks import drift_errors, latency_edges, monitoring_errors, monitoring_warnings
from mlinfra.monitoring.drill import AlertmanagerDrill, plan_alertmanager_drill
from mlinfra.planning.plan import PlanError
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target
from mlinfra.targets.kubernetes.access import access_gaps
from mlinfra.targets.kubernetes.guard import guard_render
from mlinfra.targets.kubernetes.render import OPTION_SECRETS_DIR, OPTION_TIMING, render_plan, timing_option

__all__ = ["OPTION_SECRETS_DIR", "OPTION_TIMING", "KubernetesTarget"]


class KubernetesTarget(Target):
    """A target whose environments are namespaces on a Kubernetes cluster, monitored by kube-prometheus-stack."""

    def components(self, profile: Profile) -> list[str]:
        return ["KubernetesModelServer", "MonitoringStack"]

    def deployment_gaps(self, profile: Profile) -> list[str]:
        return [*super().deployment_gaps(profile), *access_gaps(profile)]

    def profile_checks(self, profile: Profile) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return monitoring_errors(profile), monitoring_warnings(profile)

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        options = options or {}
        errors, warnings = self.profile_checks(profile)
        if errors:
            raise ValueError("; ".join(f"{path}: {message}" for path, message in errors))
        plan = self.plan(profile, env)
        files = render_plan(
            plan, timing_option(options.get(OPTION_TIMING)),
            secrets_dir=options.get(OPTION_SECRETS_DIR) or ALERTMANAGER_SECRETS_DIR,
        )
        guard_render(profile, plan, files)  # the guardrails preview runs, on what would be written
        files.notes["latency_edges"] = latency_edges(profile)
        if warnings:
            files.notes["warnings"] = [f"{path}: {message}" for path, message in warnings]
        return files

    def dashboard(self, profile: Profile, env: str, model: str) -> str:
        """The model's Grafana dashboard (monitoring.dashboards: its title and uid)."""
        return f"Grafana dashboard '{profile.name} / {env} / {model}' (uid {dashboard_uid(profile.name, env, model)})"

    def notification_drill(self, profile: Profile, env: str) -> AlertmanagerDrill:
        """Test alerts for the routes of `env` in the Alertmanager that routes its alerts: the one of the environment
        owning the cluster's monitoring stack (planning.plan.monitoring_share), with production timing."""
        plan = self.plan(profile, env)
        owner = plan if plan.monitoring.owns_stack else self.plan(profile, plan.monitoring.stack_owner)
        routed = owner.monitoring.routed_environments
        return plan_alertmanager_drill(
            build_alertmanager_config(owner), profile=profile.name, environment=env,
            namespaces={r.namespace: r.name for r in routed if r.namespace}, default_environment=owner.environment,
        )

    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from mlinfra.components.assembly import assemble_kubernetes  # Pulumi: only when deploying

        drift = drift_errors(profile)  # `pulumi up` refuses what render refuses: a drift alert that could never fire
        if drift:
            raise PlanError("; ".join(f"{path}: {message}" for path, message in drift))

        return assemble_kubernetes(self.plan(profile, env), profile, secrets,
                                   artifact_kinds=self.artifact_credential_kinds)
