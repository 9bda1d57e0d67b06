"""End-to-end: the alerts `mlinfra render` writes fire on a real model server's faults and reach a receiver.

Real processes on 127.0.0.1 (see conftest.py): MLServer 1.7 serving a scikit-learn model trained at test time,
faults injected inside its runtime so its own metrics record them; Prometheus (Debian) with the rendered rule
file and the production ServiceMonitor's target labels; Alertmanager with the rendered config; a webhook sink
standing in for Slack and the ticket webhook. The render uses `--timing fast` (range windows and `for:`
divided by 60, 1 s clocks); expressions, thresholds, labels and routing are production's.

Phases, each waiting for its alert to fire and to resolve before the next:
  warm-up     healthy traffic                            -> no alert pending or firing, nothing notified
  client 4xx  every 2nd request malformed (400 / 422)    -> nothing pages, while the same fast-burn expression
                                                            over 4xx holds long enough that it would have paged
  latency     +600 ms in every request (SLO 250 ms)      -> MLModelLatencyHigh pages, then resolves
  silence     traffic stops                              -> MLModelNoTraffic (ticket), then resolves
  server 5xx  every 2nd request raises in predict (500)  -> MLModelErrorBudgetFastBurn pages, then resolves
Each detection (fault start -> first notification) and resolution is checked against the bound the rendered
files imply (e2e_harness/timing.py) and reported in pytest's summary and tmp_path/alert-report.txt.
"""

from __future__ import annotations

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
    ALERT_LATENCY_HIGH,
    ALERT_NO_TRAFFIC,
    SEVERITY_PAGE,
)

pytestmark = pytest.mark.e2e

MAX_TEST_SECONDS = 300  # conftest.MAX_TEST_SECONDS bounds the traffic threads by the same budget

