"""`mlinfra drift serve`: the V2 proxy on `listen`, /metrics on `metrics_listen`, drift work on two threads.

The request path only copies a sampled exchange into a bounded queue (a full queue drops the sample and counts it);
a decoder thread turns samples into window rows and a scorer thread recomputes each model's scores every
`interval_seconds`. /metrics reads the last scores, so a scrape never waits for a computation.

Metrics carry `model` and `feature` labels only: Prometheus adds `namespace` (and pod) from the scrape target, as
for the model server's own metrics. Scores are absent, not 0, until a model's window holds min_samples rows.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import signal
import threading
import time
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from mlinfra.conventions import (
    DRIFT_DECODE_ERRORS_METRIC,
    DRIFT_DROPPED_METRIC,
    DRIFT_KS_METRIC,
    DRIFT_LAST_COMPUTED_METRIC,
    DRIFT_PSI_METRIC,
    DRIFT_SAMPLED_ROWS_METRIC,
    DRIFT_SCORE_METRIC,
    DRIFT_WINDOW_SAMPLES_METRIC,
)
from mlinfra.drift.config import DriftConfig, split_host_port
from mlinfra.drift.monitor import ModelMonitor
from mlinfra.drift.proxy import Proxy, proxy_app
from mlinfra.drift.reference import ReferenceSampleError, load_reference
from mlinfra.drift.v2 import Body, V2DecodeError

log = logging.getLogger("mlinfra.drift")

SHUTDOWN_SECONDS = 20.0  # in-flight requests finish within this after SIGTERM (the pod's grace period is 30 s)


class ListenError(Exception):
    """An address in the config cannot be listened on (in use, not local, no permission)."""


class DriftService:
    """The monitors of every watched model, the sample queue and the two worker threads."""

    def __init__(self, config: DriftConfig, monitors: dict[str, ModelMonitor]):
        self.config = config
        self.monitors = monitors
        self.queue: queue.Queue = queue.Queue(maxsize=config.queue_size)
        self.stopping = threading.Event()
        self._threads = [threading.Thread(target=self._decode_loop, name="drift-decode", daemon=True),
                         threading.Thread(target=self._score_loop, name="drift-score", daemon=True)]

    @classmethod
    def from_config(cls, config: DriftConfig) -> DriftService:
        """Load every model's reference (ReferenceSampleError naming the config field and the file on a problem)."""
        monitors = {}
        for i, model in enumerate(config.models):
            try:
                monitors[model.name] = ModelMonitor(model, load_reference(model))
            except ReferenceSampleError as exc:
                raise ReferenceSampleError(f"models[{i}].reference ({model.name}): {exc}") from None
        return cls(config, monitors)

    def offer(self, model: str, request: Body, response: Body) -> None:
        """Queue a sampled exchange without waiting; a full queue drops it (counted)."""
        try:
            self.queue.put_nowait((model, request, response))
        except queue.Full:
            self.monitors[model].drop()

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self.stopping.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout=5)

    def _decode_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                model, request, response = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            monitor = self.monitors[model]
            try:
                monitor.ingest(request, response)
            except V2DecodeError as exc:  # counted by the monitor
                log.debug("drift: %s: sample skipped: %s", model, exc)
            except Exception:  # noqa: BLE001 - one odd sample never stops the monitor
                monitor.record_error("unexpected error while decoding")
                log.exception("drift: %s: sample skipped", model)

    def _score_loop(self) -> None:
        due = {name: 0.0 for name in self.monitors}
        while not self.stopping.is_set():
            now = time.monotonic()
            for name, monitor in sorted(self.monitors.items()):
                if now >= due[name]:
                    try:
                        monitor.compute(time.time())
                    except Exception:  # noqa: BLE001 - the next interval tries again
                        log.exception("drift: %s: computing the scores failed", name)
                    due[name] = now + monitor.spec.interval_seconds
            self.stopping.wait(max(0.0, min(due.values()) - time.monotonic()))


