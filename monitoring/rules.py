"""Prometheus rule groups for one environment: recording rules into mlinfra's schema, then alerts per model.

- One recording group per runtime used in the plan, scoped to the plan's namespace and that runtime's models
  (so two profiles, or two runtimes sharing a metric name such as `http_requests_total`, never record the
  same series twice).
- One SLO group with each model's 30-day records: error and slow-request ratios over the SLO period and the
  share of each budget left (evaluated every 5 minutes: a 30-day range is costly).
- One alert group with every model's alerts. Thresholds come from the model's SLO; severities are fixed
  (critical pages, warning makes a ticket) - whether critical actually pages is decided by the Alertmanager
  routing of the environment (dev routes critical to the ticket receivers, see alertmanager.py).
- Both SLOs burn budgets the same way (SRE workbook multi-window multi-burn-rate, as sloth and pyrra): the
  error budget (server errors) and the latency budget (requests slower than the bucket edge of the p95 SLO,
  runtime_metrics.latency_edge; 5 % of requests may be). A fast burn pages, a slow burn makes a ticket.
- A model that should serve and has no ready replica, no scrape target up or (where traffic is expected) no
  SLI at all pages: MLModelDown. Its page mutes the model's tickets (alertmanager.py inhibition).
- Pod-level tickets (crash loop, not ready, replicas at the HPA maximum) carry the labels the chart's
  equivalents carry, so Alertmanager mutes the chart's duplicate (alertmanager.CHART_DUPLICATES); not-ready
  waits while a rollout progresses (a replica was updated within the runtime's startup time).
- The model's own alerts (OWNER_ALERTS) of a model with an owner also carry `owner`: Alertmanager routes them
  to that owner's receivers.
- Every alert carries the labels `namespace`, `model`, `environment`, `severity` and the annotations
  `summary`, `description` (with the measured value) and `runbook_url` (the profile's monitoring.runbook_url
  plus `#<alert name in lower case>`, the anchors of docs/runbooks.md).
"""

from __future__ import annotations

import math
from typing import Any

from mlinfra.conventions import (
    ALERT_CRASH_LOOPING,
    ALERT_DRIFT_HIGH,
    ALERT_DRIFT_SEVERE,
    ALERT_DRIFT_STALE,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_FAST_BURN,
    ALERT_LATENCY_HIGH,
    ALERT_LATENCY_SLOW_BURN,
    ALERT_MODEL_DOWN,
    ALERT_NO_TRAFFIC,
    ALERT_NOT_READY,
    ALERT_SATURATED,
    DRIFT_LAST_COMPUTED_METRIC,
    DRIFT_PSI_METRIC,
    DRIFT_SCORE_METRIC,
    PORT_DRIFT_METRICS,
    SEVERITY_PAGE,
    SEVERITY_TICKET,
    recorded,
    runbook_url,
)
from mlinfra.monitoring.runtime_metrics import (
    ERROR_WINDOWS,
    FAST_BURN,
    LATENCY_OBJECTIVE,
    LATENCY_WINDOW,
    QUANTILES,
    REQUEST_WINDOWS,
    SLO_WINDOW,
    SLOW_BURN,
    error_ratio_record,
    latency_edge,
    latency_record,
    metrics_for,
    model_scope,
    pods_regex,
    requests_record,
    slow_ratio_record,
)
from mlinfra.drift.score import psi_to_score
from mlinfra.runtimes.catalog import RUNTIMES
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming, format_duration
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.planning.scaling import scales_to_zero
from mlinfra.conventions import keda_hpa_name
from mlinfra.monitoring.runtime_metrics import requests_waiting

