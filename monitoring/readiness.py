"""Go-live readiness of one environment: the gaps worth closing before it serves for real, as warnings (they never
fail a command). `mlinfra preview` lists them, and the program logs them, so `pulumi preview` and its comment on
a pull request show them too.

Each check applies where it matters:
- owner (prod tier): a model without models[].owner - nobody but the platform answers for its SLOs;
- paging (environments that page): a paging severity with no paging receiver - the platform's monitoring.notify,
  or a model owner's notify, holds no PagerDuty, Slack or Teams receiver, so critical alerts only make tickets (or
  reach nobody, with no receiver at all);
- runbooks (prod tier): monitoring.runbook_url is the default location, conventions.RUNBOOK_URL (mlinfra's own
  docs/runbooks.md, whether left unset or written out): the alerts link generic runbooks, not the team's;
- retention (tiers other than dev): metrics kept for fewer days than the 30-day SLO window, so the 30-day budgets
  cover only what is kept;
- replicas (prod tier): a model with an availability SLO of 99.9 % or more and fewer than two replicas - one
  restart or node drain is an outage that spends its budget;
- drift-image (every tier deploying a drift monitor): monitoring.drift_image is the default name,
  conventions.DRIFT_IMAGE, an image mlinfra does not publish - until the team builds mlinfra's Dockerfile and names
  its own image there, the monitor's container cannot be pulled and the pod does not start.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from mlinfra.conventions import DRIFT_IMAGE, RUNBOOK_URL
from mlinfra.monitoring.alertmanager import PAGING_TYPES
from mlinfra.monitoring.runtime_metrics import SLO_WINDOW
from mlinfra.planning.specs import EnvironmentPlan

SLO_DAYS = SLO_WINDOW // 86400
HIGH_AVAILABILITY = 0.999  # from this availability SLO on, one replica is a gap
CHECKS = ("owner", "paging", "runbooks", "retention", "replicas", "drift-image")


@dataclass(frozen=True)
class ReadinessFinding:
    check: str  # one of CHECKS
    path: str  # the profile field to change
    message: str  # what was found, what it means, what to do

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def readiness(plan: EnvironmentPlan) -> list[ReadinessFinding]:
    """The go-live gaps of one environment, in CHECKS order (models in profile order)."""
    mon, env = plan.monitoring, plan.environment
    prod = plan.tier == "prod"
    out: list[ReadinessFinding] = []
    if prod:
        for i, model in enumerate(plan.models):
            if model.owner is None:
                out.append(ReadinessFinding(
                    "owner", f"models[{i}].owner",
                    f"model '{model.name}' has no owner in {env} (tier prod): its SLO, latency, no-traffic and drift "
                    "alerts reach only the platform's receivers and nobody answers for the model itself; declare its "
                    "team under owners (with notify and contact) and set models[].owner",
                ))
    if mon.alerts_page:
        if not any(r.type in PAGING_TYPES for r in mon.receivers):
            where = "make tickets" if mon.receivers else "reach nobody (monitoring.notify is empty)"
            out.append(ReadinessFinding(
                "paging", "monitoring.notify",
                f"{env} pages on critical alerts, but monitoring.notify has no paging receiver (PagerDuty, Slack or "
                f"Teams): the platform's critical alerts {where}; add one",
            ))
        for owner in mon.owners:
            if not any(r.type in PAGING_TYPES for r in owner.receivers):
                out.append(ReadinessFinding(
                    "paging", f"owners.{owner.name}.notify",
                    f"{env} pages on critical alerts, but owner '{owner.name}' has no paging receiver (PagerDuty, "
                    "Slack or Teams): its models' critical alerts make its tickets and page only the platform; add "
                    "one",
                ))
    if prod and mon.runbook_url == RUNBOOK_URL:
        out.append(ReadinessFinding(
            "runbooks", "monitoring.runbook_url",
            f"every alert of {env} links {RUNBOOK_URL}#<alert>, mlinfra's generic runbooks (the default); copy "
            "docs/runbooks.md where your team keeps its runbooks, add what your on-call needs (dashboards, "
            "escalation, how to roll back) and set monitoring.runbook_url to it",
        ))
    if plan.tier != "dev" and mon.retention_days < SLO_DAYS:
        out.append(ReadinessFinding(
            "retention", f"environments.{env}.retention_days",
            f"{env} keeps metrics for {mon.retention_days} days, shorter than the {SLO_DAYS}-day SLO window: the "
            f"30-day error and latency budgets cover {mon.retention_days} days only; set "
            f"environments.{env}.retention_days or monitoring.retention_days to {SLO_DAYS} or more",
        ))
    if prod:
        for i, model in enumerate(plan.models):
            if model.availability >= HIGH_AVAILABILITY and model.min_replicas < 2:
                out.append(ReadinessFinding(
                    "replicas", f"environments.{env}.min_replicas",
                    f"model '{model.name}' has an availability SLO of {model.availability:.4g} (models[{i}].slo."
                    f"availability) but runs {model.min_replicas} replica in {env}: one restart or node drain is an "
                    f"outage; set environments.{env}.min_replicas to 2 or more",
                ))
    drifting = [m.name for m in plan.models if m.drift is not None and m.drift.image == DRIFT_IMAGE]
    if drifting:
        out.append(ReadinessFinding(
            "drift-image", "monitoring.drift_image",
            f"the drift monitor beside {', '.join(drifting)} in {env} uses the default image {DRIFT_IMAGE}, which "
            "mlinfra does not publish: the pods cannot pull it and do not start; build mlinfra's Dockerfile, push "
            "the image to your registry and set monitoring.drift_image to it",
        ))
    return out
