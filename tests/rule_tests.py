"""promtool unit tests generated from a plan: every alert of every model fires on a breaching series and stays
silent on a healthy one, with exact labels and annotations.

The input series are the runtimes' *raw* metrics (the names runtime_metrics maps, histograms with the runtime's
real bucket edges spelled as its exporter writes them), so a test exercises the whole path raw metric ->
recording rule -> alert. Healthy cases carry the noise that must not count: 4xx client errors at a high rate,
health/readiness requests, and breaching series of another namespace (scope check). Latency cases put every
request strictly between two bucket edges, on either side of the edge the SLO is measured at.
Test-only (imported as `rule_tests`, tests/ is on pytest's pythonpath): used by tests/tools/test_promtool.py and
test_any_profile_rules.py; `promtool test rules` runs the result against prometheus/rules.yaml.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from mlinfra.conventions import (
    ALERT_CRASH_LOOPING,
    ALERT_DRIFT_HIGH,
    ALERT_DRIFT_SEVERE,
    ALERT_DRIFT_STALE,
    ALERT_ERROR_BUDGET_FAST_BURN,
    ALERT_ERROR_BUDGET_SLOW_BURN,
    ALERT_LATENCY_FAST_BURN,
    ALERT_LATENCY_SLOW_BURN,
    ALERT_MODEL_DOWN,
    ALERT_NO_TRAFFIC,
    ALERT_NOT_READY,
    ALERT_SATURATED,
    CONTAINER_SERVER,
    DRIFT_LAST_COMPUTED_METRIC,
    DRIFT_PSI_METRIC,
    DRIFT_SCORE_METRIC,
    DRIFT_WINDOW_SAMPLES_METRIC,
    PORT_DRIFT_METRICS,
)
from mlinfra.conventions import keda_hpa_name
from mlinfra.drift.score import psi_to_score
from mlinfra.monitoring.rules import HOLD, LATENCY_BUDGET, build_rule_groups, stale_after
from mlinfra.monitoring.runtime_metrics import FAST_BURN, SLOW_BURN, latency_edge, metrics_for
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec

DECOY_NAMESPACE = "mlinfra-decoy"
Series = list[dict[str, str]]


# --- Go template functions Prometheus uses in annotations (ported to compute expected text) ---------------


def humanize_duration(v: float) -> str:
    """Prometheus' humanizeDuration."""
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return f"{_g4(v)}s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v)
        seconds, minutes, hours, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def humanize_percentage(v: float) -> str:
    return f"{_g4(v * 100)}%"


def _g4(v: float) -> str:
    return "%.4g" % v


def go_value(v: float) -> str:
    """`{{ $value }}`: Go prints a float64 in its shortest form."""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e21 else repr(v)


def expand(template: str, value: float, labels: dict[str, str]) -> str:
    """Expand the annotation forms mlinfra's rules use; anything else is an error (add it here)."""
    forms: dict[str, Callable[[], str]] = {
        "{{ $value | humanizeDuration }}": lambda: humanize_duration(value),
        "{{ $value | humanizePercentage }}": lambda: humanize_percentage(value),
        '{{ $value | printf "%.2f" }}': lambda: f"{value:.2f}",
        '{{ $value | printf "%.3f" }}': lambda: f"{value:.3f}",
        "{{ $value }}": lambda: go_value(value),
    }
    for form, text in forms.items():
        template = template.replace(form, text()) if form in template else template
    for name, label in labels.items():
        template = template.replace(f"{{{{ $labels.{name} }}}}", label)
    if "{{" in template:
        raise ValueError(f"annotation template form not supported by the test generator: {template}")
    return template


_QUERY_FORM = re.compile(r'\{\{ with query `[^`]*` \}\}\{\{ \. \| first \| value \| printf "%\.3f" \}\}\{\{ end \}\}')


def _queried(template: str, value: float | None) -> str:
    """The one `{{ with query `...` }}` form the rules use (the drift alerts' PSI), expanded to `value`."""
    if value is None:
        return template
    return _QUERY_FORM.sub(lambda _m: f"{value:.3f}", template)


# --- synthetic raw metrics per runtime ---------------------------------------------------------------------


def _counter(per_step: float, steps: int) -> str:
    return f"0+{_fmt(per_step)}x{steps}"


def _gauge(value: float, steps: int) -> str:
    return f"{_fmt(value)}+0x{steps}"


def _fmt(v: float) -> str:
    return format(v, ".10g")


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    body = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return {"series": f"{name}{{{body}}}", "values": values}


