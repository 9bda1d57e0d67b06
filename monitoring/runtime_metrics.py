"""Each serving runtime's real metrics, and the PromQL that normalises them into mlinfra's one schema per model.

The schema (names from conventions.recorded): request rate, server-error ratio over the SLO windows and latency
quantiles p50/p95/p99, every series labelled `namespace`, `model`, `environment`. The runtimes do not know
which mlinfra model they serve: those three labels come from the scrape - the ServiceMonitor copies the
Service's `mlinfra.io/model` and `mlinfra.io/environment` labels and Prometheus adds `namespace`; the e2e test
sets them as static scrape labels (`scrape_labels`). A runtime's own `model` label (Triton, MLServer's
model_infer_*) is kept by Prometheus as `exported_model`.

Errors for the error budget are server-side only: 4xx client errors never burn the budget.

MLServer 1.7.1, checked by running it (parallel_workers 0, a sklearn model, good and bad requests):
- `rest_server_requests_total{app_name, method, path, status_code}` and
  `rest_server_request_duration_seconds_bucket{..., le}` (buckets 5 ms .. 10 s). `path` is the route
  template (`/v2/models/{model_name}/infer`, `.../versions/{model_version}/infer`), so the model is not in it;
  /v2/health/* is not counted, but /v2/models/{model_name}/ready is: only `.+/infer` paths count as traffic.
- `model_infer_request_success_total` / `model_infer_request_failure_total{model, version}` are not used:
  a request for an unknown model (404) counts as a failure of that name, a malformed body (422) not at all,
  and a predict exception (500) as a failure - client and server errors cannot be told apart.
- gRPC: `grpc_server_handled_total` counts only OK calls (NOT_FOUND/INTERNAL were missing), so gRPC traffic
  is not part of the schema; serve through REST or watch `grpc_server_started_total` by hand.
The other runtimes follow their documentation and sources (see `source`).

Latency is an SLO like availability (sloth's and pyrra's latency SLIs): the share of requests at or under one
histogram bucket edge, the smallest edge at or above the model's p95 SLO (`latency_edge`). A histogram cannot
tell requests between two edges apart, so an SLO between edges is measured at the upper one: requests slower
than the SLO but under that edge count as fast (never a false page; `validate` and `render` name the edge).
The p50/p95/p99 records stay for dashboards only: `histogram_quantile` interpolates inside a bucket (every
request at 105 ms with edges 100/250 ms reads as a p95 of 242 ms), so no alert reads them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from mlinfra.conventions import RECORD_REQUESTS_WAITING, recorded
from mlinfra.runtimes.catalog import RUNTIMES
from mlinfra.monitoring.timing import format_duration

# Labels every normalised series carries (see the module docstring for where they come from).
SCHEMA_LABELS = ("namespace", "model", "environment")
BY = ", ".join(SCHEMA_LABELS)

QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
LATENCY_WINDOW = 300  # seconds: the production window of the latency quantiles
REQUEST_WINDOWS = (300, 3600)  # request rate: 5m for dashboards/alerts, 1h for low-traffic no-traffic checks
# SRE workbook multi-window multi-burn-rate: (long window, short window, burn factor), seconds
FAST_BURN = ((3600, 300, 14.4), (21600, 1800, 6.0))  # pages
SLOW_BURN = ((86400, 7200, 3.0), (259200, 21600, 1.0))  # tickets
ERROR_WINDOWS = tuple(sorted({w for rule in FAST_BURN + SLOW_BURN for w in rule[:2]}))
SLO_WINDOW = 30 * 86400  # the SLO period: budgets are 30-day budgets (the `rate30d` records)
LATENCY_OBJECTIVE = 0.95  # latency_p95_ms: 95 % of requests at or under the SLO; the budget is the other 5 %
# Prometheus' default classic-histogram edges (client_golang/client_python DefBuckets), in seconds
PROMETHEUS_DEFAULT_EDGES = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)


@dataclass(frozen=True, kw_only=True)
class Series:
    """A metric (or a `__name__` regex) with the runtime's own matchers."""

    metric: str
    matchers: tuple[str, ...] = ()

    def select(self, scope: tuple[str, ...]) -> str:
        """Selector with the model scope (namespace/model matchers) first."""
        if self.metric.startswith("{"):  # a __name__ regex
            inner = self.metric[1:-1]
            return "{" + ", ".join((inner, *scope, *self.matchers)) + "}"
        return f"{self.metric}{{{', '.join((*scope, *self.matchers))}}}"