# Production `for:` durations (seconds), scaled by the timing
HOLD = {
    ALERT_LATENCY_HIGH: 600,  # aws-sagemaker's p95 alarm (targets/aws_sagemaker/alarms.py); no rule here
    ALERT_MODEL_DOWN: 300,  # longer than a restarted Prometheus needs to scrape and record the SLI again
    ALERT_LATENCY_FAST_BURN: 120,
    ALERT_LATENCY_SLOW_BURN: 900,
    ALERT_ERROR_BUDGET_FAST_BURN: 120,
    ALERT_ERROR_BUDGET_SLOW_BURN: 900,
    ALERT_NO_TRAFFIC: 600,
    # pod-level tickets hold less than the chart's 15-minute equivalents, so theirs is muted (alertmanager.py)
    ALERT_SATURATED: 600,
    ALERT_CRASH_LOOPING: 600,
    ALERT_NOT_READY: 600,
    ALERT_DRIFT_HIGH: 1800,  # drift moves slowly and the window already averages many requests
    ALERT_DRIFT_SEVERE: 900,
    ALERT_DRIFT_STALE: 600,
}
SEVERITY = {
    ALERT_LATENCY_HIGH: SEVERITY_PAGE,
    ALERT_MODEL_DOWN: SEVERITY_PAGE,
    ALERT_LATENCY_FAST_BURN: SEVERITY_PAGE,
    ALERT_LATENCY_SLOW_BURN: SEVERITY_TICKET,
    ALERT_ERROR_BUDGET_FAST_BURN: SEVERITY_PAGE,
    ALERT_ERROR_BUDGET_SLOW_BURN: SEVERITY_TICKET,
    ALERT_NO_TRAFFIC: SEVERITY_TICKET,
    ALERT_SATURATED: SEVERITY_TICKET,
    ALERT_CRASH_LOOPING: SEVERITY_TICKET,
    ALERT_NOT_READY: SEVERITY_TICKET,
    ALERT_DRIFT_HIGH: SEVERITY_TICKET,
    ALERT_DRIFT_SEVERE: SEVERITY_PAGE,
    ALERT_DRIFT_STALE: SEVERITY_TICKET,
}
# The model's own alerts: they carry the label `owner` (models[].owner) and go to that owner's receivers
# (monitoring/alertmanager.py). MLModelDown is the owner's and, being critical, also the platform's where the
# environment pages; the pod-level tickets (replicas at the maximum, crash loops, pods not ready) are about the
# cluster running the model and stay the platform's, like the chart's alerts.
OWNER_ALERTS = frozenset({
    ALERT_MODEL_DOWN,
    ALERT_LATENCY_HIGH,
    ALERT_LATENCY_FAST_BURN,
    ALERT_LATENCY_SLOW_BURN,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_NO_TRAFFIC,
    ALERT_DRIFT_HIGH,
    ALERT_DRIFT_SEVERE,
})
CRASH_WINDOW = 300  # a container counts as crash-looping when it was in CrashLoopBackOff within this window
LOW_TRAFFIC_RPS = 0.1  # below this average, silence is judged over an hour instead of five minutes


SLO_GROUP_INTERVAL = 300  # production evaluation interval of the 30-day records
LATENCY_BUDGET = round(1 - LATENCY_OBJECTIVE, 10)


def build_rule_groups(plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION) -> list[dict[str, Any]]:
    """Recording groups (one per runtime in use), the SLO group, then the alert group, as rule-file dicts."""
    interval = format_duration(timing.evaluation_interval)
    by_runtime: dict[str, list[ModelSpec]] = {}
    for model in plan.models:
        by_runtime.setdefault(model.runtime, []).append(model)
    groups = [
        {
            "name": f"mlinfra.{plan.namespace}.{runtime}.recording",
            "interval": interval,
            "rules": recording_rules(runtime, plan.namespace, models, timing),
        }
        for runtime, models in sorted(by_runtime.items())
    ]
    groups.append(
        {
            "name": f"mlinfra.{plan.namespace}.slo",
            "interval": timing.hold(SLO_GROUP_INTERVAL),
            "rules": [rule for model in plan.models for rule in slo_records(plan, model, timing)],
        }
    )
    alerts = [rule for model in plan.models for rule in model_alerts(plan, model, timing)]
    groups.append({"name": f"mlinfra.{plan.namespace}.alerts", "interval": interval, "rules": alerts})
    return groups


