"""Send a fire drill through a running Alertmanager (API v2) and tell delivered from failed by its own counters.

Per wave (monitoring.drill.waves): read /metrics, POST the wave's drill alerts (startsAt now, endsAt a safety
margin ahead so they resolve by themselves if the drill is interrupted), poll /metrics until every integration
they reach has settled or the wait is over, then read /api/v2/alerts for what Alertmanager did with them
(receivers, inhibited, silenced). After the last wave - also after an error or Ctrl-C - every drill alert is
resolved (POSTed again with endsAt now). Nothing else is written: no silence, no alert without `drill="true"`.

Counters (Alertmanager 0.28, notify/notify.go): `alertmanager_notifications_total` is counted when a notification
starts and `alertmanager_notifications_failed_total` when Alertmanager gives up on it (after retrying for
max(group_interval, 10 s)); `alertmanager_notification_requests_total` / `..._requests_failed_total` count every
attempt when it ends. They carry the label `integration`, and `receiver_name` only with the feature flag
`--enable-feature=receiver-name-in-metrics`: without it a wave holds one alert per integration (with it, one per
receiver and integration), so every change of a counter belongs to one drill alert. Per integration of an alert:
- delivered: as many successful attempts (requests - failed requests) as the receiver has configs of it;
- failed: Alertmanager gave up (notifications_failed_total), or only failed attempts by the end of the wait;
- not reached: no attempt at all (not routed there, inhibited, silenced, or the wait too short).
The counters are Alertmanager-wide: a real notification through the same integration during the wait is counted
too, so a real failure then shows as the drill's (the drill errs on the side of "failed").
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from mlinfra.conventions import MONITORING_RELEASE_NAME, monitoring_namespace
from mlinfra.drill.report import DELIVERED, FAILED, NOT_REACHED, PLANNED, DrillReport, Row
from mlinfra.monitoring.drill import DRILL_LABEL, AlertmanagerDrill, DrillAlert, Hit, integrations, route_alert, route_tree, waves

RUN_LABEL = "drill_run"
SLACK_S = 30.0  # beyond group_wait: the request itself, a retry or two
MIN_RETRY_S = 10  # Alertmanager retries a notification for max(group_interval, this) (notify.MinTimeout)
POLL_S = 0.5
SAFETY_S = 3600  # endsAt of a drill alert: it resolves itself after this if the drill never resolves it
PORT_FORWARD = (f"kubectl -n {monitoring_namespace()} port-forward "
                f"pod/alertmanager-{MONITORING_RELEASE_NAME}-alertmanager-0 9093")  # the operator's pod of the chart
METRICS = (
    "alertmanager_notifications_total",
    "alertmanager_notifications_failed_total",
    "alertmanager_notification_requests_total",
    "alertmanager_notification_requests_failed_total",
)


class DrillError(Exception):
    """The drill cannot talk to Alertmanager; the message names the option, the URL and the fix."""


class AlertmanagerClient:
    """Alertmanager's HTTP API at `url` (a path prefix is kept), with optional bearer or basic authentication."""

    def __init__(self, url: str, *, token: str | None = None, user: str | None = None, password: str | None = None,
                 timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user:
            pair = base64.b64encode(f"{user}:{password or ''}".encode()).decode()
            self.headers["Authorization"] = f"Basic {pair}"

    def _request(self, method: str, path: str, body: Any = None) -> bytes:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=self.headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - the user's URL
                return response.read()
        except urllib.error.HTTPError as err:
            detail = err.read().decode(errors="replace").strip()[:300]
            hint = (" - set MLINFRA_ALERTMANAGER_TOKEN (bearer) or MLINFRA_ALERTMANAGER_USER and "
                    "MLINFRA_ALERTMANAGER_PASSWORD (basic) for an Alertmanager behind authentication"
                    if err.code in (401, 403) else "")
            raise DrillError(f"--alertmanager {self.url}: {method} {path} answered HTTP {err.code} {detail}{hint}") from None
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise DrillError(
                f"--alertmanager {self.url}: cannot reach Alertmanager ({reason}); give the URL of a running "
                f"Alertmanager, e.g. http://127.0.0.1:9093 after `{PORT_FORWARD}`"
            ) from None

    def get_json(self, path: str) -> Any:
        raw = self._request("GET", path)
        try:
            return json.loads(raw)
        except ValueError:
            raise DrillError(f"--alertmanager {self.url}: {path} did not answer JSON - is this an Alertmanager?") from None

    def get_text(self, path: str) -> str:
        return self._request("GET", path).decode(errors="replace")

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        self._request("POST", "/api/v2/alerts", alerts)


# --- counters ---------------------------------------------------------------------------------------------------


def parse_metrics(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    """The notification counters of a Prometheus text exposition: metric -> [(labels, value)]."""
    out: dict[str, list[tuple[dict[str, str], float]]] = {m: [] for m in METRICS}
    for line in text.splitlines():
        if not line.startswith("alertmanager_notification"):
            continue
        name, _, rest = line.partition("{")
        if name not in out:
            continue
        labels_text, _, value = rest.rpartition("}")
        labels = dict(_LABEL.findall(labels_text))
        try:
            out[name].append((labels, float(value.split()[0])))
        except (ValueError, IndexError):
            continue
    return out


_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Counts:
    started: float = 0
    gave_up: float = 0
    attempts: float = 0
    failed_attempts: float = 0
    reasons: tuple[str, ...] = ()

    @property
    def succeeded(self) -> float:
        return self.attempts - self.failed_attempts

    def minus(self, before: Counts) -> Counts:
        return Counts(self.started - before.started, self.gave_up - before.gave_up, self.attempts - before.attempts,
                      self.failed_attempts - before.failed_attempts, self.reasons)


Key = tuple[str, ...]


def counts_by_key(metrics: Mapping[str, list[tuple[dict[str, str], float]]], by_receiver: bool) -> dict[Key, Counts]:
    """Counters summed per (integration) or (integration, receiver)."""
    fields = dict(zip(METRICS, ("started", "gave_up", "attempts", "failed_attempts")))
    sums: dict[Key, dict[str, float]] = {}
    reasons: dict[Key, set[str]] = {}
    for metric, samples in metrics.items():
        for labels, value in samples:
            key = (labels.get("integration", ""), labels.get("receiver_name", "")) if by_receiver else (
                labels.get("integration", ""),)
            sums.setdefault(key, {}).setdefault(fields[metric], 0.0)
            sums[key][fields[metric]] += value
            if metric == METRICS[1] and value and labels.get("reason"):
                reasons.setdefault(key, set()).add(labels["reason"])
    return {k: Counts(**v, reasons=tuple(sorted(reasons.get(k, ())))) for k, v in sums.items()}


def has_receiver_names(metrics: Mapping[str, list[tuple[dict[str, str], float]]]) -> bool:
    return any("receiver_name" in labels for labels, _ in metrics[METRICS[0]])


def classify(delta: Counts, expected: int) -> tuple[str, str]:
    """(result, detail) of one integration of one drill alert from its counters' change."""
    ok = int(delta.succeeded)
    if delta.gave_up > 0:
        why = f" ({', '.join(delta.reasons)})" if delta.reasons else ""
        return FAILED, (f"Alertmanager gave up after {int(delta.failed_attempts)} failed attempt(s){why}; "
                        f"{ok} of {expected} delivered")
    if ok >= expected:
        retried = f" after {int(delta.failed_attempts)} failed attempt(s)" if delta.failed_attempts else ""
        return DELIVERED, f"{ok} notification(s) sent{retried}"
    if delta.failed_attempts > 0:
        return FAILED, f"{int(delta.failed_attempts)} attempt(s) failed by the end of the wait; Alertmanager still retries"
    if ok:
        return NOT_REACHED, f"{ok} of {expected} notification(s) sent by the end of the wait"
    return NOT_REACHED, "no notification attempt by the end of the wait"


# --- the drill ----------------------------------------------------------------------------------------------------


def plan_rows(drill: AlertmanagerDrill) -> list[Row]:
    return [
        Row(alert.route, hit.receiver, name, PLANNED, _wait_note(hit, alert.labels), alert.labels)
        for alert in drill.alerts for hit in alert.hits for name, _ in hit.integrations
    ]


def _wait_note(hit: Hit, labels: Mapping[str, str]) -> str:
    shown = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"sends {{{shown}}}; notified after group_wait ({hit.group_wait}s)"


def _iso(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _Live:
    config: dict[str, Any]
    version: str


def _live(client: AlertmanagerClient) -> _Live:
    status = client.get_json("/api/v2/status")
    try:
        config = yaml.safe_load(status["config"]["original"]) or {}
        config["route"]  # noqa: B018 - a config without a route tree is not one the drill can check
    except (KeyError, TypeError, yaml.YAMLError):
        raise DrillError(f"--alertmanager {client.url}: /api/v2/status holds no readable configuration") from None
    return _Live(config=config, version=str((status.get("versionInfo") or {}).get("version", "?")))


def run_alertmanager_drill(
    drill: AlertmanagerDrill,
    client: AlertmanagerClient,
    *,
    target: str,
    timeout: float | None = None,
    progress: Callable[[str], None] = lambda _: None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> DrillReport:
    """Send every drill alert, wave by wave; the report has a row per route, receiver and integration."""
    live = _live(client)
    root, receivers = route_tree(live.config), integrations(live.config)
    run = uuid.uuid4().hex[:12]
    rows: dict[int, list[Row]] = {}  # index in drill.alerts -> its rows
    sendable: list[DrillAlert] = []
    origin: list[int] = []  # index in drill.alerts of each sendable alert
    notes = [f"Alertmanager {live.version} at {client.url}; drill run {RUN_LABEL}=\"{run}\""]
    for index, alert in enumerate(drill.alerts):
        labels = {**alert.labels, RUN_LABEL: run}
        taken = [t for t in route_alert(root, labels) if receivers.get(t.receiver)]
        planned = sorted({h.receiver for h in alert.hits})
        if sorted({t.receiver for t in taken}) != planned:
            got = ", ".join(sorted({t.receiver for t in taken})) or "no receiver with an integration"
            rows[index] = [
                Row(alert.route, hit.receiver, name, NOT_REACHED,
                    f"not sent: the running Alertmanager routes these labels to {got}, the profile to "
                    f"{', '.join(planned)} - deploy the profile's configuration first", alert.labels)
                for hit in alert.hits for name, _ in hit.integrations
            ]
            continue
        origin.append(index)
        hits = tuple(Hit(alert.route if i == 0 else t.name, t.receiver, receivers[t.receiver], t.group_wait,
                         t.group_interval)
                     for i, t in enumerate(taken))
        sendable.append(DrillAlert(**{**alert.__dict__, "labels": labels, "hits": hits}))

    metrics = parse_metrics(client.get_text("/metrics"))
    by_receiver = has_receiver_names(metrics)
    if not by_receiver:
        notes.append("counters per integration only (no receiver_name label): one alert per integration at a time")
    key = (lambda hit, name: (name, hit.receiver)) if by_receiver else (lambda hit, name: (name,))
    plan = waves(sendable, key)
    posted: dict[int, dict[str, Any]] = {}
    keys_of = [{key(h, name) for h in a.hits for name, _ in h.integrations} for a in sendable]
    # counters still moving after their wave: key -> (counters before that wave, notifications, retry deadline)
    outstanding: dict[Key, tuple[Counts, int, float]] = {}
    try:
        for number, wave in enumerate(plan, 1):
            busy = set().union(*(keys_of[i] for i in wave)) & set(outstanding)
            if busy:
                _drain(client, by_receiver, outstanding, busy, timeout, progress, clock, sleep)
            blocked = [i for i in wave if keys_of[i] & set(outstanding)]
            for i in blocked:
                names = ", ".join(sorted(k[0] for k in keys_of[i] & set(outstanding)))
                rows[origin[i]] = [
                    Row(sendable[i].route, hit.receiver, name, NOT_REACHED,
                        f"not sent: Alertmanager still retries an earlier drill notification through {names}, whose "
                        "counters this one would share; fix the failing receiver and drill again", sendable[i].labels)
                    for hit in sendable[i].hits for name, _ in hit.integrations
                ]
            wave = [i for i in wave if i not in blocked]
            if not wave:
                continue
            before = counts_by_key(parse_metrics(client.get_text("/metrics")), by_receiver)
            now = clock()
            body = []
            for i in wave:
                alert = sendable[i]
                posted[i] = {"labels": alert.labels, "annotations": alert.annotations, "startsAt": _iso(now),
                             "endsAt": _iso(now + SAFETY_S), "generatorURL": _generator(client.url, run)}
                body.append(posted[i])
            client.post_alerts(body)
            expected: dict[Key, int] = {}
            for i in wave:
                for hit in sendable[i].hits:
                    for name, n in hit.integrations:
                        expected[key(hit, name)] = expected.get(key(hit, name), 0) + n
            wait = timeout if timeout is not None else max(h.group_wait for i in wave for h in sendable[i].hits) + SLACK_S
            deadline = now + wait
            routes = ", ".join(sendable[i].route for i in wave)
            while True:
                after = counts_by_key(parse_metrics(client.get_text("/metrics")), by_receiver)
                deltas = {k: after.get(k, Counts()).minus(before.get(k, Counts())) for k in expected}
                settled = [k for k, n in expected.items() if deltas[k].succeeded + deltas[k].gave_up >= n]
                left = deadline - clock()
                progress(f"wave {number}/{len(plan)}: {routes} - {len(settled)}/{len(expected)} integrations "
                         f"settled, {max(left, 0):.0f}s left")
                if len(settled) == len(expected) or left <= 0:
                    break
                sleep(POLL_S)
            for k, n in expected.items():
                if k not in settled:
                    hits = [h for i in wave for h in sendable[i].hits]
                    retry = max(h.group_wait + max(h.group_interval, MIN_RETRY_S) for h in hits)
                    outstanding[k] = (before.get(k, Counts()), n, now + retry + 5)
            states = _states(client, run)
            for i in wave:
                alert = sendable[i]
                state = states.get(_fingerprint_key(alert.labels))
                rows[origin[i]] = []
                for hit in alert.hits:
                    for name, n in hit.integrations:
                        result, detail = classify(deltas[key(hit, name)], n)
                        if result == NOT_REACHED:
                            detail += _why_not(state, hit, wait)
                        rows[origin[i]].append(Row(alert.route, hit.receiver, name, result, detail, alert.labels))
    finally:
        if posted:
            progress(f"resolving {len(posted)} drill alert(s)")
            end = _iso(clock())
            _resolve(client, [{**a, "endsAt": end} for a in posted.values()])
    ordered = [row for k in sorted(rows) for row in rows[k]]
    skipped = tuple({"route": s.route, "receiver": s.receiver, "reason": s.reason} for s in drill.skipped)
    notes += [f"{a.route}: {r}" for a in drill.alerts for r in a.risks]
    return DrillReport(profile=drill.profile, environment=drill.environment, target=target, mechanism="alertmanager",
                       sent=True, rows=tuple(ordered), skipped=skipped, notes=tuple(notes))


def _drain(client: AlertmanagerClient, by_receiver: bool, outstanding: dict[Key, tuple[Counts, int, float]],
           busy: set[Key], timeout: float | None, progress: Callable[[str], None], clock: Callable[[], float],
           sleep: Callable[[float], None]) -> None:
    """Wait until Alertmanager settles (delivers or gives up) the notifications of earlier waves that a next
    wave's counters would share - until their retry deadline, or --timeout from now; settled keys leave
    `outstanding`."""
    cap = clock() + timeout if timeout is not None else None
    while True:
        after = counts_by_key(parse_metrics(client.get_text("/metrics")), by_receiver)
        for k in list(busy):
            base, n, _ = outstanding[k]
            delta = after.get(k, Counts()).minus(base)
            if delta.succeeded + delta.gave_up >= n:
                del outstanding[k]
                busy.discard(k)
        deadline = min(outstanding[k][2] if cap is None else min(outstanding[k][2], cap) for k in busy) if busy else 0
        left = deadline - clock()
        if not busy or left <= 0:
            return
        progress(f"waiting up to {left:.0f}s for Alertmanager to deliver or give up on a failing "
                 f"{', '.join(sorted(k[0] for k in busy))} notification before reusing its counters")
        sleep(POLL_S)


def _resolve(client: AlertmanagerClient, alerts: list[dict[str, Any]]) -> None:
    try:
        client.post_alerts(alerts)
    except DrillError as err:  # they resolve themselves at their endsAt
        raise DrillError(f"{err}; the drill alerts resolve by themselves within {SAFETY_S // 60} minutes") from None


def _generator(url: str, run: str) -> str:
    query = urllib.parse.quote(f'{{{RUN_LABEL}="{run}"}}')
    return f"{url}/#/alerts?filter={query}"


def _fingerprint_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def _states(client: AlertmanagerClient, run: str) -> dict[tuple[tuple[str, str], ...], dict[str, Any]]:
    """This run's alerts as Alertmanager holds them: labels -> {receivers, state, inhibitedBy, silencedBy}."""
    query = urllib.parse.urlencode({"filter": f'{RUN_LABEL}="{run}"'})
    found = client.get_json(f"/api/v2/alerts?{query}")
    return {
        _fingerprint_key(a.get("labels", {})): {
            "receivers": sorted(r.get("name", "") for r in a.get("receivers", [])),
            **(a.get("status") or {}),
        }
        for a in found if (a.get("labels") or {}).get(DRILL_LABEL) == "true"
    }


def _why_not(state: Mapping[str, Any] | None, hit: Hit, wait: float) -> str:
    if state is None:
        return "; Alertmanager does not hold the alert"
    if state.get("silencedBy"):
        return f"; silenced by {', '.join(state['silencedBy'])}"
    if state.get("inhibitedBy"):
        return f"; inhibited by alert(s) {', '.join(state['inhibitedBy'])}"
    if hit.receiver not in state.get("receivers", []):
        return f"; Alertmanager routed it to {', '.join(state.get('receivers', [])) or 'nobody'}"
    return (f"; routed to {hit.receiver} but not notified within {wait:.0f}s (group_wait {hit.group_wait}s: "
            "a drill repeated within group_interval waits for it - pass a longer --timeout)")
