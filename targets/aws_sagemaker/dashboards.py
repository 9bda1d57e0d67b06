"""One CloudWatch dashboard per model's endpoint, as plain data: traffic, server-error ratio against the error
budget, latency quantiles against the SLO, and the instances (real-time), the queue (asynchronous) or cold starts
(Serverless)."""

from __future__ import annotations

import json
from typing import Any

from mlinfra.targets.aws_sagemaker.alarms import (
    INSTANCE_NAMESPACE,
    MICROSECONDS_PER_MS,
    NAMESPACE,
    AlarmSpec,
    requests_metric,
)
from mlinfra.targets.aws_sagemaker.endpoints import VARIANT, EndpointSpec, SageMakerPlan

PERIOD = 60
WIDTH, HEIGHT = 12, 6


def dashboard_name(spec: EndpointSpec) -> str:
    return spec.endpoint_name


def build_dashboard(sm: SageMakerPlan, spec: EndpointSpec, alarms: list[AlarmSpec]) -> dict[str, Any]:
    """The dashboard body (CloudWatch's dashboard JSON as a dict)."""
    model = sm.models[spec.model]
    dims = ["EndpointName", spec.endpoint_name, "VariantName", VARIANT]
    region = sm.region
    c = spec.choice
    if c.mode == "serverless":
        mode = f"Serverless, {c.memory_mb} MB, up to {c.max_concurrency} concurrent invocations" + (
            f", {c.provisioned_concurrency} provisioned" if c.provisioned_concurrency else "")
    else:
        kind = "asynchronous" if c.mode == "async" else "real-time"
        mode = f"{kind}, {c.min_instances}-{c.max_instances} x {c.instance_type}"
    requests, requests_stat = requests_metric(spec)
    count = {} if requests_stat == "Sum" else {"stat": requests_stat}  # Sum is the graphs' default
    notifying = sorted(a.name for a in alarms if a.notifies)
    text = "\n".join([
        f"# {spec.model} ({sm.plan.environment})",
        f"Endpoint `{spec.endpoint_name}`: {mode}. SLO: p95 latency {_num(model.latency_p95_ms)} ms, "
        f"availability {_num(model.availability * 100)} %.",
        "",
        "Alarms: " + ", ".join(f"`{n}`" for n in notifying),
    ])

    def graph(title: str, metrics: list[Any], *, y: int, x: int, stat: str = "Sum",
              annotations: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        props: dict[str, Any] = {
            "title": title, "region": region, "view": "timeSeries", "stacked": False, "period": PERIOD,
            "stat": stat, "metrics": metrics, "yAxis": {"left": {"min": 0}},
        }
        if annotations:
            props["annotations"] = {"horizontal": annotations}
        return {"type": "metric", "x": x, "y": y, "width": WIDTH, "height": HEIGHT, "properties": props}

    latency = [
        [NAMESPACE, "ModelLatency", *dims, {"id": q, "stat": q, "visible": False}] for q in ("p50", "p95", "p99")
    ]
    latency += [
        [{"id": f"{q}ms", "expression": f"{q} / {MICROSECONDS_PER_MS}", "label": f"{q} (ms)"}] for q in ("p50", "p95", "p99")
    ]
    widgets = [
        {"type": "text", "x": 0, "y": 0, "width": 2 * WIDTH, "height": 3, "properties": {"markdown": text}},
        graph("Invocations per minute", [
            [NAMESPACE, requests, *dims, {"label": "invocations", **count}],
            [NAMESPACE, "Invocation4XXErrors", *dims, {"label": "client errors (4xx)"}],
            [NAMESPACE, "Invocation5XXErrors", *dims, {"label": "server errors (5xx)"}],
        ], y=3, x=0),
        graph("Server-error ratio", [
            [NAMESPACE, "Invocation5XXErrors", *dims, {"id": "errors", "visible": False}],
            [NAMESPACE, requests, *dims, {"id": "invocations", "visible": False, **count}],
            [{"id": "ratio", "expression": "FILL(errors, 0) / invocations", "label": "server-error ratio"}],
        ], y=3, x=WIDTH, annotations=[{"label": "error budget", "value": model.error_budget}]),
        graph("Model latency (ms)", latency, y=9, x=0, stat="p95",
              annotations=[{"label": "p95 SLO", "value": model.latency_p95_ms}]),
    ]
    if c.mode == "async":
        widgets.append(graph("Queue: requests waiting", [
            [NAMESPACE, "ApproximateBacklogSize", "EndpointName", spec.endpoint_name, {"label": "backlog"}],
            [NAMESPACE, "ApproximateBacklogSizePerInstance", "EndpointName", spec.endpoint_name,
             {"label": "backlog per instance (scaling target)"}],
        ], y=15, x=0, stat="Average"))
    if c.instances:
        widgets.append(graph("Instances: CPU and memory (%)", [
            [INSTANCE_NAMESPACE, "CPUUtilization", *dims, {"label": "CPU (% of one core, summed over cores)"}],
            [INSTANCE_NAMESPACE, "MemoryUtilization", *dims, {"label": "memory"}],
        ], y=9, x=WIDTH, stat="Average"))
    else:
        widgets.append(graph("Cold starts: model setup time (ms)", [
            [NAMESPACE, "ModelSetupTime", *dims, {"id": "setup", "visible": False, "stat": "Maximum"}],
            [{"id": "setupms", "expression": f"setup / {MICROSECONDS_PER_MS}", "label": "model setup (ms, max)"}],
        ], y=9, x=WIDTH, stat="Maximum"))
    return {"widgets": widgets}


def dashboard_body(sm: SageMakerPlan, spec: EndpointSpec, alarms: list[AlarmSpec]) -> str:
    """The body as CloudWatch takes it: JSON, keys sorted (the same text on every run)."""
    return json.dumps(build_dashboard(sm, spec, alarms), sort_keys=True)


def _num(value: float) -> str:
    return format(value, ".10g")
