"""CloudWatch alarms of one model's endpoint: the Kubernetes targets' alerts (monitoring/rules.py) on SageMaker's
metrics, as plain data. The components create exactly these; `render` writes them.

| Kubernetes alert | here | severity |
| --- | --- | --- |
| MLModelLatencyHigh | p95 of `ModelLatency` (microseconds) above the SLO, 5-minute periods, for 10 minutes | critical |
| MLModelErrorBudgetFastBurn | composite: server-error ratio (Invocation5XXErrors / Invocations) above 14.4 x the budget over 1 h and 5 m, or 6 x over 6 h and 30 m | critical |
| MLModelErrorBudgetSlowBurn | composite: 3 x over 1 d and 2 h, or 1 x over 3 d and 6 h | warning |
| MLModelNoTraffic | no invocations for 5 minutes (1 hour below 0.1 req/s) plus the hold, when traffic is expected | warning |
| MLModelPodsNotReady | no instance of a real-time or asynchronous variant reports (`CPUUtilization` sample count in `/aws/sagemaker/Endpoints` below 1) for 5 minutes plus the hold | warning (as on Kubernetes) |

Asynchronous endpoints publish no `Invocations` (AWS: "not published if the endpoint is enabled for asynchronous
inference"): their error ratio and no-traffic alarm count requests by `ModelLatency`'s sample count (one sample per
request the model processed), which every mode publishes.

The burn windows, factors, holds and thresholds are monitoring/rules.py's own (imported, not copied). Each window
of a burn condition is a metric-math alarm without actions; the composite alarm combines them (long AND short,
OR over the conditions) and notifies. Alarms that notify send both ALARM and OK to the topic of their severity
(targets/aws/notifications.py routes severities as Alertmanager does), a model owner's alarms (all but the
no-instances one) to the owner's topics (alarm_topics). Replicas at the autoscaling maximum,
and crash loops have no SageMaker counterpart a stack can alarm on: SageMaker replaces failed instances itself;
Serverless endpoints have no instances of their own to count.

MLModelDriftHigh (warning) is not a CloudWatch alarm here: nothing publishes a drift score on SageMaker. With
monitoring.drift, model_monitor.py's data-quality schedule compares the captured requests with a baseline and an
EventBridge rule sends its executions that complete with violations to the warning topic (model_monitor.py says
why an event and not Model Monitor's per-feature metrics).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from mlinfra.conventions import (
    ALERT_DRIFT_HIGH,
    ALERT_NOT_READY,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_HIGH,
    ALERT_NO_TRAFFIC,
    runbook_url,
)
from mlinfra.monitoring.rules import HOLD, LOW_TRAFFIC_RPS, SEVERITY, burn_thresholds
from mlinfra.monitoring.runtime_metrics import FAST_BURN, LATENCY_WINDOW, REQUEST_WINDOWS, SLOW_BURN
from mlinfra.monitoring.timing import format_duration
from mlinfra.planning.specs import ModelSpec
from mlinfra.targets.aws_sagemaker.endpoints import VARIANT, EndpointSpec, SageMakerPlan

NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"  # instance metrics (CPUUtilization, ...), one sample per instance
INSTANCE_WINDOW = 300
MICROSECONDS_PER_MS = 1000  # ModelLatency is in microseconds
BURN_GROUPS = ((ALERT_ERROR_BUDGET_FAST_BURN, FAST_BURN), (ALERT_ERROR_BUDGET_SLOW_BURN, SLOW_BURN))
_OPERATORS = {">": "GreaterThanThreshold", ">=": "GreaterThanOrEqualToThreshold"}


@dataclass(frozen=True, kw_only=True)
class AlarmSpec:
    alert: str  # the alert it stands for (conventions.ALERT_*)
    kind: Literal["metric", "composite"]
    severity: str | None  # None: a condition of a composite alarm, without actions of its own
    args: dict[str, Any]  # the alarm's arguments (pulumi-aws names), actions left to the component
    key: str  # the alarm's name without its endpoint: the same in every environment (its child resource name)

    @property
    def name(self) -> str:
        return self.args["name"] if self.kind == "metric" else self.args["alarm_name"]

    @property
    def notifies(self) -> bool:
        return self.severity is not None

    def metric_count(self) -> int:
        """Metrics CloudWatch bills this alarm for (a metric-math alarm: each metric it reads)."""
        if self.kind == "composite":
            return 0
        queries = self.args.get("metric_queries") or []
        return sum(1 for q in queries if "metric" in q) or 1

    def as_dict(self) -> dict[str, Any]:
        return {"alert": self.alert, "kind": self.kind, "severity": self.severity, "key": self.key, "args": self.args}


def alarm_topics(sm: SageMakerPlan, spec: EndpointSpec, alarm: AlarmSpec) -> tuple[str, ...]:
    """The topics a notifying alarm sends ALARM and OK to: its severity's, or its model owner's
    (targets/aws/notifications.py); () for a condition of a composite alarm."""
    if alarm.severity is None:
        return ()
    return sm.notifications.topics_for(alarm.alert, alarm.severity, sm.models[spec.model].owner)


def monitor_topics(sm: SageMakerPlan, monitor: Any) -> tuple[str, ...]:
    """The topics the drift monitor's violations rule notifies (a model_monitor.MonitorSpec): its owner's ticket."""
    return sm.notifications.topics_for(ALERT_DRIFT_HIGH, monitor.severity, sm.models[monitor.model].owner)


def dimensions(spec: EndpointSpec) -> dict[str, str]:
    return {"EndpointName": spec.endpoint_name, "VariantName": VARIANT}


def evaluation_periods(window: int, hold: int) -> int:
    """A Prometheus `for:` over a range window, in whole periods of the window: the window plus the hold."""
    return math.ceil((window + hold) / window)


def build_alarms(sm: SageMakerPlan, spec: EndpointSpec) -> list[AlarmSpec]:
    """Every alarm of one endpoint, in a fixed order (conditions before the composite alarm that reads them)."""
    model = sm.models[spec.model]
    return [a for alert in endpoint_alerts(model.expects_traffic, spec.choice.instances)
            for a in alert_alarms(sm, spec, model, alert)]


def endpoint_alerts(expects_traffic: bool, instances: bool) -> tuple[str, ...]:
    """The alerts an endpoint has alarms for, in build order: latency and the error-budget burns always, no traffic
    where traffic is expected, no instances for a variant on instances (what the break-even sweep counts per point)."""
    return (ALERT_LATENCY_HIGH, *(alert for alert, _ in BURN_GROUPS), *((ALERT_NO_TRAFFIC,) if expects_traffic else ()),
            *((ALERT_NOT_READY,) if instances else ()))


def alert_alarms(sm: SageMakerPlan, spec: EndpointSpec, model: ModelSpec, alert: str) -> list[AlarmSpec]:
    """The alarms of one endpoint that stand for `alert` (a burn: its conditions, then the composite alarm)."""
    if alert == ALERT_LATENCY_HIGH:
        return [_latency(sm, spec, model)]
    if alert == ALERT_NO_TRAFFIC:
        return [_no_traffic(sm, spec, model)]
    if alert == ALERT_NOT_READY:
        return [_no_instances(sm, spec)]
    return _burn(sm, spec, model, alert, dict(BURN_GROUPS)[alert])


def _description(sm: SageMakerPlan, alert: str, text: str) -> str:
    return f"{text} Runbook: {runbook_url(alert, sm.plan.monitoring.runbook_url)}"


def _where(sm: SageMakerPlan, spec: EndpointSpec) -> str:
    return f"{spec.model} ({sm.plan.environment}, endpoint {spec.endpoint_name})"


def _metric_alarm(
    sm: SageMakerPlan, spec: EndpointSpec, alert: str, text: str, *, namespace: str, metric: str,
    dimensions: dict[str, str], statistic: dict[str, str], window: int, periods: int, comparison: str,
    threshold: float, missing: str,
) -> AlarmSpec:
    """A single-metric alarm of one endpoint that notifies: `periods` breaching periods of `window` in a row."""
    return AlarmSpec(
        alert=alert, kind="metric", severity=SEVERITY[alert], key=alert,
        args={
            "name": f"{spec.endpoint_name}-{alert}",
            "alarm_description": _description(sm, alert, text),
            "namespace": namespace,
            "metric_name": metric,
            "dimensions": dimensions,
            **statistic,
            "period": window,
            "evaluation_periods": periods,
            "datapoints_to_alarm": periods,
            "comparison_operator": comparison,
            "threshold": threshold,
            "treat_missing_data": missing,
        },
    )


def _latency(sm: SageMakerPlan, spec: EndpointSpec, model: ModelSpec) -> AlarmSpec:
    periods = evaluation_periods(LATENCY_WINDOW, HOLD[ALERT_LATENCY_HIGH])
    return _metric_alarm(
        sm, spec, ALERT_LATENCY_HIGH,
        f"{_where(sm, spec)}: p95 model latency above the {_num(model.latency_p95_ms)} ms SLO for "
        f"{periods} periods of {format_duration(LATENCY_WINDOW)}.",
        namespace=NAMESPACE, metric="ModelLatency", dimensions=dimensions(spec),
        statistic={"extended_statistic": "p95"}, window=LATENCY_WINDOW, periods=periods,
        comparison="GreaterThanThreshold", threshold=model.latency_p95_ms * MICROSECONDS_PER_MS,
        missing="notBreaching",
    )


def _burn(
    sm: SageMakerPlan, spec: EndpointSpec, model: ModelSpec, alert: str, windows: tuple[tuple[int, int, float], ...]
) -> list[AlarmSpec]:
    conditions: list[AlarmSpec] = []
    pairs = []
    for (long_w, short_w, op, value), (_l, _s, factor) in zip(burn_thresholds(model.error_budget, windows), windows):
        names = []
        for window in (long_w, short_w):
            key = f"{alert}-{_num(factor)}x-{format_duration(window)}"
            name = f"{spec.endpoint_name}-{key}"
            names.append(name)
            conditions.append(AlarmSpec(
                alert=alert, kind="metric", severity=None, key=key,
                args={
                    "name": name,
                    "alarm_description": (
                        f"{_where(sm, spec)}: server-error ratio over {format_duration(window)} {op} {value} "
                        f"({_num(factor)} x the error budget {_num(model.error_budget)}); a condition of "
                        f"{spec.endpoint_name}-{alert}, which notifies."
                    ),
                    "metric_queries": _error_ratio_queries(spec, window),
                    "evaluation_periods": 1,
                    "datapoints_to_alarm": 1,
                    "comparison_operator": _OPERATORS[op],
                    "threshold": float(value),
                    "treat_missing_data": "notBreaching",
                },
            ))
        pairs.append(f'(ALARM("{names[0]}") AND ALARM("{names[1]}"))')
    rule = " OR ".join(pairs)
    budget_days = _num(round(30 / min(w[2] for w in windows), 1))
    composite = AlarmSpec(
        alert=alert, kind="composite", severity=SEVERITY[alert], key=alert,
        args={
            "alarm_name": f"{spec.endpoint_name}-{alert}",
            "alarm_description": _description(
                sm, alert,
                f"{_where(sm, spec)}: server errors burn the error budget {_num(model.error_budget)} (availability "
                f"SLO {_num(model.availability)}); at this rate a 30-day budget is gone in under {budget_days} days.",
            ),
            "alarm_rule": rule,
        },
    )
    return [*conditions, composite]


def requests_metric(spec: EndpointSpec) -> tuple[str, str]:
    """The metric and statistic that count an endpoint's requests: `Invocations`, or for an asynchronous endpoint
    (which does not publish it) the sample count of `ModelLatency`."""
    return ("ModelLatency", "SampleCount") if spec.mode == "async" else ("Invocations", "Sum")


def _error_ratio_queries(spec: EndpointSpec, window: int) -> list[dict[str, Any]]:
    """Server errors / invocations over one window (no invocations: no data, which does not breach)."""

    def metric(qid: str, metric_name: str, stat: str = "Sum") -> dict[str, Any]:
        return {
            "id": qid,
            "metric": {
                "namespace": NAMESPACE, "metric_name": metric_name, "dimensions": dimensions(spec),
                "period": window, "stat": stat,
            },
            "return_data": False,
        }

    return [
        metric("errors", "Invocation5XXErrors"),
        metric("invocations", *requests_metric(spec)),
        {"id": "ratio", "expression": "FILL(errors, 0) / invocations", "label": "server-error ratio", "return_data": True},
    ]


def _no_traffic(sm: SageMakerPlan, spec: EndpointSpec, model: ModelSpec) -> AlarmSpec:
    window = REQUEST_WINDOWS[0] if model.average_rps >= LOW_TRAFFIC_RPS else REQUEST_WINDOWS[1]
    periods = evaluation_periods(window, HOLD[ALERT_NO_TRAFFIC])
    return _metric_alarm(
        sm, spec, ALERT_NO_TRAFFIC,
        f"{_where(sm, spec)}: no invocations in {periods} periods of {format_duration(window)}; it is "
        f"expected to serve about {_num(model.average_rps)} requests/s on average.",
        namespace=NAMESPACE, metric=requests_metric(spec)[0], dimensions=dimensions(spec),
        statistic={"statistic": requests_metric(spec)[1]},
        window=window, periods=periods, comparison="LessThanThreshold", threshold=1.0,
        missing="breaching",  # SageMaker publishes no datapoint for a period without invocations
    )


def _no_instances(sm: SageMakerPlan, spec: EndpointSpec) -> AlarmSpec:
    """No instance of the variant reports: every instance publishes CPUUtilization each minute, so its sample
    count is the number of running instances (AWS's own way to count them); none reporting is an outage."""
    periods = evaluation_periods(INSTANCE_WINDOW, HOLD[ALERT_NOT_READY])
    return _metric_alarm(
        sm, spec, ALERT_NOT_READY,
        f"{_where(sm, spec)}: no instance of the endpoint reports metrics for {periods} periods of "
        f"{format_duration(INSTANCE_WINDOW)} (it runs at least {spec.choice.min_instances}).",
        namespace=INSTANCE_NAMESPACE, metric="CPUUtilization", dimensions=dimensions(spec),
        statistic={"statistic": "SampleCount"}, window=INSTANCE_WINDOW, periods=periods,
        comparison="LessThanThreshold", threshold=1.0,
        missing="breaching",  # no instance, no datapoint
    )


def _num(value: float) -> str:
    return format(value, ".10g")
