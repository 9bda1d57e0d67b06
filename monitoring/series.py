"""How many active series a cluster's monitoring stack holds, and the Prometheus that holds them: memory, volume,
retention size - or, past what one Prometheus should hold, remote write to a long-term store.

Pure arithmetic over the plan (no I/O), so `decide` and `render` show it without cost. The estimate is

    series = baseline + nodes x NODE_SERIES
             + sum over every model of every environment on the cluster of
               max_replicas x (RUNTIME_SERIES[runtime] + POD_SERIES + drift_series(its drift monitor))
               + RECORDED_SERIES_PER_MODEL

at maximum replicas: the stack must hold the peak. Each figure carries its source: MLServer's is measured from a
real scrape (tests/tools/test_series_measured.py re-measures it and fails when MLServer drifts from it by more than
MEASURED_TOLERANCE; bench/series.py compares the whole estimate with N real servers scraped by a real Prometheus);
the other runtimes' are counted from their metric lists and bucket edges (estimates, marked so).

Sizing (Prometheus' own figures):
- memory: BYTES_PER_SERIES per active series in the head block - Robust Perception's measurement of Prometheus
  2.x, about 2 GiB per million series for cardinality plus about 2.5 GiB for ingestion at a 15 s scrape
  interval, with Go's garbage collection doubling included ("How much RAM does Prometheus 2.x need for
  cardinality and ingestion?"), rounded up - plus the process' own BASE_MEMORY; the limit is twice the request
  (a restart replays the WAL, compaction and queries come on top).
- disk: Prometheus' storage documentation: needed_disk_space = retention_time_seconds x
  ingested_samples_per_second x bytes_per_sample, with 1-2 bytes per sample compressed (BYTES_PER_SAMPLE takes
  the upper one); the volume holds that at RETENTION_SIZE_SHARE, the rest is room for the WAL and compaction.
- one Prometheus holds at most MAX_SERIES_PER_PROMETHEUS: at BYTES_PER_SERIES that is a 10 GiB request and a
  20 GiB limit - more than a general-purpose node keeps for one pod, and a restart replays a WAL of minutes.
  Past it a profile names monitoring.remote_write (Thanos Receive or Grafana Mimir); mlinfra never grows one
  Prometheus beyond it (helm_values refuses to render it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from mlinfra.monitoring.runtime_metrics import ERROR_WINDOWS, QUANTILES, REQUEST_WINDOWS
from mlinfra.monitoring.timing import PRODUCTION
from mlinfra.planning.plan import TIER_RANK
from mlinfra.planning.scaling import scraped_models
from mlinfra.planning.specs import EnvironmentPlan, ScrapedModel
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile
from mlinfra.runtimes.catalog import RUNTIMES

GIB = 2**30
MIB = 2**20


@dataclass(frozen=True)
class SeriesFigure:
    series: int
    source: str
    measured: bool = False


# What one serving replica's scrape target yields, per runtime. Prometheus adds 5 series per target (up,
# scrape_duration_seconds, scrape_samples_scraped, scrape_samples_post_metric_relabeling, scrape_series_added).
SCRAPE_SERIES_PER_TARGET = 5
# MLServer 1.7.1, measured: one server serving one model after good inferences, a malformed body (422), an
# unknown model (404) and the probes' checks (bench/_mlserver.py); each further (path, status) pair - a 5xx,
# say - adds one rest_server_requests_total + _created and a 15-bucket duration histogram (+ sum, count, created)
MLSERVER_MEASURED = 110
MLSERVER_SERIES_PER_STATUS = 20
MEASURED_TOLERANCE = 0.15  # the re-measuring test fails beyond +-15 %
RUNTIME_SERIES: dict[str, SeriesFigure] = {
    "mlserver": SeriesFigure(
        MLSERVER_MEASURED + MLSERVER_SERIES_PER_STATUS + SCRAPE_SERIES_PER_TARGET,
        "measured: MLServer 1.7.1 scrape (110 series) + one 5xx status (20) + the scrape's own 5",
        measured=True,
    ),
    "triton": SeriesFigure(
        85, "estimate: Triton's per-model counters (failure reasons), the 4-edge request histogram, five "
        "summaries of 3 quantiles, per-GPU and CPU gauges (src/metrics.cc) + the scrape's own 5",
    ),
    "vllm": SeriesFigure(
        600, "estimate: vLLM 0.11's ~14 histograms of 15-25 buckets (v1/metrics/loggers.py), finish-reason "
        "counters, the API server's HTTP instrumentator, process and Python collectors + the scrape's own 5",
    ),
    "tgi": SeriesFigure(
        550, "estimate: TGI's ~14 histograms of 35 edges (router/src/server.rs) and its counters + the scrape's own 5",
    ),
    "custom": SeriesFigure(
        100, "estimate: prometheus-fastapi-instrumentator's defaults for one handler, process and Python "
        "collectors + the scrape's own 5",
    ),
}
POD_SERIES = SeriesFigure(
    150, "estimate: kubelet/cAdvisor ~50 series per container (server and gate) and kube-state-metrics ~50 per pod",
)
NODE_SERIES = SeriesFigure(1500, "estimate: node-exporter ~1,000 per Linux node, kubelet and cAdvisor node-level ~500")
BASELINE_SERIES = SeriesFigure(
    50_000, "estimate: the API server's request histograms, etcd, CoreDNS, the operator, Prometheus, "
    "Alertmanager, Grafana and kube-state-metrics' cluster objects in kube-prometheus-stack's default scrape",
)
# The drift monitor beside a replica (drift/server.py): score, PSI and KS per feature and for the prediction, five
# per-model gauges and counters, the process collector's six and the scrape's own 5; features unknown (the
# reference's columns): an estimate
DRIFT_SERIES_PER_FEATURE = 3
DRIFT_SERIES_FIXED = 5 + 6 + SCRAPE_SERIES_PER_TARGET
DRIFT_FEATURES_UNKNOWN = 30
PODS_PER_NODE = 4  # nodes unknown to the target (a cluster mlinfra creates): one node per this many replicas
MIN_NODES = 2
# normalised records per model (monitoring.rules): request rates, error and slow ratios per window, latency
# quantiles, the 30-day ratios and budgets, and the queue of LLM runtimes
RECORDED_SERIES_PER_MODEL = len(REQUEST_WINDOWS) + 2 * len(ERROR_WINDOWS) + len(QUANTILES) + 4

BYTES_PER_SERIES = 5 * 1024
BASE_MEMORY = 512 * MIB
LIMIT_FACTOR = 2
BYTES_PER_SAMPLE = 2
RETENTION_SIZE_SHARE = 0.85  # retentionSize stops at 85 % of the volume (room to compact); "GB" is 2^30 to Prometheus
MAX_SERIES_PER_PROMETHEUS = 2_000_000
SERIES_CPU_PER_MILLION = 1.0  # cores for ingestion and rule evaluation per million series (estimate)
BASE_CPU = 0.5


@dataclass(frozen=True)
class SeriesEstimate:
    """Active series of one monitoring stack, by where they come from, and what holding them takes."""

    models: int  # serving series: runtimes' own and their pods' Kubernetes series, at maximum replicas
    recorded: int  # mlinfra's recording rules
    nodes: int  # node count used
    node_series: int
    baseline: int
    retention_days: int
    scrape_interval_s: int

    @property
    def total(self) -> int:
        return self.models + self.recorded + self.node_series + self.baseline

    @property
    def samples_per_second(self) -> float:
        return self.total / self.scrape_interval_s

    @property
    def memory_request_bytes(self) -> int:
        return BASE_MEMORY + self.total * BYTES_PER_SERIES

    @property
    def memory_request(self) -> str:
        return f"{math.ceil(self.memory_request_bytes / MIB)}Mi"

    @property
    def memory_limit(self) -> str:
        return f"{math.ceil(self.memory_request_bytes * LIMIT_FACTOR / MIB)}Mi"

    @property
    def cpu_request(self) -> str:
        return f"{math.ceil((BASE_CPU + self.total / 1e6 * SERIES_CPU_PER_MILLION) * 1000)}m"

    @property
    def disk_bytes(self) -> int:
        """Prometheus' formula: retention seconds x samples/s x bytes per sample."""
        return math.ceil(self.retention_days * 86400 * self.samples_per_second * BYTES_PER_SAMPLE)

    @property
    def volume_gib(self) -> int:
        """The volume that holds the retained samples at RETENTION_SIZE_SHARE."""
        return max(1, math.ceil(self.disk_bytes / RETENTION_SIZE_SHARE / GIB))

    @property
    def over_one_prometheus(self) -> bool:
        return self.total > MAX_SERIES_PER_PROMETHEUS

    def as_dict(self) -> dict[str, object]:
        return {
            "active_series": self.total,
            "from": {"model_servers": self.models, "recording_rules": self.recorded, "nodes": self.node_series,
                     "cluster_baseline": self.baseline},
            "nodes": self.nodes,
            "samples_per_second": round(self.samples_per_second, 1),
            "prometheus": {"memory_request": self.memory_request, "memory_limit": self.memory_limit,
                           "cpu_request": self.cpu_request, "volume_gib_needed": self.volume_gib,
                           "retention_days": self.retention_days},
            "max_series_per_prometheus": MAX_SERIES_PER_PROMETHEUS,
            "needs_remote_write": self.over_one_prometheus,
        }


