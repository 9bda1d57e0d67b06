"""A Grafana dashboard per model, built as data from mlinfra's normalised series (runtime-independent).

Panels: request rate, server-error ratio against the error budget, latency p50/p95/p99 against the SLO (a
red threshold line; interpolated inside a bucket, so for reading only), the share of requests slower than the
SLO's bucket edge against the 5 % latency budget, the share of each 30-day budget left, replicas against the
autoscaler bounds, CPU and memory against requests/limits, and GPU
utilisation for GPU models (NVIDIA DCGM exporter, scraped with honorLabels as the GPU Operator does, so its
`namespace`/`pod` labels are the workload's); with a drift monitor, its scores against the ticket and page
thresholds, per feature, its window and dropped samples. Plain dicts: a dashboard is nine panels; a builder library would
add a dependency to every `mlinfra render` for little gain.
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import (
    CONTAINER_SERVER,
    DRIFT_DROPPED_METRIC,
    DRIFT_LAST_COMPUTED_METRIC,
    DRIFT_SCORE_METRIC,
    DRIFT_WINDOW_SAMPLES_METRIC,
    dashboard_uid,
    recorded,
)
from mlinfra.drift.score import psi_to_score
from mlinfra.monitoring.runtime_metrics import (
    LATENCY_OBJECTIVE,
    error_ratio_record,
    latency_edge,
    latency_record,
    pods_regex,
    requests_record,
    slow_ratio_record,
)
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec

SCHEMA_VERSION = 39
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
WIDTH = 12
HEIGHT = 8


def build_dashboard(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    """The Grafana dashboard JSON model of one model in one environment (deterministic uid and ids)."""
    sel = f'namespace="{plan.namespace}", model="{model.name}", environment="{plan.environment}"'
    pods = f'namespace="{plan.namespace}", pod=~"{pods_regex(model.k8s_name)}", container="{CONTAINER_SERVER}"'
    deploy = f'namespace="{plan.namespace}", deployment="{model.k8s_name}"'
    hpa = f'namespace="{plan.namespace}", horizontalpodautoscaler="{model.k8s_name}"'
    slo_s = model.latency_p95_ms / 1000
    edge_ms = round(latency_edge(model.runtime, model.latency_p95_ms).edge_s * 1000, 6)
    panels = [
        _panel(
            "Request rate",
            "reqps",
            [(f"sum({requests_record(300)}{{{sel}}})", "requests/s")],
            description=f"Inference requests per second; planned average {model.average_rps:g}/s, peak {model.peak_rps:g}/s.",
        ),
        _panel(
            "Server-error ratio",
            "percentunit",
            [
                (f"sum({error_ratio_record(300)}{{{sel}}})", "5m"),
                (f"sum({error_ratio_record(3600)}{{{sel}}})", "1h"),
            ],
            threshold=model.error_budget,
            description=f"5xx-like errors / requests; the red line is the error budget ({model.error_budget:.4g}).",
        ),
        _panel(
            "Latency",
            "s",
            [(f"sum({latency_record(q)}{{{sel}}})", q) for q in ("p50", "p95", "p99")],
            threshold=slo_s,
            description=f"Request latency quantiles; the red line is the p95 SLO ({model.latency_p95_ms:g} ms). "
            "Interpolated inside histogram buckets: alerts read the slow-request share instead.",
        ),
        _panel(
            "Slow requests",
            "percentunit",
            [
                (f"sum({slow_ratio_record(300)}{{{sel}}})", "5m"),
                (f"sum({slow_ratio_record(3600)}{{{sel}}})", "1h"),
            ],
            threshold=round(1 - LATENCY_OBJECTIVE, 10),
            description=f"Share of requests slower than {edge_ms:g} ms, the bucket edge the p95 SLO is measured at; "
            "the red line is the latency budget (5 %).",
        ),
        _panel(
            "30-day budgets left",
            "percentunit",
            [
                (f"sum({recorded('error_budget_remaining', '30d')}{{{sel}}})", "errors"),
                (f"sum({recorded('latency_budget_remaining', '30d')}{{{sel}}})", "latency"),
            ],
            description="Share of each 30-day budget left: 1 untouched, 0 spent, below 0 overspent (over what "
            "Prometheus retains).",
        ),
        _panel(
            "Replicas",
            "short",
            [
                (f"sum(kube_deployment_status_replicas_available{{{deploy}}})", "available"),
                (f"sum(kube_horizontalpodautoscaler_status_desired_replicas{{{hpa}}})", "desired"),
                (f"sum(kube_horizontalpodautoscaler_spec_max_replicas{{{hpa}}})", "max"),
            ],
            description=f"Autoscaler bounds {model.min_replicas}..{model.max_replicas}.",
        ),
        _panel(
            "CPU",
            "short",
            [
                (f"sum(rate(container_cpu_usage_seconds_total{{{pods}}}[5m]))", "used cores"),
                (f'sum(kube_pod_container_resource_requests{{{pods}, resource="cpu"}})', "requested"),
                (f'sum(kube_pod_container_resource_limits{{{pods}, resource="cpu"}})', "limit"),
            ],
        ),
        _panel(
            "Memory",
            "bytes",
            [
                (f"sum(container_memory_working_set_bytes{{{pods}}})", "working set"),
                (f'sum(kube_pod_container_resource_requests{{{pods}, resource="memory"}})', "requested"),
                (f'sum(kube_pod_container_resource_limits{{{pods}, resource="memory"}})', "limit"),
            ],
        ),
    ]
    if model.gpus > 0:
        gpu = f'namespace="{plan.namespace}", pod=~"{pods_regex(model.k8s_name)}"'
        panels.append(
            _panel(
                "GPU utilisation",
                "percent",
                [(f"avg(DCGM_FI_DEV_GPU_UTIL{{{gpu}}})", "GPU %"), (f"avg(DCGM_FI_DEV_MEM_COPY_UTIL{{{gpu}}})", "memory copy %")],
                description=f"{model.gpus} x {model.gpu_type or 'GPU'} per replica (NVIDIA DCGM exporter).",
            )
        )
    if model.drift is not None:
        panels += drift_panels(plan, model)
    for index, panel in enumerate(panels):
        panel["id"] = index + 1
        panel["gridPos"] = {"h": HEIGHT, "w": WIDTH, "x": (index % 2) * WIDTH, "y": (index // 2) * HEIGHT}
    return {
        "uid": dashboard_uid(plan.profile_name, plan.environment, model.name),
        "title": f"{plan.profile_name} / {plan.environment} / {model.name}",
        "description": f"mlinfra: model {model.name} ({model.runtime}) in {plan.environment}",
        "tags": ["mlinfra", plan.profile_name, plan.environment],
        "editable": False,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "timezone": "utc",
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "current": {"text": "Prometheus", "value": "prometheus"},
                    "hide": 0,
                }
            ]
        },
        "annotations": {"list": []},
        "panels": panels,
    }


def drift_panels(plan: EnvironmentPlan, model: ModelSpec) -> list[dict[str, Any]]:
    """The drift monitor's panels: the highest score against the ticket and page thresholds, each feature's score,
    the rows in the window against min_samples, and samples dropped (the monitor fell behind; requests never wait)."""
    d = model.drift
    assert d is not None
    sel = f'namespace="{plan.namespace}", model="{model.name}", environment="{plan.environment}"'
    warn, page = round(psi_to_score(d.warn_psi), 6), round(psi_to_score(d.page_psi), 6)
    return [
        _panel(
            "Drift score (highest feature)",
            "short",
            [(f"max({DRIFT_SCORE_METRIC}{{{sel}}})", "score")],
            threshold=page,
            warn=warn,
            description=f"1 - exp(-PSI) of the most drifted feature or prediction, highest over the replicas; orange: "
            f"the ticket at PSI {d.warn_psi:g} ({warn:g}), red: the page at PSI {d.page_psi:g} ({page:g}). No value "
            f"below {d.min_samples} sampled requests in the window.",
        ),
        _panel(
            "Drift score per feature",
            "short",
            [(f"max by (feature) ({DRIFT_SCORE_METRIC}{{{sel}}})", "{{feature}}")],
            threshold=page,
            warn=warn,
            description="Each input feature's score (and 'prediction' for the predictions): which one moved.",
        ),
        _panel(
            "Drift window",
            "short",
            [
                (f"sum({DRIFT_WINDOW_SAMPLES_METRIC}{{{sel}}})", "rows in the windows"),
                (f"time() - max({DRIFT_LAST_COMPUTED_METRIC}{{{sel}}})", "seconds since last computed"),
            ],
            description=f"Sampled requests in the replicas' windows (each holds up to {d.window}; scores need "
            f"{d.min_samples}), at {d.sample_rate:g} of the requests; and how long ago the scores were computed "
            f"(every {d.interval_seconds:g} s).",
        ),
        _panel(
            "Drift samples dropped",
            "short",
            [(f"sum(rate({DRIFT_DROPPED_METRIC}{{{sel}}}[5m]))", "dropped/s")],
            description="Samples the monitor dropped because its queue was full: it fell behind the traffic (the "
            "requests themselves never wait for it). Sustained drops: give the monitor more CPU or lower "
            "sample_rate.",
        ),
    ]


def _panel(
    title: str,
    unit: str,
    targets: list[tuple[str, str]],
    *,
    threshold: float | None = None,
    warn: float | None = None,
    description: str = "",
) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    custom: dict[str, Any] = {"lineWidth": 1, "fillOpacity": 10}
    if warn is not None:
        steps.append({"color": "orange", "value": warn})
    if threshold is not None:
        steps.append({"color": "red", "value": threshold})
        custom["thresholdsStyle"] = {"mode": "line"}
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "fieldConfig": {
            "defaults": {"unit": unit, "custom": custom, "thresholds": {"mode": "absolute", "steps": steps}},
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [
            {"refId": chr(ord("A") + i), "expr": expr, "legendFormat": legend, "datasource": DATASOURCE}
            for i, (expr, legend) in enumerate(targets)
        ],
    }
