"""Every metric the rendered rules read is one the runtime exports with the rendered server flags.

The facts below come from the runtimes' own sources, not from mlinfra's code, so a rule that reads a metric
the server never exports (Triton's latency metrics are off by default) fails here.
"""

from __future__ import annotations

import re

import pytest

from mlinfra.manifests.serving import build_model_objects
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.monitoring.runtime_metrics import RUNTIME_METRICS, latency_edge
from mlinfra.runtimes.catalog import RUNTIMES

# Metrics a runtime exports only when a server flag enables them. Triton core: src/metric_model_reporter.cc
# (MetricReporterConfig::ParseConfig: summary_latencies, histogram_latencies default false).
NEEDS_FLAG = {
    "nv_inference_request_summary_us": "--metrics-config=summary_latencies=true",
    "nv_inference_first_response_histogram_ms": "--metrics-config=histogram_latencies=true",
}
# Metrics each runtime exports without any flag (a metric in neither table fails: find out first).
ALWAYS_ON = {
    "mlserver": {"rest_server_requests_total", "rest_server_request_duration_seconds"},
    "triton": {"nv_inference_request_success", "nv_inference_request_failure"},
    # the queue gauges autoscaling reads (runtimes.catalog.Runtime.waiting_metric): exported unconditionally
    "vllm": {"http_requests_total", "vllm:e2e_request_latency_seconds", "vllm:num_requests_waiting"},
    "tgi": {"tgi_request_count", "tgi_request_failure", "tgi_request_duration", "tgi_queue_size"},
    "custom": {"http_requests_total", "http_request_duration_seconds"},
}
FRAMEWORK = {"mlserver": "sklearn", "triton": "onnx", "vllm": "llm", "tgi": "huggingface", "custom": "custom"}
_SUFFIX = re.compile(r"_(bucket|count|sum)$")
_NAME = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")


def _raw_metrics(expr: str) -> set[str]:
    names = set(_NAME.findall(expr))
    for alternatives in re.findall(r'__name__=~"([^"]+)"', expr):
        names |= set(alternatives.split("|"))
    def family(name: str) -> str:  # a histogram's _bucket/_count/_sum series belong to its family
        base = _SUFFIX.sub("", name)
        return base if name.endswith("_bucket") or f"{base}_bucket" in names else name

    return {family(n) for n in names if not n.startswith("mlinfra:")}


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_the_metrics_the_rules_read_are_enabled_by_the_rendered_server_flags(runtime, make_plan, make_model):
    model = make_model(runtime=runtime, framework=FRAMEWORK[runtime], image="registry.example.com/own:1.0")
    plan = make_plan(models=(model,))
    deployment = next(o for o in build_model_objects(plan, model) if o["kind"] == "Deployment")
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "server")
    args = container.get("command", []) + container.get("args", [])
    recording = next(g for g in build_rule_groups(plan) if g["name"].endswith(f".{runtime}.recording"))
    read = set().union(*(_raw_metrics(r["expr"]) for r in recording["rules"]))
    assert read, "the recording rules read no runtime metric"
    for metric in sorted(read):
        if metric in NEEDS_FLAG:
            assert NEEDS_FLAG[metric] in args, f"{runtime}: the rules read {metric}, which needs {NEEDS_FLAG[metric]}"
        else:
            assert metric in ALWAYS_ON[runtime], f"{runtime}: the rules read {metric}; is it exported by default?"


def test_triton_is_started_with_its_latency_metrics():
    args = RUNTIMES["triton"].container_args("det", "onnx")
    assert "--metrics-config=summary_latencies=true" in args
    assert "--metrics-config=histogram_latencies=true" in args


@pytest.mark.parametrize("runtime", sorted(RUNTIME_METRICS))
def test_every_runtime_has_increasing_latency_edges(runtime):
    edges = RUNTIME_METRICS[runtime].edges_seconds
    assert edges and list(edges) == sorted(set(edges))


@pytest.mark.parametrize(
    ("runtime", "slo_ms", "edge_s"),
    [
        pytest.param("mlserver", 100.0, 0.1, id="on-an-edge"),
        pytest.param("mlserver", 100.001, 0.25, id="just-above-an-edge-takes-the-next"),
        pytest.param("mlserver", 120.0, 0.25, id="between-takes-the-upper-edge"),
        pytest.param("mlserver", 2.0, 0.005, id="below-the-smallest"),
        pytest.param("mlserver", 60000.0, 10.0, id="above-the-largest-takes-the-largest"),
        pytest.param("triton", 250.0, 0.5, id="triton-in-milliseconds"),
        pytest.param("vllm", 8000.0, 10.0, id="vllm"),
    ],
)
def test_latency_edge(runtime, slo_ms, edge_s):
    assert latency_edge(runtime, slo_ms).edge_s == edge_s