def traffic(runtime: str, target: dict[str, str], *, ok: float, server_errors: float, client_errors: float,
            latency: float, step: int, steps: int) -> Series:
    """Raw series of one model: request counters (per second rates) and latency at `latency` seconds.
    The success counter is always there (flat at rate 0), as a running server exports it."""
    c = lambda rps: _counter(rps * step, steps)  # noqa: E731 - counter increment per sample
    total = ok + server_errors + client_errors
    if runtime == "mlserver":
        infer = {**target, "app_name": "mlserver", "method": "POST", "path": "/v2/models/{model_name}/infer"}
        out = [_series("rest_server_requests_total", {**infer, "status_code": code}, c(rps))
               for code, rps in (("200", ok), ("500", server_errors), ("422", client_errors)) if rps or code == "200"]
        ready = {**target, "app_name": "mlserver", "method": "GET", "path": "/v2/models/{model_name}/ready", "status_code": "200"}
        out.append(_series("rest_server_requests_total", ready, c(5)))  # probes: never traffic
        return out + _histogram(runtime, infer, total, latency, step, steps)
    if runtime == "triton":
        out = [_series("nv_inference_request_success", {**target, "version": "1"}, c(ok))]
        for reason, rps in (("BACKEND", server_errors), ("CANCELED", client_errors)):
            if rps:
                out.append(_series("nv_inference_request_failure", {**target, "version": "1", "reason": reason}, c(rps)))
        if total:
            for q in ("0.5", "0.95", "0.99"):
                out.append(_series("nv_inference_request_summary_us", {**target, "version": "1", "quantile": q}, _gauge(latency * 1e6, steps)))
        return out + _histogram(runtime, {**target, "version": "1"}, total, latency, step, steps)
    if runtime in ("vllm", "custom"):
        handler = {"handler": "/v1/chat/completions"} if runtime == "vllm" else {}
        codes = (("2xx", ok), ("5xx", server_errors), ("4xx", client_errors)) if runtime == "vllm" else (
            ("200", ok), ("503", server_errors), ("404", client_errors))
        out = [
            _series("http_requests_total", {**target, **handler, "method": "POST", "status": code}, c(rps))
            for code, rps in codes
            if rps or code in ("2xx", "200")
        ]
        if runtime == "vllm":
            out.append(_series("http_requests_total", {**target, "handler": "/health", "method": "GET", "status": "2xx"}, c(5)))
            return out + _histogram(runtime, {**target, "model_name": "served"}, total, latency, step, steps)
        return out + _histogram(runtime, {**target, "method": "POST"}, total, latency, step, steps)
    if runtime == "tgi":
        out = [_series("tgi_request_count", target, c(total))]
        for err, rps in (("generation", server_errors), ("validation", client_errors)):
            if rps:
                out.append(_series("tgi_request_failure", {**target, "err": err}, c(rps)))
        return out + _histogram(runtime, target, total, latency, step, steps)
    raise ValueError(f"no synthetic traffic for runtime '{runtime}'")


def le_text(runtime: str, edge: float) -> str:
    """A bucket edge as the runtime's exporter writes it: C++ (Triton) "500", Python and Rust the float repr."""
    return str(int(edge)) if runtime == "triton" and float(edge).is_integer() else repr(float(edge))


def _histogram(runtime: str, labels: dict[str, str], rps: float, latency: float, step: int, steps: int) -> Series:
    """The runtime's request histogram with its real edges; every request takes `latency` seconds."""
    if not rps:
        return []
    metrics = metrics_for(runtime)
    name = metrics.slo_histogram.metric
    out = [
        _series(name, {**labels, "le": le_text(runtime, edge)},
                _counter(rps * step if edge * metrics.slo_unit >= latency else 0, steps))
        for edge in metrics.slo_edges
    ]
    out.append(_series(name, {**labels, "le": "+Inf"}, _counter(rps * step, steps)))
    out.append(_series(name.removesuffix("_bucket") + "_count", labels, _counter(rps * step, steps)))
    return out


def latencies_around_edge(runtime: str, slo_ms: float) -> tuple[float, float]:
    """(fast, slow): latencies strictly between two bucket edges, just under and just over the edge the SLO is
    measured at - the fast one above the SLO itself when the SLO lies between edges."""
    edge = latency_edge(runtime, slo_ms)
    edges = metrics_for(runtime).edges_seconds
    i = edges.index(edge.edge_s)
    below = edges[i - 1] if i > 0 else edge.edge_s / 2
    above = edges[i + 1] if i + 1 < len(edges) else edge.edge_s * 2
    fast = (max(below, edge.slo_s) + edge.edge_s) / 2 if edge.edge_s > edge.slo_s else (below + edge.edge_s) / 2
    return fast, (edge.edge_s + above) / 2