class DriftCollector:
    """The drift metrics, read from the monitors' last scores at scrape time."""

    def __init__(self, service: DriftService):
        self.service = service

    def describe(self) -> list[Metric]:
        return []  # collected per scrape only

    def collect(self) -> Iterator[Metric]:
        score = GaugeMetricFamily(DRIFT_SCORE_METRIC, "Drift score 0..1 per feature: 1 - exp(-PSI) against the "
                                  "reference sample (feature=prediction: the model's outputs); absent below "
                                  "min_samples.", labels=["model", "feature"])
        psi = GaugeMetricFamily(DRIFT_PSI_METRIC, "Population stability index per feature against the reference "
                                "sample.", labels=["model", "feature"])
        ks = GaugeMetricFamily(DRIFT_KS_METRIC, "Two-sample Kolmogorov-Smirnov statistic (0..1) per numeric feature.",
                               labels=["model", "feature"])
        samples = GaugeMetricFamily(DRIFT_WINDOW_SAMPLES_METRIC, "Sampled rows in the sliding window.",
                                    labels=["model"])
        computed = GaugeMetricFamily(DRIFT_LAST_COMPUTED_METRIC, "Unix time the scores were last computed.",
                                     labels=["model"])
        # counter families are named without _total; the exposition adds it
        rows = CounterMetricFamily(DRIFT_SAMPLED_ROWS_METRIC.removesuffix("_total"), "Rows of sampled requests added "
                                   "to the window (its rate is the rows/s the window fills at).", labels=["model"])
        dropped = CounterMetricFamily(DRIFT_DROPPED_METRIC.removesuffix("_total"), "Sampled requests dropped because "
                                      "the queue was full.", labels=["model"])
        errors = CounterMetricFamily(DRIFT_DECODE_ERRORS_METRIC.removesuffix("_total"), "Sampled requests or "
                                     "responses that could not be read as the model's features (see the monitor's "
                                     "log).", labels=["model"])
        for name, monitor in sorted(self.service.monitors.items()):
            samples.add_metric([name], len(monitor.window))
            dropped.add_metric([name], monitor.dropped)
            rows.add_metric([name], monitor.window.total)
            errors.add_metric([name], monitor.decode_errors)
            latest = monitor.latest
            if latest is None:
                continue
            computed.add_metric([name], latest.computed_at)
            for feature in latest.features:
                score.add_metric([name, feature.feature], feature.score)
                psi.add_metric([name, feature.feature], feature.psi)
                if feature.ks is not None:
                    ks.add_metric([name, feature.feature], feature.ks)
        yield from (score, psi, ks, samples, computed, rows, dropped, errors)


def metrics_app(registry: CollectorRegistry, ready: threading.Event) -> web.Application:
    """GET /metrics, /healthz (alive), /readyz (references loaded, proxy listening, not shutting down)."""

    async def metrics(request: web.Request) -> web.Response:
        body = await asyncio.get_running_loop().run_in_executor(None, generate_latest, registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def healthz(request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def readyz(request: web.Request) -> web.Response:
        return web.Response(text="ready\n") if ready.is_set() else web.Response(status=503, text="not ready\n")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    return app


async def serve(service: DriftService) -> None:
    """Run until SIGTERM or SIGINT, then stop taking requests, let in-flight ones finish and stop the threads."""
    config = service.config
    registry = CollectorRegistry()
    registry.register(DriftCollector(service))
    ProcessCollector(registry=registry)  # the monitor's own CPU and memory
    ready = threading.Event()
    proxy = Proxy(
        config.upstream, timeout=config.upstream_timeout_seconds,
        connect_timeout=config.upstream_connect_timeout_seconds, max_sample_bytes=config.max_sample_bytes,
        sample_rates={m.name: m.sample_rate for m in config.models}, offer=service.offer,
    )
    runners = [
        web.AppRunner(proxy_app(proxy), access_log=None, auto_decompress=False, shutdown_timeout=SHUTDOWN_SECONDS),
        web.AppRunner(metrics_app(registry, ready), access_log=None, shutdown_timeout=1.0),
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    service.start()
    try:
        for runner, field, address in zip(runners, ("listen", "metrics_listen"), (config.listen, config.metrics_listen)):
            await runner.setup()
            host, port = split_host_port(address)
            try:
                await web.TCPSite(runner, host, port, reuse_address=True).start()
            except OSError as exc:
                raise ListenError(f"{field}: cannot listen on {address} ({exc.strerror or exc}); free the port or "
                                  "choose another") from None
        ready.set()
        log.info("drift monitor: proxying %s -> %s, metrics on %s, watching %s", config.listen, config.upstream,
                 config.metrics_listen, ", ".join(
                     f"{name} ({m.reference.rows} reference rows, sample rate {m.spec.sample_rate:g})"
                     for name, m in sorted(service.monitors.items())))
        await stop.wait()
        log.info("drift monitor: stopping")
    finally:
        ready.clear()
        for runner in runners:
            await runner.cleanup()
        service.stop()
