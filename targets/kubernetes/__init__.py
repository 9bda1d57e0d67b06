"""The Kubernetes family: what onprem-k8s and aws-eks share (and a plugin for another cluster can reuse).

Render and assembly of the serving objects and the monitoring stack on a cluster; each member brings its own
feasibility rules, cost model, scores and ClusterSettings (where its environments run).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlinfra.conventions import dashboard_uid
from mlinfra.files.rendered import RenderedFile
from mlinfra.monitoring.checks import drift_errors, monitoring_errors, monitoring_warnings
from mlinfra.planning.plan import PlanError
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target, deferred
from mlinfra.targets.kubernetes.access import access_gaps

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.monitoring.drill import AlertmanagerDrill

__all__ = ["KubernetesTarget"]

# render and drill only (outputs.py imports the manifest, monitoring and guardrail builders): not loaded by decide
_render_files = deferred("mlinfra.targets.kubernetes.outputs:render_files")
_alertmanager_drill = deferred("mlinfra.targets.kubernetes.outputs:alertmanager_drill")


class KubernetesTarget(Target):
    """A target whose environments are namespaces on a Kubernetes cluster, monitored by kube-prometheus-stack."""

    def components(self, profile: Profile) -> list[str]:
        return ["KubernetesModelServer", "MonitoringStack"]

    def deployment_gaps(self, profile: Profile) -> list[str]:
        return [*super().deployment_gaps(profile), *access_gaps(profile)]

    def profile_checks(self, profile: Profile) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return monitoring_errors(profile), monitoring_warnings(profile)

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """The environment's manifests, monitoring stack, rules and dashboards (outputs.render_files); refuses on the
        profile_checks errors and runs the guardrails on what would be written."""
        return _render_files(self, profile, env, options)

    def dashboard(self, profile: Profile, env: str, model: str) -> str:
        """The model's Grafana dashboard (monitoring.dashboards: its title and uid)."""
        return f"Grafana dashboard '{profile.name} / {env} / {model}' (uid {dashboard_uid(profile.name, env, model)})"

    def notification_drill(self, profile: Profile, env: str) -> AlertmanagerDrill:
        """Test alerts for the routes of `env` in the Alertmanager that routes its alerts (outputs.alertmanager_drill:
        the one of the environment owning the cluster's monitoring stack, with production timing)."""
        return _alertmanager_drill(self, profile, env)

    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from mlinfra.components.assembly import assemble_kubernetes  # Pulumi: only when deploying

        drift = drift_errors(profile)  # `pulumi up` refuses what render refuses: a drift alert that could never fire
        if drift:
            raise PlanError("; ".join(f"{path}: {message}" for path, message in drift))

        return assemble_kubernetes(self.plan(profile, env), profile, secrets,
                                   artifact_kinds=self.artifact_credential_kinds)