def recording_rules(
    runtime: str, namespace: str, models: list[ModelSpec], timing: AlertTiming
) -> list[dict[str, str]]:
    """The schema for one runtime's models: request rate, error ratio and slow-request ratio per SLO window,
    latency quantiles (dashboards). The slow ratio reads each model's bucket edge (models sharing an edge share
    a selector)."""
    metrics = metrics_for(runtime)
    scope = model_scope(namespace, [m.name for m in models])
    rules = [(requests_record(w), metrics.request_rate(scope, timing.window(w))) for w in REQUEST_WINDOWS]
    rules += [(error_ratio_record(w), metrics.error_ratio(scope, timing.window(w))) for w in ERROR_WINDOWS]
    rules += [
        (latency_record(q), metrics.latency_quantile(scope, value, timing.window(LATENCY_WINDOW)))
        for q, value in QUANTILES.items()
    ]
    by_edge: dict[float, list[str]] = {}
    for model in models:
        by_edge.setdefault(latency_edge(runtime, model.latency_p95_ms).edge_s, []).append(model.name)
    for w in ERROR_WINDOWS:  # one rule per window: each edge's models, joined with `or` (disjoint model sets)
        parts = [
            metrics.slow_ratio(model_scope(namespace, names), edge, timing.window(w))
            for edge, names in sorted(by_edge.items())
        ]
        rules.append((slow_ratio_record(w), parts[0] if len(parts) == 1 else " or ".join(f"({p})" for p in parts)))
    waiting = requests_waiting(runtime, scope)  # LLM runtimes: their queue, what they autoscale on
    if waiting is not None:
        rules.append(waiting)
    # The `runtime` label keeps records of different runtimes distinct (and tells a dashboard reader the source).
    return [{"record": record, "expr": expr, "labels": {"runtime": runtime}} for record, expr in rules]


def slo_records(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming) -> list[dict[str, Any]]:
    """30-day error and slow-request ratios (the mean of the 5-minute records, as sloth records its period
    SLI) and the share of each 30-day budget left (1 = untouched, 0 = spent, negative = overspent)."""
    sel = _selector(plan, model)
    window = timing.window(SLO_WINDOW)
    out = []
    for ratio, budget_name, budget in (
        ("error_ratio", "error_budget_remaining", model.error_budget),
        ("latency_slow_ratio", "latency_budget_remaining", LATENCY_BUDGET),
    ):
        five = f"{recorded(ratio, '5m')}{{{sel}}}"
        month = recorded(ratio, "30d")
        out.append(
            {"record": month, "expr": f"sum_over_time({five}[{window}]) / count_over_time({five}[{window}])"}
        )
        out.append({"record": recorded(budget_name, "30d"), "expr": f"1 - {month}{{{sel}}} / {_num(budget)}"})
    # the static `model` label keeps one model's rules apart from another's (the series carry it anyway)
    return [{**rule, "labels": {"model": model.name}} for rule in out]


def _selector(plan: EnvironmentPlan, model: ModelSpec) -> str:
    return f'namespace="{plan.namespace}", model="{model.name}", environment="{plan.environment}"'


