"""`mlinfra drill`: prove before go-live that alerts reach people, through the target's own alerting.

The target says what to drill (Target.notification_drill: pure data); this package sends it - Alertmanager's API
for an AlertmanagerDrill (alertmanager.py), SNS for an SnsDrill (sns.py) - and reports per route, receiver and
integration: delivered, failed or not reached. Without sending, the same rows are the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlinfra.drill import alertmanager, sns
from mlinfra.drill.alertmanager import AlertmanagerClient, DrillError
from mlinfra.drill.report import DrillReport
from mlinfra.monitoring.drill import AlertmanagerDrill
from mlinfra.targets.aws.drill import SnsDrill

__all__ = ["AlertmanagerClient", "DrillError", "DrillReport", "mechanism", "plan_report", "send"]


def mechanism(drill: Any) -> str:
    """How the drill is sent: "alertmanager" or "sns"; DrillError for anything else."""
    if isinstance(drill, AlertmanagerDrill):
        return "alertmanager"
    if isinstance(drill, SnsDrill):
        return "sns"
    raise DrillError(f"the target's drill is a {type(drill).__name__}; mlinfra sends AlertmanagerDrill and SnsDrill")


def plan_report(drill: Any, target: str) -> DrillReport:
    """The rows a drill would check, nothing sent (no network)."""
    kind = mechanism(drill)
    if kind == "alertmanager":
        rows = alertmanager.plan_rows(drill)
        skipped = tuple({"route": s.route, "receiver": s.receiver, "reason": s.reason} for s in drill.skipped)
        notes = tuple(f"{a.route}: {r}" for a in drill.alerts for r in a.risks)
    else:
        rows, skipped, notes = sns.plan_rows(drill), (), ()
    return DrillReport(profile=drill.profile, environment=drill.environment, target=target, mechanism=kind,
                       sent=False, rows=tuple(rows), skipped=skipped, notes=notes)


def send(drill: Any, target: str, *, client: AlertmanagerClient | None = None, timeout: float | None = None,
         session: Any = None, progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Send the drill (an Alertmanager drill needs `client`; an SNS one uses `session` or boto3's default)."""
    if mechanism(drill) == "alertmanager":
        if client is None:
            raise DrillError("--alertmanager: an Alertmanager drill needs the URL of the running Alertmanager")
        return alertmanager.run_alertmanager_drill(drill, client, target=target, timeout=timeout, progress=progress)
    return sns.run_sns_drill(drill, target=target, session=session, progress=progress)