def per_replica(runtime: str, drift_features: int | None = None) -> int:
    """Series one serving replica adds: its runtime's scrape, its pod's Kubernetes series and its drift monitor's."""
    return RUNTIME_SERIES[runtime].series + POD_SERIES.series + drift_series(drift_features)


def drift_series(features: int | None) -> int:
    """What a drift monitor exports (None: no monitor; 0: features unknown, DRIFT_FEATURES_UNKNOWN assumed)."""
    if features is None:
        return 0
    return DRIFT_SERIES_PER_FEATURE * ((features or DRIFT_FEATURES_UNKNOWN) + 1) + DRIFT_SERIES_FIXED


def recorded_per_model(runtime: str) -> int:
    return RECORDED_SERIES_PER_MODEL + (1 if RUNTIMES[runtime].waiting_metric else 0)


def estimate(scraped: tuple[ScrapedModel, ...], *, nodes: int | None, retention_days: int,
             scrape_interval_s: int = PRODUCTION.scrape_interval) -> SeriesEstimate:
    """The stack's series from what it scrapes: every model at its maximum replicas, the nodes (when unknown, one
    per PODS_PER_NODE replicas, at least MIN_NODES) and the cluster's baseline."""
    replicas = sum(m.max_replicas for m in scraped)
    node_count = nodes if nodes is not None else max(MIN_NODES, math.ceil(replicas / PODS_PER_NODE))
    return SeriesEstimate(
        models=sum(m.max_replicas * per_replica(m.runtime, m.drift_features) for m in scraped),
        recorded=sum(recorded_per_model(m.runtime) for m in scraped),
        nodes=node_count,
        node_series=node_count * NODE_SERIES.series,
        baseline=BASELINE_SERIES.series,
        retention_days=retention_days,
        scrape_interval_s=scrape_interval_s,
    )