def model_alerts(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming) -> list[dict[str, Any]]:
    """Every alert of one model, in a fixed order."""
    sel = _selector(plan, model)
    budget = model.error_budget
    where = f"{model.name} ({plan.environment})"
    edge = latency_edge(model.runtime, model.latency_p95_ms)
    slow = f"longer than {_s(edge.edge_s)}" + (
        "" if edge.exact else f" (the bucket edge its {_ms(model.latency_p95_ms)} p95 SLO is measured at)"
    )
    rules = [
        _down_alert(plan, model, timing, sel),
        _alert(
            ALERT_LATENCY_FAST_BURN,
            _burn_expr(sel, LATENCY_BUDGET, FAST_BURN, slow_ratio_record),
            plan, model, timing,
            summary=f"{where}: latency budget burning fast",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of requests to model {model.name} in {plan.environment} took "
                f"{slow}; the p95 SLO allows {_pct(LATENCY_BUDGET)}. At this rate a 30-day budget is gone in under "
                f"{_days(FAST_BURN)} days."
            ),
        ),
        _alert(
            ALERT_LATENCY_SLOW_BURN,
            _burn_expr(sel, LATENCY_BUDGET, SLOW_BURN, slow_ratio_record),
            plan, model, timing,
            summary=f"{where}: latency budget burning",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of requests to model {model.name} in {plan.environment} took "
                f"{slow}; the p95 SLO allows {_pct(LATENCY_BUDGET)}. At this rate a 30-day budget is gone in under "
                f"{_days(SLOW_BURN)} days."
            ),
        ),
        _alert(
            ALERT_ERROR_BUDGET_FAST_BURN,
            _burn_expr(sel, budget, FAST_BURN),
            plan, model, timing,
            summary=f"{where}: error budget burning fast",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of requests to model {model.name} in {plan.environment} "
                f"fail with a server error; the error budget is {_pct(budget)} "
                f"(availability SLO {_pct(model.availability)}). At this rate a 30-day budget is gone in under "
                f"{_days(FAST_BURN)} days."
            ),
        ),
        _alert(
            ALERT_ERROR_BUDGET_SLOW_BURN,
            _burn_expr(sel, budget, SLOW_BURN),
            plan, model, timing,
            summary=f"{where}: error budget burning",
            description=(
                f"{{{{ $value | humanizePercentage }}}} of requests to model {model.name} in {plan.environment} "
                f"fail with a server error; the error budget is {_pct(budget)} "
                f"(availability SLO {_pct(model.availability)}). At this rate a 30-day budget is gone in under "
                f"{_days(SLOW_BURN)} days."
            ),
        ),
    ]
    if model.expects_traffic:
        window = REQUEST_WINDOWS[0] if model.expected_rps >= LOW_TRAFFIC_RPS else REQUEST_WINDOWS[1]
        series = f"{requests_record(window)}{{{sel}}}"
        rules.append(
            _alert(
                ALERT_NO_TRAFFIC,
                _unless_asleep(plan, model, f"{series} == 0 or absent({series}) * 0"),
                plan, model, timing,
                summary=f"{where}: no requests",
                description=(
                    f'Model {model.name} in {plan.environment} receives {{{{ $value | printf "%.2f" }}}} requests/s; '
                    f"it is expected to serve about {_num(model.expected_rps)} requests/s on average."
                ),
            )
        )
    k8s = f'namespace="{plan.namespace}", '
    if model.max_replicas > model.min_replicas:
        # the model's own HPA (autoscaling.metric cpu) or the one KEDA creates for its ScaledObject
        owner = keda_hpa_name(model.k8s_name) if plan.autoscaling.metric == "requests" else model.k8s_name
        hpa = f'{k8s}horizontalpodautoscaler="{owner}"'
        rules.append(
            _alert(
                ALERT_SATURATED,
                f"kube_horizontalpodautoscaler_status_current_replicas{{{hpa}}} >= on(namespace, horizontalpodautoscaler) "
                f"kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}}",
                plan, model, timing,
                summary=f"{where}: replicas pinned at the autoscaler maximum",
                description=(
                    f"Model {model.name} in {plan.environment} runs {{{{ $value }}}} replicas, the HPA maximum "
                    f"({model.max_replicas}); more load will queue and raise latency."
                ),
            )
        )
    pods = f'{k8s}pod=~"{pods_regex(model.k8s_name)}"'
    rules.append(
        _alert(
            ALERT_CRASH_LOOPING,
            f"max by (namespace, pod, container) (max_over_time(kube_pod_container_status_waiting_reason"
            f'{{{pods}, reason="CrashLoopBackOff"}}[{timing.window(CRASH_WINDOW)}])) >= 1',
            plan, model, timing,
            summary=f"{where}: a serving pod is crash-looping",
            description=(
                f"Container {{{{ $labels.container }}}} of pod {{{{ $labels.pod }}}} (model {model.name}, "
                f"{plan.environment}) is in CrashLoopBackOff."
            ),
        )
    )
    deploy = f'{k8s}deployment="{model.k8s_name}"'
    startup = timing.window(RUNTIMES[model.runtime].startup_seconds)
    rules.append(
        _alert(
            ALERT_NOT_READY,
            f"(kube_deployment_spec_replicas{{{deploy}}} - on(namespace, deployment) "
            f"kube_deployment_status_replicas_available{{{deploy}}}) > 0 "
            # rollout guard: a replica was updated within the runtime's startup time, so pods are still starting
            f"unless on(namespace, deployment) changes(kube_deployment_status_replicas_updated{{{deploy}}}[{startup}]) > 0",
            plan, model, timing,
            summary=f"{where}: serving pods not ready",
            description=(
                f"{{{{ $value }}}} of the desired pods of model {model.name} in {plan.environment} are not available."
            ),
        )
    )
    if model.drift is not None:
        rules += drift_alerts(plan, model, timing)
    return rules