LATENCY_FAULT_S = 0.6  # 2.4x the profile's 250 ms p95 SLO; lands in MLServer's (0.5 s, 0.75 s] bucket
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
    names = (ALERT_LATENCY_HIGH, ALERT_ERROR_BUDGET_FAST_BURN, ALERT_NO_TRAFFIC)
    rules = {name: rule_timing(rendered.rules, name, scrape) for name in (*names, ALERT_ERROR_BUDGET_SLOW_BURN)}
    routes = {n: route_timing(rendered.alertmanager, {**r.labels, "alertname": n}) for n, r in rules.items()}
    phases: list[tuple[str, float, float, set[str]]] = []  # (phase, start, end, alerts allowed to fire in it)
    results: list[Measured] = []

    def diagnostics() -> str:
        return (
            f"\nALERTS: {prom.describe('ALERTS')}"
            f"\nrequests/s: {prom.describe('mlinfra:model_requests:rate5m')}"
            f"\np95 latency: {prom.describe('mlinfra:model_latency_p95_seconds:rate5m')}"
            f"\nerror ratio 5m/1h: {prom.describe('mlinfra:model_error_ratio:rate5m')} / "
            f"{prom.describe('mlinfra:model_error_ratio:rate1h')}"
            f"\ntraffic by status: {stack.traffic.counts()}"
            f"\nnotifications: {[(e.alertname, e.status, e.receiver) for e in events()]}"
            f"\nalertmanager log:\n{stack.alertmanager.process.log_tail(10)}"
        )

    def events() -> list[AlertEvent]:
        return [event for notification in stack.sink.snapshot() for event in decode(notification)]

    def wait_event(alert: str, status: str, since: float, timeout: float) -> AlertEvent | None:
        def match(event: AlertEvent) -> bool:
            return event.alertname == alert and event.status == status and event.arrival >= since

        found = stack.sink.wait_for(lambda n: any(match(e) for e in decode(n)), timeout)
        return None if found is None else min((e for e in decode(found) if match(e)), key=lambda e: e.arrival)

    def report(line: str) -> None:
        e2e_report.append(line)

    # -- 0: wiring - Prometheus scrapes the model server with the production labels and loaded the rules -----------
    _wait_until(lambda: prom.query('up{job="mlserver"} == 1'), 15, "Prometheus never scraped the MLServer target")
    _wait_until(lambda: prom.query("mlinfra:model_requests:rate5m > 0"), 15, f"no request rate recorded{diagnostics()}")
    labelled = prom.query("mlinfra:model_requests:rate5m")[0]["metric"]
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
    hold_s = fast.for_s + fast.pipeline_s + fast_route.group_wait_s + DELIVERY_SLACK_S
    burn = f'ALERTS{{alertname=~"{ALERT_ERROR_BUDGET_FAST_BURN}|{ALERT_ERROR_BUDGET_SLOW_BURN}"}}'
    start = time.time()
    stack.traffic.set_mode(client_error_every=CLIENT_ERROR_EVERY)
    held_since, deadline = None, start + detection_bound(fast, fast_route, scrape) + WAIT_MARGIN_S
    while held_since is None or time.time() - held_since < hold_s:
        assert not prom.query(burn), f"client errors (4xx) alone made a burn alert pending/firing{diagnostics()}"
        held_since = (held_since or time.time()) if prom.query(control) else None
        assert time.time() < deadline, f"the 4xx control never held {hold_s:.0f}s (too few 4xx?){diagnostics()}"
        time.sleep(scrape)
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

    # -- 3..5: faults that must page or open a ticket, then resolve ---------------------------------------------
    model_server, traffic = stack.model_server, stack.traffic
    faults = [
        (ALERT_LATENCY_HIGH, f"+{LATENCY_FAULT_S * 1000:.0f} ms per request",
         lambda: model_server.fault.set(latency_s=LATENCY_FAULT_S), model_server.fault.set, set()),
        (ALERT_NO_TRAFFIC, "traffic stops",
         lambda: traffic.set_mode(sending=False), traffic.set_mode, set()),
        (ALERT_ERROR_BUDGET_FAST_BURN, f"{100 // ERROR_EVERY} % HTTP 500",
         lambda: model_server.fault.set(error_every=ERROR_EVERY), model_server.fault.set,
         {ALERT_ERROR_BUDGET_SLOW_BURN}),  # the slow burn may fire too (ticket) and outlives the test
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
        recover()
        recovered = time.time()
        if fired is not None:
            resolved = wait_event(alert, "resolved", recovered, measured.resolve_bound_s + WAIT_MARGIN_S)
            measured.resolved_s = None if resolved is None else resolved.arrival - recovered
        phases.append((fault, start, time.time(), {alert, *also_allowed}))
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
        assert {e.receiver for e in fired_events} == set(route.receivers), (
            f"{alert} (severity {measured.severity}) reached {sorted({e.receiver for e in fired_events})}, "
            f"the rendered route sends it to {list(route.receivers)}"
        )
        for event in fired_events:
            for label in ("model", "environment", "severity"):
                value = rule.labels[label]
                assert event.shows(label, value), (
                    f"{alert}'s {event.channel} notification to {event.receiver} does not show {label} '{value}': "
                    f"{event.labels or event.message!r}"
                )
        assert measured.resolved_s is not None, f"{alert} never resolved after the recovery{diagnostics()}"
        assert measured.resolved_s <= measured.resolve_bound_s, (
            f"{alert} resolved {measured.resolved_s:.1f}s after recovery > bound {measured.resolve_bound_s:.1f}s"
        )

    # -- every alert that fired was the one its phase provoked -------------------------------------------------
    phases[-1] = (*phases[-1][:2], float("inf"), phases[-1][3])  # the slow burn may still fire after the test
    for event in (e for e in events() if e.status == "firing"):
        phase = next((p for p in phases if p[1] <= event.arrival < p[2]), None)
        assert phase is not None and event.alertname in phase[3], (
            f"{event.alertname} fired during '{phase and phase[0]}', which should only provoke "
            f"{sorted(phase[3]) if phase else '-'}{diagnostics()}"
        )
    counts = traffic.counts()
    report(f"traffic by HTTP status: {dict(sorted(counts.items()))}")
    assert counts.get(500) and 0 not in counts, f"an exception in predict must be HTTP 500, no request lost: {counts}"
    report(f"paging route: severity={SEVERITY_PAGE} -> {', '.join(routes[ALERT_LATENCY_HIGH].receivers)}")
    elapsed = time.monotonic() - stack.started
    report(f"runtime: {elapsed:.0f} s from starting the processes (budget {MAX_TEST_SECONDS} s)")
    assert elapsed < MAX_TEST_SECONDS, f"the e2e test took {elapsed:.0f}s, over its {MAX_TEST_SECONDS}s budget"


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