@dataclass(frozen=True, kw_only=True)
class RuntimeMetrics:
    """Where one runtime's requests, server errors and latencies are, and how to read them."""

    runtime: str
    requests: Series  # counter of every inference request
    errors: Series  # counter of inference requests that failed on the server side (5xx-like)
    latency: Series  # histogram `_bucket` series, or a summary with a `quantile` label
    latency_kind: str  # "histogram" | "summary"
    latency_unit: float = 1.0  # multiply to get seconds
    # The request-duration histogram (`_bucket`) the latency SLI reads, its unit and its finite bucket edges
    # (in that unit) as the runtime exports them by default.
    slo_histogram: Series
    slo_unit: float = 1.0
    slo_edges: tuple[float, ...]
    source: str = ""

    @property
    def edges_seconds(self) -> tuple[float, ...]:
        return tuple(_round(e * self.slo_unit) for e in self.slo_edges)

    def slow_ratio(self, scope: tuple[str, ...], edge_s: float, window: str) -> str:
        """Share of requests slower than the bucket edge `edge_s` (seconds): 1 - bucket{le=edge} / count."""
        bucket = self.slo_histogram
        count = Series(metric=bucket.metric.removesuffix("_bucket") + "_count", matchers=bucket.matchers)
        raw = min(self.slo_edges, key=lambda e: abs(e * self.slo_unit - edge_s))  # the edge as exported
        fast = Series(metric=bucket.metric, matchers=(*bucket.matchers, le_matcher(raw)))
        total = f"sum by ({BY}) (rate({count.select(scope)}[{window}]))"
        return f"1 - sum by ({BY}) (rate({fast.select(scope)}[{window}])) / {total}"

    def request_rate(self, scope: tuple[str, ...], window: str) -> str:
        return f"sum by ({BY}) (rate({self.requests.select(scope)}[{window}]))"

    def error_ratio(self, scope: tuple[str, ...], window: str) -> str:
        """Server errors / requests; 0 (not absent) while a runtime has not exported an error series yet."""
        errors = f"sum by ({BY}) (rate({self.errors.select(scope)}[{window}]))"
        requests = self.request_rate(scope, window)
        return f"({errors} or 0 * {requests}) / {requests}"

    def latency_quantile(self, scope: tuple[str, ...], quantile: float, window: str) -> str:
        unit = "" if self.latency_unit == 1.0 else f" * {self.latency_unit:g}"
        if self.latency_kind == "histogram":
            return (
                f"histogram_quantile({quantile:g}, sum by ({BY}, le) "
                f"(rate({self.latency.select(scope)}[{window}]))){unit}"
            )
        # A summary's quantiles cannot be merged across pods: the slowest pod is the honest upper bound.
        selector = Series(metric=self.latency.metric, matchers=(*self.latency.matchers, f'quantile="{quantile:g}"'))
        return f"max by ({BY}) ({selector.select(scope)}){unit}"


_INFER = 'path=~".+/infer"'


def _tgi_edges() -> list[float]:
    value, edges = 0.0001, []
    for _ in range(35):
        value *= 1.5  # the same float arithmetic as TGI's router, so the `le` text matches
        edges.append(value)
    return edges