def drift_alerts(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming) -> list[dict[str, Any]]:
    """The drift monitor's alerts: its highest score (any feature or the prediction) over the model's PSI thresholds,
    as scores (drift.score.psi_to_score). The monitor exports no score below min_samples, so too few requests never
    alert; every replica scores its own sample, and the highest counts. And a ticket when a replica's monitor stops
    computing (its timestamp goes stale), which would silence the other two."""
    d = model.drift
    assert d is not None
    where = f"{model.name} ({plan.environment})"
    score = f'max by (namespace, model) ({DRIFT_SCORE_METRIC}{{namespace="{plan.namespace}", model="{model.name}"}})'
    psi = (
        f'max by (namespace, model) ({DRIFT_PSI_METRIC}{{namespace="{plan.namespace}", model="{model.name}"}})'
    )
    out = []
    for name, threshold, what in (
        (ALERT_DRIFT_HIGH, d.warn_psi, "models[].drift.warn_psi"),
        (ALERT_DRIFT_SEVERE, d.page_psi, "models[].drift.page_psi"),
    ):
        out.append(
            _alert(
                name,
                f"{score} > {_num(round(psi_to_score(threshold), 6))}",
                plan, model, timing,
                summary=f"{where}: input drift above PSI {_num(threshold)}",
                description=(
                    f'The drift score of model {model.name} in {plan.environment} is {{{{ $value | printf "%.3f" }}}} '
                    f"(its most drifted feature or prediction; PSI {{{{ with query `{psi}` }}}}"
                    f'{{{{ . | first | value | printf "%.3f" }}}}{{{{ end }}}}), above '
                    f"{_num(round(psi_to_score(threshold), 6))} = PSI {_num(threshold)} ({what}): recent inputs or "
                    "predictions no longer look like the reference sample. Find the feature on the model's dashboard, "
                    "check the data upstream, then retrain or replace the reference."
                ),
            )
        )
    stale = stale_after(d.interval_seconds)
    out.append(
        _alert(
            ALERT_DRIFT_STALE,
            f'time() - min by (namespace, model) ({DRIFT_LAST_COMPUTED_METRIC}{{namespace="{plan.namespace}", '
            f'model="{model.name}"}}) > {stale}',
            plan, model, timing,
            summary=f"{where}: drift monitor not computing",
            description=(
                f"A drift monitor of model {model.name} in {plan.environment} last computed its scores "
                f"{{{{ $value | humanizeDuration }}}} ago; it recomputes every {_num(d.interval_seconds)} s. Until "
                "it does, the drift alerts cannot fire. Its log (container drift) says why."
            ),
        )
    )
    return out


def stale_after(interval_seconds: float) -> int:
    """Seconds without a computation after which a drift monitor is stale: ten of its intervals, at least a minute
    (its timestamp is scraped, and a busy host may delay a computation or two)."""
    return max(60, math.ceil(10 * interval_seconds))


def burn_thresholds(budget: float, windows: tuple[tuple[int, int, float], ...]) -> list[tuple[int, int, str, str]]:
    """(long, short, operator, threshold) per burn condition; a factor that exceeds 100 % errors is capped at 1."""
    out = []
    for long_w, short_w, factor in windows:
        value = factor * budget
        out.append((long_w, short_w, ">=", "1") if value >= 1 else (long_w, short_w, ">", _num(value)))
    return out