# --- test cases ---------------------------------------------------------------------------------------------


def build_rule_tests(plan: EnvironmentPlan, rule_file: str, timing: AlertTiming = PRODUCTION) -> dict[str, Any]:
    """A promtool test file (as a dict) with a firing and a silent case for every alert of every model."""
    groups = build_rule_groups(plan, timing)
    alerts = {(r["labels"]["model"], r["alert"]): r for g in groups for r in g["rules"] if "alert" in r}
    tests = []
    for model in plan.models:
        for (name, alert), rule in sorted(alerts.items()):
            if name == model.name:
                tests += _cases(plan, model, rule, timing)
    return {
        "rule_files": [rule_file],
        "evaluation_interval": f"{timing.evaluation_interval}s",
        "tests": tests,
    }


def _cases(plan: EnvironmentPlan, model: ModelSpec, rule: dict[str, Any], timing: AlertTiming) -> list[dict[str, Any]]:
    step = timing.scrape_interval
    hold = max(HOLD[rule["alert"]] // timing.scale, timing.evaluation_interval)
    eval_s = hold + 2 * timing.min_window + 10 * max(step, timing.evaluation_interval)
    steps = eval_s // step + 5
    target = {"namespace": plan.namespace, "model": model.name, "environment": plan.environment}
    decoy = {**target, "namespace": DECOY_NAMESPACE}
    base = {"namespace": plan.namespace, "model": model.name, "environment": plan.environment}
    rule_labels = rule["labels"]
    name = rule["alert"]
    rps = max(model.average_rps, 1.0)
    slo = model.latency_p95_ms / 1000
    budget = model.error_budget

    fast_latency, slow_latency = latencies_around_edge(model.runtime, model.latency_p95_ms)

    def normal(t: dict[str, str], **overrides: float) -> Series:
        shape = {"ok": rps, "server_errors": 0.0, "client_errors": rps, "latency": fast_latency}
        shape.update(overrides)
        return traffic(model.runtime, t, step=step, steps=steps, **shape)

    queried: float | None = None  # the value of an annotation's `with query` (drift's PSI)
    recorded = {**base, "runtime": model.runtime}
    if name in (ALERT_LATENCY_FAST_BURN, ALERT_LATENCY_SLOW_BURN):
        # every request just over the edge used (slow) vs just under it (fast, and above an SLO between edges)
        fire = normal(target, latency=slow_latency)
        calm = normal(target) + normal(decoy, latency=slow_latency)
        value, labels = 1.0, recorded
    elif name == ALERT_MODEL_DOWN:
        dep = {"namespace": plan.namespace, "deployment": model.k8s_name, "job": "kube-state-metrics"}
        up = {**base, "job": model.k8s_name, "pod": f"{model.k8s_name}-5d8f7c9b6-x2x4z"}
        healthy = [_series("up", up, _gauge(1, steps)),
                   _series("kube_deployment_spec_replicas", dep, _gauge(model.min_replicas, steps)),
                   _series("kube_deployment_status_replicas_available", dep, _gauge(model.min_replicas, steps))]
        # every pod gone: no target, no SLI, nothing available - and the decoy namespace serves
        fire = [_series("kube_deployment_spec_replicas", dep, _gauge(model.min_replicas, steps)),
                _series("kube_deployment_status_replicas_available", dep, _gauge(0, steps)),
                _series("up", {**up, "namespace": DECOY_NAMESPACE}, _gauge(1, steps))]
        calm = normal(target) + healthy
        value, labels = 1.0, {}
    elif name in (ALERT_ERROR_BUDGET_FAST_BURN, ALERT_ERROR_BUDGET_SLOW_BURN):
        factor = FAST_BURN[0][2] if name == ALERT_ERROR_BUDGET_FAST_BURN else SLOW_BURN[-1][2]
        ratio = min(1.0, (factor + 4) * budget if name == ALERT_ERROR_BUDGET_FAST_BURN else 2 * factor * budget)
        fire = normal(target, ok=rps * (1 - ratio), server_errors=rps * ratio, client_errors=0.0)
        # healthy: half the budget in 5xx, and as many 4xx as good requests (client errors never burn it)
        calm = normal(target, server_errors=rps * budget / 2) + normal(decoy, ok=0.0, server_errors=rps)
        value, labels = ratio, recorded
    elif name == ALERT_NO_TRAFFIC:
        fire = normal(target, ok=0.0, client_errors=0.0)  # only probes: counters flat, rate 0
        calm = normal(target)
        value, labels = 0.0, recorded
    elif name == ALERT_SATURATED:
        # KEDA's HPA (autoscaling on requests) or the model's own (on CPU), as kube-state-metrics names it
        hpa_name = keda_hpa_name(model.k8s_name) if plan.autoscaling.metric == "requests" else model.k8s_name
        hpa = {"namespace": plan.namespace, "horizontalpodautoscaler": hpa_name, "job": "kube-state-metrics"}
        fire = [_series("kube_horizontalpodautoscaler_status_current_replicas", hpa, _gauge(model.max_replicas, steps)),
                _series("kube_horizontalpodautoscaler_spec_max_replicas", hpa, _gauge(model.max_replicas, steps))]
        calm = [_series("kube_horizontalpodautoscaler_status_current_replicas", hpa, _gauge(model.min_replicas, steps)),
                _series("kube_horizontalpodautoscaler_spec_max_replicas", hpa, _gauge(model.max_replicas, steps))]
        value, labels = float(model.max_replicas), {"namespace": plan.namespace, "horizontalpodautoscaler": hpa_name}
    elif name == ALERT_CRASH_LOOPING:
        pod = {"namespace": plan.namespace, "pod": f"{model.k8s_name}-5d8f7c9b6-x2x4z", "container": CONTAINER_SERVER}
        other = {**pod, "pod": f"{model.k8s_name}-v2-5d8f7c9b6-x2x4z"}  # another Deployment's pod: never matched
        waiting = "kube_pod_container_status_waiting_reason"
        fire = [_series(waiting, {**pod, "reason": "CrashLoopBackOff", "job": "kube-state-metrics"}, _gauge(1, steps))]
        calm = [_series(waiting, {**pod, "reason": "CrashLoopBackOff", "job": "kube-state-metrics"}, _gauge(0, steps)),
                _series(waiting, {**other, "reason": "CrashLoopBackOff", "job": "kube-state-metrics"}, _gauge(1, steps))]
        value, labels = 1.0, pod
    elif name == ALERT_NOT_READY:
        dep = {"namespace": plan.namespace, "deployment": model.k8s_name, "job": "kube-state-metrics"}
        desired = model.min_replicas + 2
        fire = [_series("kube_deployment_spec_replicas", dep, _gauge(desired, steps)),
                _series("kube_deployment_status_replicas_available", dep, _gauge(model.min_replicas, steps)),
                _series("kube_deployment_status_replicas_updated", dep, _gauge(desired, steps))]
        calm = [_series("kube_deployment_spec_replicas", dep, _gauge(desired, steps)),
                _series("kube_deployment_status_replicas_available", dep, _gauge(desired, steps)),
                _series("kube_deployment_status_replicas_updated", dep, _gauge(desired, steps))]
        value, labels = 2.0, {"namespace": plan.namespace, "deployment": model.k8s_name}
    elif name in (ALERT_DRIFT_HIGH, ALERT_DRIFT_SEVERE):
        assert model.drift is not None, f"{name} for model {model.name} without a drift monitor"
        psi_threshold = model.drift.warn_psi if name == ALERT_DRIFT_HIGH else model.drift.page_psi
        # the monitor's series: every feature and the prediction, labelled as its scrape target labels them
        drift = {**target, "job": model.k8s_name, "endpoint": PORT_DRIFT_METRICS}

        def scores(top_psi: float, namespace: dict[str, str] | None = None) -> Series:
            out = []
            for feature, psi in (("f-moved", top_psi), ("f-steady", top_psi / 4), ("prediction", top_psi / 2)):
                labels = {**drift, **(namespace or {}), "feature": feature}
                out += [_series(DRIFT_SCORE_METRIC, labels, _gauge(round(psi_to_score(psi), 6), steps)),
                        _series(DRIFT_PSI_METRIC, labels, _gauge(psi, steps))]
            return out

        high_psi = round(psi_threshold * 1.5, 6)
        window = [_series(DRIFT_WINDOW_SAMPLES_METRIC, {**drift}, _gauge(model.drift.window, steps))]
        fire = scores(high_psi) + window
        # just under the threshold (PSI 0.98 x), a breaching decoy namespace, and a monitor below min_samples:
        # only its window gauge, no score at all
        calm = scores(round(psi_threshold * 0.98, 6)) + scores(high_psi * 2, {"namespace": DECOY_NAMESPACE}) + window
        value, labels = round(psi_to_score(high_psi), 6), {"namespace": plan.namespace, "model": model.name}
        queried = high_psi  # the PSI the description queries
    elif name == ALERT_DRIFT_STALE:
        assert model.drift is not None, f"{name} for model {model.name} without a drift monitor"
        monitor = {**target, "job": model.k8s_name, "endpoint": PORT_DRIFT_METRICS}
        stuck = -(stale_after(model.drift.interval_seconds) + 1000)  # last computed long before the test began
        current = f"0+{_fmt(step)}x{steps}"  # computed at every scrape: the timestamp is the test's clock
        fire = [_series(DRIFT_LAST_COMPUTED_METRIC, {**monitor, "pod": "p-stuck"}, _gauge(stuck, steps)),
                _series(DRIFT_LAST_COMPUTED_METRIC, {**monitor, "pod": "p-fine"}, current)]
        calm = [_series(DRIFT_LAST_COMPUTED_METRIC, {**monitor, "pod": "p-fine"}, current),
                _series(DRIFT_LAST_COMPUTED_METRIC, {**monitor, "namespace": DECOY_NAMESPACE}, _gauge(stuck, steps))]
        value, labels = float(eval_s - stuck), {"namespace": plan.namespace, "model": model.name}
    else:
        raise ValueError(f"no test cases for alert {name}: add them to tests/rule_tests.py")

    # Every other model of the plan serves healthy traffic meanwhile (its own alert of this name stays silent).
    background = [
        series
        for other in plan.models
        if other.name != model.name
        for series in traffic(
            other.runtime,
            {**target, "model": other.name},
            ok=max(other.average_rps, 1.0),
            server_errors=0.0,
            client_errors=0.0,
            latency=latencies_around_edge(other.runtime, other.latency_p95_ms)[0],
            step=step,
            steps=steps,
        )
    ]
    background += [  # and is scraped
        _series("up", {**target, "model": other.name, "job": other.k8s_name}, _gauge(1, steps))
        for other in plan.models
        if other.name != model.name
    ]
    fire, calm = fire + background, calm + background
    exp_labels = {**labels, **rule_labels}
    annotations = {k: expand(_queried(v, queried), value, exp_labels) for k, v in rule["annotations"].items()}
    at = f"{eval_s}s"
    cases = [
        {
            "name": f"{name} {model.name}: fires on a breaching series",
            "interval": f"{step}s",
            "input_series": fire,
            "alert_rule_test": [
                {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": exp_labels, "exp_annotations": annotations}]}
            ],
        },
        {
            "name": f"{name} {model.name}: silent on a healthy series",
            "interval": f"{step}s",
            "input_series": calm,
            "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}],
        },
    ]
    if name == ALERT_MODEL_DOWN:  # pods look available, but no metrics endpoint answers
        cases.append(
            {
                "name": f"{name} {model.name}: fires when no scrape target is up",
                "interval": f"{step}s",
                "input_series": normal(target) + [_series("up", {**base, "job": model.k8s_name}, _gauge(0, steps))]
                + background,
                "alert_rule_test": [
                    {"eval_time": at, "alertname": name, "exp_alerts": [{"exp_labels": exp_labels, "exp_annotations": annotations}]}
                ],
            }
        )
    if name == ALERT_NOT_READY:  # a rollout in progress: a replica was updated within the startup time
        dep = {"namespace": plan.namespace, "deployment": model.k8s_name, "job": "kube-state-metrics"}
        desired = model.min_replicas + 2
        rolling = f"{model.min_replicas}+1x{steps}"  # updatedReplicas grows by one per scrape
        cases.append(
            {
                "name": f"{name} {model.name}: silent while a rollout progresses",
                "interval": f"{step}s",
                "input_series": [
                    _series("kube_deployment_spec_replicas", dep, _gauge(desired, steps)),
                    _series("kube_deployment_status_replicas_available", dep, _gauge(model.min_replicas, steps)),
                    _series("kube_deployment_status_replicas_updated", dep, rolling),
                ] + background,
                "alert_rule_test": [{"eval_time": at, "alertname": name, "exp_alerts": []}],
            }
        )
    if name == ALERT_NO_TRAFFIC:  # the model's series are gone entirely (pods deleted, scrape broken)
        gone = {**base}
        cases.append(
            {
                "name": f"{name} {model.name}: fires when the series are absent",
                "interval": f"{step}s",
                "input_series": normal(decoy) + background,
                "alert_rule_test": [
                    {
                        "eval_time": at,
                        "alertname": name,
                        "exp_alerts": [
                            {
                                "exp_labels": {**gone, **rule_labels},
                                "exp_annotations": {k: expand(v, 0.0, gone) for k, v in rule["annotations"].items()},
                            }
                        ],
                    }
                ],
            }
        )
    return cases