RUNTIME_METRICS: dict[str, RuntimeMetrics] = {
    m.runtime: m
    for m in (
        RuntimeMetrics(
            runtime="mlserver",
            requests=Series(metric="rest_server_requests_total", matchers=(_INFER,)),
            errors=Series(metric="rest_server_requests_total", matchers=(_INFER, 'status_code=~"5.."')),
            latency=Series(metric="rest_server_request_duration_seconds_bucket", matchers=(_INFER,)),
            latency_kind="histogram",
            slo_histogram=Series(metric="rest_server_request_duration_seconds_bucket", matchers=(_INFER,)),
            # starlette_exporter's middleware with prometheus_client's default buckets; MLServer sets none
            slo_edges=PROMETHEUS_DEFAULT_EDGES,
            source="run: MLServer 1.7.1 /metrics on the metrics port (see module docstring)",
        ),
        RuntimeMetrics(
            runtime="triton",
            requests=Series(metric='{__name__=~"nv_inference_request_success|nv_inference_request_failure"}'),
            # `reason` (REJECTED, CANCELED, BACKEND, OTHER) exists since 24.x; a cancelled request is the client's.
            errors=Series(metric="nv_inference_request_failure", matchers=('reason!="CANCELED"',)),
            # Needs `--metrics-config=summary_latencies=true` (the default quantiles include .5/.95/.99).
            latency=Series(metric="nv_inference_request_summary_us"),
            latency_kind="summary",
            latency_unit=1e-6,
            # Needs `--metrics-config=histogram_latencies=true`; request -> (first) response, every model since
            # 26.01. Default buckets 100, 500, 2000, 5000 ms; a model's config.pbtxt may set others
            # (model_metrics.metric_control), which mlinfra cannot see.
            slo_histogram=Series(metric="nv_inference_first_response_histogram_ms_bucket"),
            slo_unit=1e-3,
            slo_edges=(100.0, 500.0, 2000.0, 5000.0),
            source="Triton core: src/metrics.cc, src/metric_model_reporter.{h,cc} (counts, histogram, summaries)",
        ),
        RuntimeMetrics(
            runtime="vllm",
            # HTTP metrics of prometheus-fastapi-instrumentator (status grouped as 2xx/4xx/5xx).
            requests=Series(metric="http_requests_total", matchers=('handler=~"/v1/(chat/)?completions"',)),
            errors=Series(
                metric="http_requests_total", matchers=('handler=~"/v1/(chat/)?completions"', 'status=~"5.."')
            ),
            latency=Series(metric="vllm:e2e_request_latency_seconds_bucket"),
            latency_kind="histogram",
            slo_histogram=Series(metric="vllm:e2e_request_latency_seconds_bucket"),
            slo_edges=(0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0,
                       240.0, 480.0, 960.0, 1920.0, 7680.0),
            source="vLLM: v1/metrics/loggers.py (vllm:e2e_request_latency_seconds buckets), api_server instrumentator",
        ),
        RuntimeMetrics(
            runtime="tgi",
            requests=Series(metric="tgi_request_count"),
            # validation = 422 (the caller's fault); dropped = the caller went away
            errors=Series(metric="tgi_request_failure", matchers=('err!~"validation|dropped"',)),
            latency=Series(metric="tgi_request_duration_bucket"),
            latency_kind="histogram",
            slo_histogram=Series(metric="tgi_request_duration_bucket"),
            # router/src/server.rs: 35 edges 0.0001 * 1.5^k (k = 1..35) for every metric ending in `duration`
            slo_edges=tuple(_tgi_edges()),
            source="TGI docs: reference/metrics; router err labels (validation, overloaded, generation, dropped)",
        ),
        RuntimeMetrics(
            runtime="custom",
            # mlinfra's custom-image contract: prometheus-fastapi-instrumentator-style HTTP metrics
            requests=Series(metric="http_requests_total"),
            errors=Series(metric="http_requests_total", matchers=('status=~"5.."',)),
            latency=Series(metric="http_request_duration_seconds_bucket"),
            latency_kind="histogram",
            slo_histogram=Series(metric="http_request_duration_seconds_bucket"),
            slo_edges=(0.1, 0.5, 1.0),  # prometheus-fastapi-instrumentator's default for this histogram
            source="mlinfra custom-image contract (docs/runbooks.md#metric-schema)",
        ),
    )
}


def requests_waiting(runtime: str, scope: tuple[str, ...]) -> tuple[str, str] | None:
    """(record, expr) of the requests queued in an LLM runtime, summed per model (the gauge the runtime exports,
    runtimes.catalog.Runtime.waiting_metric); None for runtimes without a queue gauge."""
    metric = RUNTIMES[runtime].waiting_metric if runtime in RUNTIMES else None
    if metric is None:
        return None
    return RECORD_REQUESTS_WAITING, f"sum by ({BY}) ({Series(metric=metric).select(scope)})"


def metrics_for(runtime: str) -> RuntimeMetrics:
    try:
        return RUNTIME_METRICS[runtime]
    except KeyError:
        raise ValueError(f"no metric mapping for runtime '{runtime}'; known: {', '.join(sorted(RUNTIME_METRICS))}") from None