def _burn_expr(
    sel: str, budget: float, windows: tuple[tuple[int, int, float], ...], record=error_ratio_record
) -> str:
    parts = [
        f"({record(long_w)}{{{sel}}} {op} {value} and {record(short_w)}{{{sel}}} {op} {value})"
        for long_w, short_w, op, value in burn_thresholds(budget, windows)
    ]
    return " or ".join(parts)


def _down_alert(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming, sel: str) -> dict[str, Any]:
    """No ready replica, no scrape target up, or (traffic expected) no SLI: one series, so one page."""
    deploy = f'namespace="{plan.namespace}", deployment="{model.k8s_name}"'
    # the model server's scrape target: with a drift monitor the pod has a second one (its own endpoint)
    up_sel = sel + (f', endpoint!="{PORT_DRIFT_METRICS}"' if model.drift is not None else "")
    branches = [
        f"absent(up{{{up_sel}}} == 1)",
        f"(kube_deployment_spec_replicas{{{deploy}}} > 0 and on(namespace, deployment) "
        f"kube_deployment_status_replicas_available{{{deploy}}} == 0)",
    ]
    if model.expects_traffic:
        branches.insert(1, f"absent({requests_record(REQUEST_WINDOWS[0])}{{{sel}}})")
    what = "no ready replica, no metrics endpoint answering" + (" or no request metrics" if model.expects_traffic else "")
    return _alert(
        ALERT_MODEL_DOWN,
        _unless_asleep(plan, model, f"max({' or '.join(branches)})"),
        plan, model, timing,
        summary=f"{model.name} ({plan.environment}): model down",
        description=(
            f"Model {model.name} in {plan.environment} should serve ({model.min_replicas} or more replicas) but has "
            f"{what}: its clients get errors or nothing, and its SLOs cannot be measured."
        ),
    )


def _alert(
    name: str,
    expr: str,
    plan: EnvironmentPlan,
    model: ModelSpec,
    timing: AlertTiming,
    *,
    summary: str,
    description: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": timing.hold(HOLD[name]),
        "labels": {
            "severity": SEVERITY[name],
            "namespace": plan.namespace,
            "model": model.name,
            "environment": plan.environment,
            **({"owner": model.owner} if model.owner and name in OWNER_ALERTS else {}),
        },
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": runbook_url(name, plan.monitoring.runbook_url),
        },
    }


def _unless_asleep(plan: EnvironmentPlan, model: ModelSpec, expr: str) -> str:
    """For a model that scales to zero (dev schedule): not while its Deployment deliberately runs no replica -
    no target and no requests are then what was asked for. The Deployment's own count decides (KEDA sets it), so
    a model that should run and does not still alerts. `expr` unchanged for every other model."""
    if not scales_to_zero(plan, model):
        return expr
    deploy = f'namespace="{plan.namespace}", deployment="{model.k8s_name}"'
    return f"({expr}) unless on() (kube_deployment_spec_replicas{{{deploy}}} == 0)"


def _num(value: float) -> str:
    """A threshold as PromQL/people read it: 10 significant digits, no float noise (14.4 * 0.005 -> 0.072)."""
    return format(value, ".10g")


def _ms(ms: float) -> str:
    return f"{_num(ms / 1000)} s" if ms >= 1000 else f"{_num(ms)} ms"


def _s(seconds: float) -> str:
    return _ms(round(seconds * 1000, 9))


def _pct(ratio: float) -> str:
    return f"{_num(round(ratio * 100, 6))} %"


def _days(windows: tuple[tuple[int, int, float], ...]) -> str:
    """Budget exhaustion time (30-day budget) at the smallest burn factor of a group."""
    return _num(round(30 / min(w[2] for w in windows), 1))


__all__ = ["build_rule_groups", "burn_thresholds", "HOLD", "LATENCY_BUDGET", "OWNER_ALERTS", "SEVERITY", "LATENCY_WINDOW"]
