"""What a Kubernetes target produces without deploying: the rendered files of an environment (checked by the
guardrails preview runs) and the Alertmanager fire drill.

KubernetesTarget names these with targets.base.deferred, so this module and the builders it imports (manifests,
monitoring objects, rules, dashboards, guardrails) load when `render` or `drill` first runs, never for `decide`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlinfra.conventions import ALERTMANAGER_SECRETS_DIR
from mlinfra.files.rendered import RenderedFiles
from mlinfra.monitoring.alertmanager import build_alertmanager_config
from mlinfra.monitoring.checks import latency_edges
from mlinfra.monitoring.drill import AlertmanagerDrill, plan_alertmanager_drill
from mlinfra.profiles.model import Profile
from mlinfra.targets.kubernetes.guard import guard_render
from mlinfra.targets.kubernetes.render import OPTION_SECRETS_DIR, OPTION_TIMING, render_plan, timing_option

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.targets.kubernetes import KubernetesTarget


def render_files(target: KubernetesTarget, profile: Profile, env: str, options: dict[str, Any] | None) -> RenderedFiles:
    """KubernetesTarget.render: the profile checks, the environment's files, the guardrails on them."""
    options = options or {}
    errors, warnings = target.profile_checks(profile)
    if errors:
        raise ValueError("; ".join(f"{path}: {message}" for path, message in errors))
    plan = target.plan(profile, env)
    files = render_plan(
        plan, timing_option(options.get(OPTION_TIMING)),
        secrets_dir=options.get(OPTION_SECRETS_DIR) or ALERTMANAGER_SECRETS_DIR,
    )
    guard_render(profile, plan, files)  # the guardrails preview runs, on what would be written
    files.notes["latency_edges"] = latency_edges(profile)
    if warnings:
        files.notes["warnings"] = [f"{path}: {message}" for path, message in warnings]
    return files


def alertmanager_drill(target: KubernetesTarget, profile: Profile, env: str) -> AlertmanagerDrill:
    """KubernetesTarget.notification_drill: test alerts for the routes of `env` in the Alertmanager that routes its
    alerts, the one of the environment owning the cluster's monitoring stack (planning.plan.monitoring_share),
    with production timing."""
    plan = target.plan(profile, env)
    owner = plan if plan.monitoring.owns_stack else target.plan(profile, plan.monitoring.stack_owner)
    routed = owner.monitoring.routed_environments
    return plan_alertmanager_drill(
        build_alertmanager_config(owner), profile=profile.name, environment=env,
        namespaces={r.namespace: r.name for r in routed if r.namespace}, default_environment=owner.environment,
    )
