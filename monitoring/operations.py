"""Who operates each model, said to people: the "Operations" section of the decision record and the scaffolded
README - its owner and contact, where its alerts go per environment and severity, its runbook, the escalation
path and its dashboards.

The receivers come from the routes monitoring.alertmanager builds (receivers_of_model_alert walks them), so the
section says what the config does; on aws-sagemaker the SNS topics carry the same names
(targets/aws/notifications.py). Only the model's own alerts follow its owner (rules.OWNER_ALERTS); pod-level,
cluster and chart alerts are the platform's (monitoring.notify).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mlinfra.conventions import ALERT_MODEL_DOWN, SEVERITY_PAGE, SEVERITY_TICKET, runbook_url
from mlinfra.monitoring.alertmanager import receiver_integrations, receivers_of_model_alert
from mlinfra.planning.plan import owner_specs, receivers_for
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import Profile

# (environment, model) -> where its dashboard is, in words (the target's; None: it does not say)
DashboardOf = Callable[[str, str], "str | None"]


@dataclass(frozen=True)
class AlertRoute:
    environment: str
    pages: bool  # the environment pages on critical alerts
    critical: str  # receivers with their integrations, e.g. "fraud-ds-page (pagerduty), mlinfra-page (slack)"
    warning: str


@dataclass(frozen=True)
class ModelOperations:
    model: str
    owner: str | None  # None: no owner; the platform answers
    contact: str
    routes: tuple[AlertRoute, ...]  # per environment, in profile order
    runbook: str  # the model-down runbook; every alert links <runbook_url>#<alert>
    escalation: str  # owner ticket -> owner page -> platform page, as far as each exists
    dashboards: tuple[tuple[str, str], ...]  # (environment, where), where the target says


NOBODY = "nobody (no receiver)"


def operations(profile: Profile, dashboard_of: DashboardOf | None = None) -> list[ModelOperations]:
    """One entry per model, in profile order; deterministic."""
    platform = receivers_for(profile.monitoring.notify)
    owners = {o.name: o for o in owner_specs(profile)}
    environments = all_environments(profile)
    platform_contact = f"{profile.team.name} (platform team)" if profile.team.name else "the platform team"
    out = []
    for model in profile.models:
        owner = owners.get(model.owner) if model.owner else None

        def where(pages: bool, severity: str) -> str:
            names = receivers_of_model_alert(platform, owner, pages, severity)
            shown = [
                f"{n} ({', '.join(receiver_integrations(n, platform, tuple(owners.values())))})"
                for n in names if n != "null"
            ]
            return ", ".join(shown) or NOBODY

        routes = tuple(
            AlertRoute(environment=e.name, pages=e.alerts_page, critical=where(e.alerts_page, SEVERITY_PAGE),
                       warning=where(e.alerts_page, SEVERITY_TICKET))
            for e in environments
        )
        ladder = [where(True, SEVERITY_TICKET), *where(True, SEVERITY_PAGE).split(", ")]
        steps = list(dict.fromkeys(s for s in ladder if s != NOBODY))  # in order, each once
        dashboards = tuple(
            (e.name, shown) for e in environments
            if dashboard_of is not None and (shown := dashboard_of(e.name, model.name))
        )
        out.append(ModelOperations(
            model=model.name,
            owner=model.owner,
            contact=profile.owners[model.owner].contact if model.owner else platform_contact,
            routes=routes,
            runbook=runbook_url(ALERT_MODEL_DOWN, profile.monitoring.runbook_url),
            escalation=" -> ".join(steps) or NOBODY,
            dashboards=dashboards,
        ))
    return out
