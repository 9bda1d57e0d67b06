"""End-to-end: the alerts `mlinfra render` writes fire on a real model server's faults and reach a receiver.

Real processes on 127.0.0.1 (see conftest.py): MLServer 1.7 serving a scikit-learn model trained at test time,
faults injected inside its runtime so its own metrics record them; Prometheus (Debian) with the rendered rule
files of prod and dev and the production ServiceMonitor's target labels (the one server is scraped as prod's
model and as dev's); Alertmanager with prod's rendered config, which routes both environments (one cluster);
a webhook sink standing in for Slack and the ticket webhook. The render uses `--timing fast` (range windows
and `for:` divided by 60, 1 s clocks); expressions, thresholds, labels and routing are production's.

Phases, each waiting for its alert to fire and to resolve before the next:
  warm-up       healthy traffic                          -> no alert pending or firing, nothing notified
  client 4xx    every 2nd request malformed (400 / 422)  -> nothing pages, while the same fast-burn expression
                                                            over 4xx holds long enough that it would have paged
  under edge    +150 ms in every request (SLO 120 ms,    -> nothing pages, while the fast burn measured at the
                measured at the 250 ms bucket edge)         100 ms edge holds long enough that it would have
                                                            paged (and the interpolated p95 reads over 120 ms)
  over edge     +350 ms in every request                 -> MLModelLatencyBudgetFastBurn pages, then resolves;
                                                            dev's (critical too) reaches the ticket receiver only
  silence       traffic stops                            -> MLModelNoTraffic (ticket, prod only), then resolves
  server 5xx    every 2nd request raises in predict (500)-> MLModelErrorBudgetFastBurn pages, then resolves
  outage        the server is killed                     -> MLModelDown pages, its no-traffic ticket is muted;
                                                            it resolves once the server is back
Each detection (fault start -> first notification) and resolution is checked against the bound the rendered
files imply (e2e_harness/timing.py) and reported in pytest's summary and tmp_path/alert-report.txt.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

import pytest
from e2e_harness.notifications import AlertEvent, decode
from e2e_harness.timing import (
    DELIVERY_SLACK_S,
    detection_bound,
    inline_records,
    resolution_bound,
    route_timing,
    rule_timing,
    top_level_or,
)

from mlinfra.conventions import (
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_FAST_BURN,
    ALERT_LATENCY_SLOW_BURN,
    ALERT_MODEL_DOWN,
    ALERT_NO_TRAFFIC,
    RECEIVER_PAGE,
    RECEIVER_TICKET,
    SEVERITY_PAGE,
)

pytestmark = pytest.mark.e2e

MAX_TEST_SECONDS = 480  # conftest.MAX_TEST_SECONDS bounds the traffic threads by the same budget

# The profile's p95 SLO is 120 ms, between MLServer's bucket edges 100 ms and 250 ms: measured at 250 ms.
UNDER_EDGE_S = 0.15  # requests of ~155 ms: slower than the SLO, faster than the edge used - indistinguishable
LATENCY_FAULT_S = 0.35  # requests of ~355 ms: in MLServer's (0.25 s, 0.5 s] bucket, past the edge used
EDGE_USED, EDGE_BELOW = 'le="0.25"', 'le="0.1"'  # the matcher of the slow-ratio records, and the control's
ERROR_EVERY = 2  # 50 % server errors: above both fast-burn thresholds (14.4 % and 6 % for a 1 % budget)
CLIENT_ERROR_EVERY = 2  # 50 % client errors, the same share
WAIT_MARGIN_S = 15  # wait this long past a bound before giving up, so an overrun is measured, not guessed
SERVER_ERRORS = 'status_code=~"5.."'
CLIENT_ERRORS = 'status_code=~"4.."'


@dataclass
class Measured:
    alert: str
    fault: str
    severity: str
    receivers: str
    for_s: float
    detected_s: float | None = None
    bound_s: float = 0.0
    resolved_s: float | None = None
    resolve_bound_s: float = 0.0


def test_rendered_alerts_fire_on_real_faults(e2e_stack, rendered, e2e_report):
    stack, prom = e2e_stack, e2e_stack.prometheus
    scrape = rendered.scrape_interval_s
    names = (ALERT_LATENCY_FAST_BURN, ALERT_ERROR_BUDGET_FAST_BURN, ALERT_NO_TRAFFIC, ALERT_MODEL_DOWN)
    slow_burns = (ALERT_ERROR_BUDGET_SLOW_BURN, ALERT_LATENCY_SLOW_BURN)
    rules = {name: rule_timing(rendered.rules, name, scrape) for name in (*names, *slow_burns)}
    routes = {n: route_timing(rendered.alertmanager, {**r.labels, "alertname": n}) for n, r in rules.items()}
    phases: list[tuple[str, float, float, set[str]]] = []  # (phase, start, end, alerts allowed to fire in it)
    lingering: set[str] = set()  # slow burns a phase started may fire in the later phases too
    results: list[Measured] = []
    notes: list[str] = []  # reported after the table (report_table rewrites the lines it owns)
    prod = f'environment="{rendered.scrape_labels["environment"]}"'

    def diagnostics() -> str:
        return (
            f"\nALERTS: {prom.describe('ALERTS')}"
            f"\nrequests/s: {prom.describe('mlinfra:model_requests:rate5m')}"
            f"\np95 latency: {prom.describe('mlinfra:model_latency_p95_seconds:rate5m')}"
            f"\nslow ratio 5m/1h: {prom.describe('mlinfra:model_latency_slow_ratio:rate5m')} / "
            f"{prom.describe('mlinfra:model_latency_slow_ratio:rate1h')}"
            f"\nerror ratio 5m/1h: {prom.describe('mlinfra:model_error_ratio:rate5m')} / "
            f"{prom.describe('mlinfra:model_error_ratio:rate1h')}"
            f"\ntraffic by status: {stack.traffic.counts()}"
            f"\nnotifications: {[(e.alertname, environment(e), e.status, e.receiver) for e in events()]}"
            f"\nalertmanager log:\n{stack.alertmanager.process.log_tail(10)}"
        )

    def events() -> list[AlertEvent]:
        return [event for notification in stack.sink.snapshot() for event in decode(notification)]

    def wait_event(alert: str, status: str, since: float, timeout: float, env: str = "prod") -> AlertEvent | None:
        def match(event: AlertEvent) -> bool:
            return (event.alertname == alert and event.status == status and event.arrival >= since
                    and environment(event) == env)

        found = stack.sink.wait_for(lambda n: any(match(e) for e in decode(n)), timeout)
        return None if found is None else min((e for e in decode(found) if match(e)), key=lambda e: e.arrival)

    def report(line: str) -> None:
        e2e_report.append(line)

    def hold_control(name: str, control: str, forbidden: str, deadline_s: float) -> float:
        """Wait until `control` has held for the alert's for: + evaluations + group_wait, failing as soon as
        `forbidden` (an ALERTS selector) is pending or firing; returns how long that took."""
        rule, route = rules[name], routes[name]
        hold_s = rule.for_s + rule.pipeline_s + route.group_wait_s + DELIVERY_SLACK_S
        began, held_since = time.time(), None
        while held_since is None or time.time() - held_since < hold_s:
            assert not prom.query(forbidden), f"{name}: pending/firing although nothing breached{diagnostics()}"
            held_since = (held_since or time.time()) if prom.query(control) else None
            assert time.time() - began < deadline_s, f"the control never held {hold_s:.0f}s{diagnostics()}"
            time.sleep(scrape)
        return hold_s

    # -- 0: wiring - Prometheus scrapes the model server with the production labels and loaded the rules -----------
    _wait_until(lambda: prom.query('up{job="mlserver"} == 1'), 15, "Prometheus never scraped the MLServer target")
    _wait_until(lambda: len(prom.query("mlinfra:model_requests:rate5m > 0")) == 2, 15,
                f"no request rate recorded for both environments{diagnostics()}")
    labelled = prom.query(f"mlinfra:model_requests:rate5m{{{prod}}}")[0]["metric"]
    assert {k: labelled.get(k) for k in rendered.scrape_labels} == rendered.scrape_labels, labelled

    # -- 1: healthy warm-up: nothing pending, firing or notified --------------------------------------------------
    warmup_s = max(r.for_s + r.pipeline_s + routes[n].group_wait_s for n, r in rules.items() if n in names)
    warmup_s += scrape + DELIVERY_SLACK_S
    start = time.time()
    _hold(warmup_s, lambda: _firing(prom), "an alert fired on healthy traffic", diagnostics)
    assert not prom.query("ALERTS"), f"alerts pending/firing after a healthy warm-up of {warmup_s:.0f}s{diagnostics()}"
    assert not events(), f"notifications during the healthy warm-up{diagnostics()}"
    phases.append(("warm-up", start, time.time(), set()))
    report(f"warm-up: {warmup_s:.0f} s of healthy traffic ({stack.traffic.counts()}): no alert pending, firing or sent")

    # -- 2: client errors (4xx) alone never page ----------------------------------------------------------------
    # Control: the fast-burn alert's first branch with its recording rules inlined and 5xx swapped for 4xx. Once
    # that holds for `for:` + evaluations + group_wait, a budget that counted client errors would have paged.
    fast, fast_route = rules[ALERT_ERROR_BUDGET_FAST_BURN], routes[ALERT_ERROR_BUDGET_FAST_BURN]
    fast_expr = _alert_expr(rendered.rules, ALERT_ERROR_BUDGET_FAST_BURN)
    control = inline_records(rendered.rules, top_level_or(fast_expr)[0], SERVER_ERRORS, CLIENT_ERRORS)
    burn = f'ALERTS{{alertname=~"{ALERT_ERROR_BUDGET_FAST_BURN}|{ALERT_ERROR_BUDGET_SLOW_BURN}"}}'
    start = time.time()
    stack.traffic.set_mode(client_error_every=CLIENT_ERROR_EVERY)
    hold_s = hold_control(ALERT_ERROR_BUDGET_FAST_BURN, control, burn,
                          detection_bound(fast, fast_route, scrape) + WAIT_MARGIN_S)
    stack.traffic.set_mode()
    phases.append(("client 4xx", start, time.time(), set()))
    counts = stack.traffic.counts()  # MLServer: schema-invalid body 422, InferenceError 400, never a 5xx
    assert counts.get(400) and counts.get(422), f"the malformed requests were not answered 400 and 422: {counts}"
    assert not [code for code in counts if code >= 500 or code == 0], f"server errors before any fault: {counts}"
    paged = [e for e in events() if e.arrival >= start and e.receiver in fast_route.receivers]
    assert not paged, f"client errors paged: {paged}{diagnostics()}"
    report(
        f"client 4xx: {100 // CLIENT_ERROR_EVERY} % of requests 400/422 for "
        f"{time.time() - start:.0f} s; the fast-burn condition over 4xx held {hold_s:.0f} s; nothing paged"
    )

    # -- 3: requests between the SLO and the bucket edge it is measured at never page ----------------------------
    # Control: the latency fast burn's first branch measured at the edge below (100 ms): these requests are all
    # slower than it. Once that holds for for: + evaluations + group_wait, a budget that counted them would page.
    lat, lat_route = rules[ALERT_LATENCY_FAST_BURN], routes[ALERT_LATENCY_FAST_BURN]
    lat_expr = _alert_expr(rendered.rules, ALERT_LATENCY_FAST_BURN)
    control = inline_records(rendered.rules, top_level_or(lat_expr)[0], EDGE_USED, EDGE_BELOW)
    latency_alerts = f'ALERTS{{alertname=~"{ALERT_LATENCY_FAST_BURN}|{ALERT_LATENCY_SLOW_BURN}"}}'
    start = time.time()
    stack.model_server.fault.set(latency_s=UNDER_EDGE_S)
    hold_s = hold_control(ALERT_LATENCY_FAST_BURN, control, latency_alerts,
                          detection_bound(lat, lat_route, scrape) + WAIT_MARGIN_S)
    p95 = max(float(r["value"][1]) for r in prom.query(f"mlinfra:model_latency_p95_seconds:rate5m{{{prod}}}"))
    stack.model_server.fault.set()
    phases.append(("under edge", start, time.time(), set()))
    assert not [e for e in events() if e.arrival >= start], f"requests under the edge notified{diagnostics()}"
    assert p95 > 0.12, f"the interpolated p95 ({p95 * 1000:.0f} ms) should read over the 120 ms SLO here"
    report(
        f"under edge: +{UNDER_EDGE_S * 1000:.0f} ms per request (SLO 120 ms, measured at 250 ms) for "
        f"{time.time() - start:.0f} s: the burn measured at 100 ms held {hold_s:.0f} s and the interpolated p95 "
        f"read {p95 * 1000:.0f} ms (a p95 threshold would page); nothing pending or sent"
    )
    _wait_until(lambda: not prom.query("mlinfra:model_latency_slow_ratio:rate5m > 0"), 30, "slow ratio stays up")

    # -- 4..7: faults that must page or open a ticket, then resolve ---------------------------------------------
    model_server, traffic = stack.model_server, stack.traffic
    counts_before_outage: dict[int, int] = {}

    def outage() -> None:
        counts_before_outage.update(traffic.counts())
        model_server.kill()

    def back() -> None:
        model_server.restart()
        model_server.wait_ready()

    faults = [
        (ALERT_LATENCY_FAST_BURN, f"+{LATENCY_FAULT_S * 1000:.0f} ms per request",
         lambda: model_server.fault.set(latency_s=LATENCY_FAULT_S), model_server.fault.set, {ALERT_LATENCY_SLOW_BURN}),
        (ALERT_NO_TRAFFIC, "traffic stops",
         lambda: traffic.set_mode(sending=False), traffic.set_mode, set()),
        (ALERT_ERROR_BUDGET_FAST_BURN, f"{100 // ERROR_EVERY} % HTTP 500",
         lambda: model_server.fault.set(error_every=ERROR_EVERY), model_server.fault.set,
         {ALERT_ERROR_BUDGET_SLOW_BURN}),  # the slow burn may fire too (ticket) and outlives the test
        (ALERT_MODEL_DOWN, "server killed", outage, back, set()),
    ]
    for alert, fault, inject, recover, also_allowed in faults:
        rule, route = rules[alert], routes[alert]
        measured = Measured(
            alert=alert, fault=fault, severity=rule.labels.get("severity", ""), receivers=",".join(route.receivers),
            for_s=rule.for_s, bound_s=detection_bound(rule, route, scrape),
            resolve_bound_s=resolution_bound(rule, route, scrape),
        )
        results.append(measured)
        start = time.time()
        inject()
        fired = wait_event(alert, "firing", start, measured.bound_s + WAIT_MARGIN_S)
        if fired is not None:
            measured.detected_s = fired.arrival - start
        if alert == ALERT_MODEL_DOWN:  # the outage's no-traffic ticket would come after for: - muted by the page
            time.sleep(rules[ALERT_NO_TRAFFIC].for_s + rules[ALERT_NO_TRAFFIC].pipeline_s + routes[ALERT_NO_TRAFFIC].group_interval_s)
        recover()
        recovered = time.time()
        if fired is not None:
            # resolution: from recovery - for the outage, from the server answering again (restart time aside)
            resolved = wait_event(alert, "resolved", recovered, measured.resolve_bound_s + WAIT_MARGIN_S)
            measured.resolved_s = None if resolved is None else resolved.arrival - recovered
        lingering |= also_allowed
        phases.append((fault, start, time.time(), {alert, *also_allowed, *lingering}))
        report_table(e2e_report, results)

        waited = measured.bound_s + WAIT_MARGIN_S
        assert fired is not None, f"{alert} never reached the sink within {waited:.0f}s of: {fault}{diagnostics()}"
        assert measured.detected_s <= measured.bound_s, (
            f"{alert} reached the sink {measured.detected_s:.1f}s after the fault, "
            f"over its bound {measured.bound_s:.1f}s"
        )
        assert measured.detected_s >= rule.for_s, (
            f"{alert} reached the sink {measured.detected_s:.1f}s after the fault, before its for: {rule.for_s:.0f}s "
            "had passed - it was provoked by something else"
        )
        fired_events = [e for e in events() if e.alertname == alert and e.status == "firing" and e.arrival >= start]
        prod_events = [e for e in fired_events if environment(e) == "prod"]
        assert {e.receiver for e in prod_events} == set(route.receivers), (
            f"{alert} (severity {measured.severity}) reached {sorted({e.receiver for e in prod_events})}, "
            f"the rendered route sends it to {list(route.receivers)}"
        )
        for event in prod_events:
            for label in ("model", "environment", "severity"):
                value = rule.labels[label]
                assert event.shows(label, value), (
                    f"{alert}'s {event.channel} notification to {event.receiver} does not show {label} '{value}': "
                    f"{event.labels or event.message!r}"
                )
        dev_events = [e for e in fired_events if environment(e) == "dev"]
        assert all(e.receiver != RECEIVER_PAGE for e in dev_events), (
            f"dev's {alert} reached the paging receiver: {[(e.receiver, e.channel) for e in dev_events]}"
        )
        if alert == ALERT_LATENCY_FAST_BURN:  # the same fault in dev: critical there too, a ticket only
            assert rule.labels["severity"] == SEVERITY_PAGE and RECEIVER_PAGE in route.receivers
            assert {e.receiver for e in dev_events} == {RECEIVER_TICKET}, (
                f"dev's {alert} (critical) should reach {RECEIVER_TICKET} only; got "
                f"{sorted({e.receiver for e in dev_events})}{diagnostics()}"
            )
            notes.append(f"dev: {alert} (critical) for the same fault -> {RECEIVER_TICKET} only "
                         f"({len(dev_events)} notifications), never the paging receiver")
        if alert == ALERT_MODEL_DOWN:  # one incident, one notification: its no-traffic ticket stayed muted
            muted = [e for e in events() if e.alertname == ALERT_NO_TRAFFIC and e.status == "firing"
                     and e.arrival >= start and environment(e) == "prod"]
            assert not muted, f"the outage also sent its no-traffic ticket: {muted}{diagnostics()}"
            notes.append(f"outage: {ALERT_NO_TRAFFIC} fired in Prometheus, Alertmanager muted it under {ALERT_MODEL_DOWN}; "
                         "resolution counted from the restarted server answering")
        assert measured.resolved_s is not None, f"{alert} never resolved after the recovery{diagnostics()}"
        assert measured.resolved_s <= measured.resolve_bound_s, (
            f"{alert} resolved {measured.resolved_s:.1f}s after recovery > bound {measured.resolve_bound_s:.1f}s"
        )

    for note in notes:
        report(note)

    # -- every alert that fired was the one its phase provoked -------------------------------------------------
    phases[-1] = (*phases[-1][:2], float("inf"), phases[-1][3])  # the slow burns may still fire after the test
    for event in (e for e in events() if e.status == "firing"):
        phase = next((p for p in phases if p[1] <= event.arrival < p[2]), None)
        assert phase is not None and event.alertname in phase[3], (
            f"{event.alertname} ({environment(event)}) fired during '{phase and phase[0]}', which should only "
            f"provoke {sorted(phase[3]) if phase else '-'}{diagnostics()}"
        )
    counts = counts_before_outage
    report(f"traffic by HTTP status before the outage: {dict(sorted(counts.items()))}")
    assert counts.get(500) and 0 not in counts, f"an exception in predict must be HTTP 500, no request lost: {counts}"
    report(f"paging route: severity={SEVERITY_PAGE} -> {', '.join(routes[ALERT_LATENCY_FAST_BURN].receivers)}")
    elapsed = time.monotonic() - stack.started
    report(f"runtime: {elapsed:.0f} s from starting the processes (budget {MAX_TEST_SECONDS} s)")
    assert elapsed < MAX_TEST_SECONDS, f"the e2e test took {elapsed:.0f}s, over its {MAX_TEST_SECONDS}s budget"


_CHAT_ENV = re.compile(r"\(([a-z0-9-]+), (?:critical|warning)\)")


def environment(event: AlertEvent) -> str:
    """The environment of a notification: its label (webhook), or the one the chat title names."""
    if event.channel == "webhook":
        return event.labels.get("environment", "")
    found = _CHAT_ENV.search(event.message)
    return found.group(1) if found else ""


def report_table(lines: list[str], results: list[Measured]) -> None:
    """Replace the table in the report lines (kept current after every phase, so a failure still shows it)."""
    header = (
        f"{'alert':28} {'fault':22} {'severity':9} {'receiver':15} {'for':>5} "
        f"{'detected':>9} {'bound':>7} {'resolved':>9} {'bound':>7}"
    )
    start = lines.index(header) if header in lines else len(lines)
    del lines[start : start + 1 + len(results)]

    def sec(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} s"

    rows = [
        f"{m.alert:28} {m.fault:22} {m.severity:9} {m.receivers:15} {m.for_s:>3.0f} s "
        f"{sec(m.detected_s):>9} {sec(m.bound_s):>7} {sec(m.resolved_s):>9} {sec(m.resolve_bound_s):>7}"
        for m in results
    ]
    lines[start:start] = [header, *rows]


def _alert_expr(rule_file: dict, alert: str) -> str:
    return next(r["expr"] for g in rule_file["groups"] for r in g["rules"] if r.get("alert") == alert)


def _firing(prom) -> list:
    return prom.query('ALERTS{alertstate="firing"}')


def _wait_until(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.5)


def _hold(duration: float, bad, message: str, diagnostics) -> None:
    """Wait `duration` seconds, failing as soon as `bad()` returns something."""
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        found = bad()
        assert not found, f"{message}: {found}{diagnostics()}"
        time.sleep(1)