def plan_estimate(plan: EnvironmentPlan) -> SeriesEstimate:
    """The series of the monitoring stack `plan`'s environment uses (the owner's retention: it keeps them)."""
    mon = plan.monitoring
    return estimate(mon.scraped, nodes=mon.cluster_nodes, retention_days=mon.stack_retention_days or mon.retention_days)


class TooManySeries(ValueError):
    """The stack's estimate is past what one Prometheus should hold and the profile names no remote write."""


def check_remote_write(plan: EnvironmentPlan, est: SeriesEstimate | None = None) -> None:
    """Raise TooManySeries (naming the field, the estimate and the threshold) when one Prometheus would have to
    hold more than MAX_SERIES_PER_PROMETHEUS and monitoring.remote_write is not set."""
    est = est or plan_estimate(plan)
    if est.over_one_prometheus and plan.monitoring.remote_write is None:
        raise TooManySeries(
            f"monitoring.remote_write: the monitoring stack of environment '{plan.monitoring.stack_owner}' is "
            f"estimated at {est.total:,} active series ({len(plan.monitoring.scraped)} model deployments at their "
            f"maximum replicas, {est.nodes} nodes), more than the {MAX_SERIES_PER_PROMETHEUS:,} one Prometheus "
            "should hold; set monitoring.remote_write (kind thanos or mimir, url, and credentials_secret when the "
            "store needs a login) so the series go to a long-term store, or lower the environments' max_replicas"
        )


def profile_estimates(profile: Profile) -> list[dict[str, object]]:
    """The estimate per monitoring stack a Kubernetes target would install, from the profile alone (for `decide`):
    environments naming the same kube context share one stack, kept as long as its highest tier keeps series."""
    stacks: dict[str | None, list[EnvironmentSettings]] = {}
    alone = []
    for env in all_environments(profile):
        if env.kube_context is None:
            alone.append([env])
        else:
            stacks.setdefault(env.kube_context, []).append(env)
    out = []
    for members in [*stacks.values(), *alone]:
        owner = max(members, key=lambda e: TIER_RANK[e.tier])
        context = members[0].kube_context
        nodes = profile.onprem.cpu_nodes + profile.onprem.gpu_nodes if profile.onprem and context else None
        est = estimate(scraped_models(profile, tuple(members)), nodes=nodes, retention_days=owner.retention_days)
        rw = profile.monitoring.remote_write
        out.append({"environments": [e.name for e in members], "cluster": context, **est.as_dict(),
                    "remote_write": {"kind": rw.kind, "url": rw.url} if rw else None})
    return out
