"""`mlinfra drill PROFILE --env ENV [--alertmanager URL] [--send]`: a fire drill of the environment's alert routes."""

from __future__ import annotations

import os
import urllib.parse

import click

from mlinfra.cli.errors import DomainError, command_target, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.drill import AlertmanagerClient, DrillError, DrillReport, mechanism, plan_report, send
from mlinfra.drill.report import DELIVERED, FAILED, NOT_REACHED
from mlinfra.profiles import load_profile

ENV_TOKEN = "MLINFRA_ALERTMANAGER_TOKEN"
ENV_USER = "MLINFRA_ALERTMANAGER_USER"
ENV_PASSWORD = "MLINFRA_ALERTMANAGER_PASSWORD"  # noqa: S105 - the name of a variable, not a secret
STYLES = {DELIVERED: "green", FAILED: "red", NOT_REACHED: "yellow"}


def _url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.BadParameter(f"expected an http(s) URL such as http://127.0.0.1:9093 (got {value!r})",
                                 param_hint="'--alertmanager'")
    if parts.password is not None or parts.username is not None:
        raise click.BadParameter(
            f"credentials do not belong on the command line (got a user in {parts.hostname}'s URL); set {ENV_TOKEN} "
            f"(bearer) or {ENV_USER} and {ENV_PASSWORD} (basic) instead", param_hint="'--alertmanager'")
    return value


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@click.option("--env", "env", required=True, help="Environment whose alert routes to drill.")
@click.option("--target", default=None, help="Deployment target; default: the one `mlinfra decide` picks.")
@click.option("--alertmanager", "url", default=None,
              help="URL of the Alertmanager that routes the environment's alerts (Kubernetes targets; needed with "
              f"--send). Behind authentication: {ENV_TOKEN}, or {ENV_USER} and {ENV_PASSWORD}.")
@click.option("--send", "send_it", is_flag=True, help="Send the drill; without it the plan is printed and nothing is sent.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds to wait for each wave's notifications [default: the route's group_wait + 30].")
@format_option()
def drill(profile: str, env: str, target: str | None, url: str | None, send_it: bool, timeout: float | None,
          fmt: str) -> None:
    """Fire drill: a test alert per alert route of the environment, proving that it reaches its receivers.

    \b
    Kubernetes targets: one alert per route of the Alertmanager (label drill="true", a summary saying it is a
    drill), posted to its API, then its notification counters tell delivered from failed; the alerts are
    resolved afterwards. Never a silence, never a real alert touched.
    AWS SageMaker: a test message per SNS alert topic, and each subscription's confirmation state.
    Without --send it prints the plan and sends nothing. Exit code 1 when a route did not deliver.
    """
    url = _url(url)
    with user_errors():
        loaded = load_profile(profile)
        chosen = command_target(loaded, env, target, "drill")
        try:
            plan = chosen.notification_drill(loaded, env)
            kind = mechanism(plan)
        except NotImplementedError as exc:
            raise DomainError(f"target {chosen.name}: {exc}; drill a target that has one (--target)") from None
        except DrillError as exc:
            raise DomainError(str(exc)) from None
        except ValueError as exc:  # planning errors name the profile field and the fix
            raise DomainError(f"{profile}: {exc}") from None
    if kind == "sns" and url:
        raise click.BadParameter(f"target {chosen.name} alerts through SNS topics, not an Alertmanager; leave it out",
                                 param_hint="'--alertmanager'")
    planned = plan_report(plan, chosen.name)
    if send_it and not planned.rows:
        why = "; ".join(f"{s['route']} -> {s['receiver']}: {s['reason']}" for s in planned.skipped) or "no route"
        raise DomainError(f"nothing to drill: no alert route of '{env}' notifies anybody ({why}); add receivers to "
                          "monitoring.notify or the owners' notify")
    if not send_it:
        report = planned
    else:
        if kind == "alertmanager" and not url:
            raise click.BadParameter(f"--send on target {chosen.name} needs the URL of the Alertmanager that routes "
                                     f"'{env}' alerts", param_hint="'--alertmanager'")
        report = _send(plan, chosen.name, url, timeout)
    if fmt == "json":
        emit_json(report.to_dict())
    else:
        print_report(report)
    if not report.ok:
        bad = [r for r in report.rows if r.result != DELIVERED]
        raise DomainError(f"{len(bad)} of {len(report.rows)} route integration(s) did not deliver: "
                          + "; ".join(f"{r.route} -> {r.receiver}/{r.integration}: {r.result}" for r in bad[:5])
                          + (f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""))


def _send(plan, target: str, url: str | None, timeout: float | None) -> DrillReport:
    client = None
    if url:
        client = AlertmanagerClient(url, token=os.environ.get(ENV_TOKEN), user=os.environ.get(ENV_USER),
                                    password=os.environ.get(ENV_PASSWORD))
    status_console = console()
    status_console.stderr = True
    with status_console.status("Starting the fire drill...") as status:
        try:
            return send(plan, target, client=client, timeout=timeout, progress=status.update)
        except DrillError as exc:
            raise DomainError(str(exc)) from None


def print_report(report: DrillReport) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    sent = "sent" if report.sent else "plan - nothing sent (--send sends it)"
    table = Table(title=f"Fire drill: {report.profile} / {report.environment} on {report.target} "
                        f"({report.mechanism}, {sent})")
    for column in ("route", "receiver", "integration", "result", "detail"):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        table.add_row(row.route, row.receiver, row.integration, Text(row.result, style=STYLES.get(row.result, "")),
                      row.detail)
    out.print(table)
    for skipped in report.skipped:
        out.print(f"skipped: {skipped['route']} -> {skipped['receiver']}: {skipped['reason']}")
    for note in report.notes:
        out.print(f"note: {note}")
    if report.sent:
        counts = {r: sum(row.result == r for row in report.rows) for r in (DELIVERED, FAILED, NOT_REACHED)}
        out.print(", ".join(f"{n} {r}" for r, n in counts.items()))
