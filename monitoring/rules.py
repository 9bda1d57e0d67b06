"""Prometheus rule groups for one environment: recording rules into mlinfra's schema, then alerts per model.

- One recording group per runtime used in the plan, scoped to the plan's namespace and that runtime's models
  (so two profiles, or two runtimes sharing a metric name such as `http_requests_total`, never record the
  same series twice).
- One alert group with every model's alerts. Thresholds come from the model's SLO; severities are fixed
  (critical pages, warning makes a ticket) - whether critical actually pages is decided by the Alertmanager
  routing of the environment (dev routes critical to the ticket receivers, see alertmanager.py).
- Every alert carries the labels `namespace`, `model`, `environment`, `severity` and the annotations
  `summary`, `description` (with the measured value) and `runbook_url` (the profile's monitoring.runbook_url
  plus `#<alert name in lower case>`, the anchors of docs/runbooks.md).
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import (
    ALERT_CRASH_LOOPING,
    ALERT_DRIFT_HIGH,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_HIGH,
    ALERT_NO_TRAFFIC,
    ALERT_NOT_READY,
    ALERT_SATURATED,
    DRIFT_SCORE_METRIC,
    SEVERITY_PAGE,
    SEVERITY_TICKET,
    runbook_url,
)
from mlinfra.monitoring.runtime_metrics import (
    ERROR_WINDOWS,
    FAST_BURN,
    LATENCY_WINDOW,
    QUANTILES,
    REQUEST_WINDOWS,
    SLOW_BURN,
    error_ratio_record,
    latency_record,
    metrics_for,
    model_scope,
    pods_regex,
    requests_record,
)
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming, format_duration
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec

# Production `for:` durations (seconds), scaled by the timing
HOLD = {
    ALERT_LATENCY_HIGH: 600,
    ALERT_ERROR_BUDGET_FAST_BURN: 120,
    ALERT_ERROR_BUDGET_SLOW_BURN: 900,
    ALERT_NO_TRAFFIC: 600,
    ALERT_SATURATED: 900,
    ALERT_CRASH_LOOPING: 600,
    ALERT_NOT_READY: 900,
    ALERT_DRIFT_HIGH: 1800,
}
SEVERITY = {
    ALERT_LATENCY_HIGH: SEVERITY_PAGE,
    ALERT_ERROR_BUDGET_FAST_BURN: SEVERITY_PAGE,
    ALERT_ERROR_BUDGET_SLOW_BURN: SEVERITY_TICKET,
    ALERT_NO_TRAFFIC: SEVERITY_TICKET,
    ALERT_SATURATED: SEVERITY_TICKET,
    ALERT_CRASH_LOOPING: SEVERITY_TICKET,
    ALERT_NOT_READY: SEVERITY_TICKET,
    ALERT_DRIFT_HIGH: SEVERITY_TICKET,
}
CRASH_WINDOW = 300  # a container counts as crash-looping when it was in CrashLoopBackOff within this window
LOW_TRAFFIC_RPS = 0.1  # below this average, silence is judged over an hour instead of five minutes


def build_rule_groups(plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION) -> list[dict[str, Any]]:
    """Recording groups (one per runtime in use) followed by the alert group, as Prometheus rule-file dicts."""
    interval = format_duration(timing.evaluation_interval)
    by_runtime: dict[str, list[str]] = {}
    for model in plan.models:
        by_runtime.setdefault(model.runtime, []).append(model.name)
    groups = [
        {
            "name": f"mlinfra.{plan.namespace}.{runtime}.recording",
            "interval": interval,
            "rules": recording_rules(runtime, model_scope(plan.namespace, names), timing),
        }
        for runtime, names in sorted(by_runtime.items())
    ]
    alerts = [rule for model in plan.models for rule in model_alerts(plan, model, timing)]
    groups.append({"name": f"mlinfra.{plan.namespace}.alerts", "interval": interval, "rules": alerts})
    return groups


def recording_rules(runtime: str, scope: tuple[str, ...], timing: AlertTiming) -> list[dict[str, str]]:
    """The schema for one runtime's models: request rate, error ratio per SLO window, latency quantiles."""
    metrics = metrics_for(runtime)
    rules = [(requests_record(w), metrics.request_rate(scope, timing.window(w))) for w in REQUEST_WINDOWS]
    rules += [(error_ratio_record(w), metrics.error_ratio(scope, timing.window(w))) for w in ERROR_WINDOWS]
    rules += [
        (latency_record(q), metrics.latency_quantile(scope, value, timing.window(LATENCY_WINDOW)))
        for q, value in QUANTILES.items()
    ]
    # The `runtime` label keeps records of different runtimes distinct (and tells a dashboard reader the source).
    return [{"record": record, "expr": expr, "labels": {"runtime": runtime}} for record, expr in rules]