@dataclass(frozen=True, kw_only=True)
class LatencyEdge:
    """The bucket edge a latency SLO is measured at."""

    slo_s: float
    edge_s: float
    below_s: float | None  # the edge under the SLO, when the SLO lies between two edges
    runtime: str

    @property
    def exact(self) -> bool:
        return math.isclose(self.edge_s, self.slo_s, rel_tol=1e-9)

    @property
    def note(self) -> str | None:
        """What measuring at this edge means, when it is not the SLO itself (None when it is)."""
        if self.exact:
            return None
        slo, edge = _ms(self.slo_s), _ms(self.edge_s)
        allowed = ", ".join(_ms(e) for e in metrics_for(self.runtime).edges_seconds)
        if self.edge_s < self.slo_s:
            return (
                f"the {slo} SLO is above {self.runtime}'s largest latency bucket edge ({edge}): requests slower "
                f"than {edge} count as slow. Edges measured exactly: {allowed}"
            )
        if self.below_s is None:
            return (
                f"the {slo} SLO is below {self.runtime}'s smallest latency bucket edge ({edge}): it is measured at "
                f"{edge} (requests up to {edge} count as fast). Edges measured exactly: {allowed}"
            )
        below = _ms(self.below_s)
        return (
            f"the {slo} SLO lies between {self.runtime}'s latency bucket edges {below} and {edge}: it is measured "
            f"at {edge} (requests between {slo} and {edge} count as fast); set it to {below} or {edge} to "
            "measure it exactly"
        )


def latency_edge(runtime: str, slo_ms: float) -> LatencyEdge:
    """The smallest bucket edge at or above the SLO (above the largest finite edge: the largest one)."""
    edges = metrics_for(runtime).edges_seconds
    slo = slo_ms / 1000
    above = [e for e in edges if e >= slo or math.isclose(e, slo, rel_tol=1e-9)]
    if not above:
        return LatencyEdge(slo_s=slo, edge_s=edges[-1], below_s=None, runtime=runtime)
    below = [e for e in edges if e < above[0]]
    return LatencyEdge(slo_s=slo, edge_s=above[0], below_s=below[-1] if below else None, runtime=runtime)


def le_matcher(edge: float) -> str:
    """`le` matcher of one bucket edge in the histogram's unit, whichever way the exporter wrote the float:
    Python "0.25"/"1.0", Go and C++ "1", Prometheus 3 normalises integers to "1.0"."""
    if not float(edge).is_integer():
        return f'le="{float(edge)!r}"'
    return f'le=~"{int(edge)}|{int(edge)}\\\\.0"'


def _round(value: float) -> float:
    return float(format(value, ".12g"))


def _ms(seconds: float) -> str:
    ms = _round(seconds * 1000)
    return f"{ms:g} ms"


def pods_regex(k8s_name: str) -> str:
    """Pods of a model's Deployment (<deployment>-<replicaset hash>-<suffix>); a model named with the same
    prefix (`churn-v2` next to `churn`) has one more dash-separated part and never matches."""
    return f"{k8s_name}-[a-z0-9]+-[a-z0-9]+"


def model_scope(namespace: str, models: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Matchers that limit a runtime's series to one plan's models (model names are RFC 1123: regex-safe)."""
    names = sorted(models)
    model = f'model="{names[0]}"' if len(names) == 1 else f'model=~"{"|".join(names)}"'
    return (f'namespace="{namespace}"', model)


# --- names of the normalised series --------------------------------------------------------------------------


def requests_record(window_s: int) -> str:
    return recorded("requests", _label(window_s))


def error_ratio_record(window_s: int) -> str:
    return recorded("error_ratio", _label(window_s))


def latency_record(quantile: str) -> str:
    return recorded(f"latency_{quantile}_seconds", _label(LATENCY_WINDOW))


def slow_ratio_record(window_s: int) -> str:
    """Share of requests slower than the model's latency bucket edge (the latency SLI's error ratio)."""
    return recorded("latency_slow_ratio", _label(window_s))


def _label(window_s: int) -> str:
    """The production window in a record name: 300 -> '5m' (kept under the fast timing, see timing.py)."""
    return format_duration(window_s)