def model_alerts(plan: EnvironmentPlan, model: ModelSpec, timing: AlertTiming) -> list[dict[str, Any]]:
    """Every alert of one model, in a fixed order."""
    sel = f'namespace="{plan.namespace}", model="{model.name}", environment="{plan.environment}"'
    budget = model.error_budget
    where = f"{model.name} ({plan.environment})"
    rules = [
        _alert(
            ALERT_LATENCY_HIGH,
            f"{latency_record('p95')}{{{sel}}} > {_num(model.latency_p95_ms / 1000)}",
            plan, model, timing,
            summary=f"{where}: p95 latency above the {_ms(model.latency_p95_ms)} SLO",
            description=(
                f"p95 latency of model {model.name} in {plan.environment} is {{{{ $value | humanizeDuration }}}}; "
                f"the SLO is {_ms(model.latency_p95_ms)}."
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
        window = REQUEST_WINDOWS[0] if model.average_rps >= LOW_TRAFFIC_RPS else REQUEST_WINDOWS[1]
        series = f"{requests_record(window)}{{{sel}}}"
        rules.append(
            _alert(
                ALERT_NO_TRAFFIC,
                f"{series} == 0 or absent({series}) * 0",
                plan, model, timing,
                summary=f"{where}: no requests",
                description=(
                    f'Model {model.name} in {plan.environment} receives {{{{ $value | printf "%.2f" }}}} requests/s; '
                    f"it is expected to serve about {_num(model.average_rps)} requests/s on average."
                ),
            )
        )
    k8s = f'namespace="{plan.namespace}", '
    if model.max_replicas > model.min_replicas:
        hpa = f'{k8s}horizontalpodautoscaler="{model.k8s_name}"'
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
    rules.append(
        _alert(
            ALERT_NOT_READY,
            f"(kube_deployment_spec_replicas{{{deploy}}} - on(namespace, deployment) "
            f"kube_deployment_status_replicas_available{{{deploy}}}) > 0",
            plan, model, timing,
            summary=f"{where}: serving pods not ready",
            description=(
                f"{{{{ $value }}}} of the desired pods of model {model.name} in {plan.environment} are not available."
            ),
        )
    )
    if plan.monitoring.drift:
        rules.append(
            _alert(
                ALERT_DRIFT_HIGH,
                f'max by (namespace, model) ({DRIFT_SCORE_METRIC}{{namespace="{plan.namespace}", model="{model.name}"}}) '
                f"> {_num(plan.monitoring.drift_threshold)}",
                plan, model, timing,
                summary=f"{where}: input drift above threshold",
                description=(
                    f'Drift score of model {model.name} in {plan.environment} is {{{{ $value | printf "%.3f" }}}}, '
                    f"above the threshold {_num(plan.monitoring.drift_threshold)}; check recent inputs and retrain."
                ),
            )
        )
    return rules


def burn_thresholds(budget: float, windows: tuple[tuple[int, int, float], ...]) -> list[tuple[int, int, str, str]]:
    """(long, short, operator, threshold) per burn condition; a factor that exceeds 100 % errors is capped at 1."""
    out = []
    for long_w, short_w, factor in windows:
        value = factor * budget
        out.append((long_w, short_w, ">=", "1") if value >= 1 else (long_w, short_w, ">", _num(value)))
    return out


def _burn_expr(sel: str, budget: float, windows: tuple[tuple[int, int, float], ...]) -> str:
    parts = [
        f"({error_ratio_record(long_w)}{{{sel}}} {op} {value} and {error_ratio_record(short_w)}{{{sel}}} {op} {value})"
        for long_w, short_w, op, value in burn_thresholds(budget, windows)
    ]
    return " or ".join(parts)


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
        },
        "annotations": {
            "summary": summary,
            "description": description,
            "runbook_url": runbook_url(name, plan.monitoring.runbook_url),
        },
    }


def _num(value: float) -> str:
    """A threshold as PromQL/people read it: 10 significant digits, no float noise (14.4 * 0.005 -> 0.072)."""
    return format(value, ".10g")


def _ms(ms: float) -> str:
    return f"{_num(ms / 1000)} s" if ms >= 1000 else f"{_num(ms)} ms"


def _pct(ratio: float) -> str:
    return f"{_num(round(ratio * 100, 6))} %"


def _days(windows: tuple[tuple[int, int, float], ...]) -> str:
    """Budget exhaustion time (30-day budget) at the smallest burn factor of a group."""
    return _num(round(30 / min(w[2] for w in windows), 1))


__all__ = ["build_rule_groups", "burn_thresholds", "HOLD", "SEVERITY", "LATENCY_WINDOW"]
