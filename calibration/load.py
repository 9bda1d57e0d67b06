"""The closed-loop load test: N workers, each sending the same request back to back, N rising step by step.

Closed loop: a worker sends its next request when the previous answer arrived, so the load is N requests in flight
and throughput is what the server gives at that concurrency - the latency curve of the server, not of a queue in
front of it. Each step runs `step_seconds`; requests completing in its first WARMUP_SHARE are not counted (new
connections, the server's caches). The test stops after the first step whose p95 exceeds the SLO or that saw an
error; the capacity is the highest throughput among the steps within the SLO and without errors.

Threads with one keep-alive http.client connection each (the standard library, no dependency): the server's
work per request dwarfs the client's, and every step reports the client's own CPU use so a saturated load
generator shows instead of passing for the server's limit.
"""

from __future__ import annotations

import http.client
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

WARMUP_SHARE = 0.2  # of every step: not counted
MAX_WARMUP_SECONDS = 1.0
CLIENT_SATURATED = 0.8  # share of one core the generator may use before its own limit is suspected
MIN_REQUESTS = 20  # a step with fewer completed requests has no meaningful p95


@dataclass(frozen=True)
class Step:
    """One load step: `concurrency` workers for `seconds` (counted part)."""

    concurrency: int
    requests: int  # completed in the counted window (errors included)
    errors: int
    seconds: float
    rps: float  # successful requests per second
    p50_ms: float
    p95_ms: float
    p99_ms: float
    client_cpu: float  # share of one core the load generator used
    first_error: str = ""  # what the first failed request got (status or exception)
    server_cpu: float | None = None  # cores the runtime used during the step (None: not measurable here)

    @property
    def requests_per_cpu_second(self) -> float | None:
        """Successful requests per CPU-second of the runtime: what a core gives when the runtime has it to itself,
        steadier than rps on a busy host (other processes take CPU from the runtime, not work per request)."""
        return round(self.rps / self.server_cpu, 2) if self.server_cpu else None

    def within(self, slo_ms: float) -> bool:
        """p95 within the SLO, no error, and enough requests to say so."""
        return self.errors == 0 and self.requests >= MIN_REQUESTS and self.p95_ms <= slo_ms

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "requests_per_cpu_second": self.requests_per_cpu_second}


@dataclass(frozen=True)
class Curve:
    """The steps run, in order of concurrency, and why the test stopped."""

    steps: tuple[Step, ...]
    slo_p95_ms: float
    stopped: str

    @property
    def best(self) -> Step | None:
        """The step with the highest throughput within the SLO and without errors (lowest concurrency on ties)."""
        ok = [s for s in self.steps if s.within(self.slo_p95_ms)]
        return max(ok, key=lambda s: (s.rps, -s.concurrency)) if ok else None

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "slo_p95_ms": self.slo_p95_ms,
            "stopped": self.stopped,
            "steps": [{**s.to_dict(), "within_slo": s.within(self.slo_p95_ms)} for s in self.steps],
            "capacity_step": best.concurrency if best else None,
        }


def concurrency_levels(max_concurrency: int) -> list[int]:
    """1, 2, 4, ... up to max_concurrency (itself included)."""
    levels, n = [], 1
    while n < max_concurrency:
        levels.append(n)
        n *= 2
    return [*levels, max_concurrency]


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of ascending values (q in 0..100); 0 for no values."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class _Worker(threading.Thread):
    """Sends the request back to back on one keep-alive connection until `stop_at`; records (end, latency, ok)."""

    def __init__(self, host: str, port: int, path: str, body: bytes, timeout: float, stop_at: float):
        super().__init__(daemon=True)
        self.host, self.port, self.path, self.body, self.timeout, self.stop_at = host, port, path, body, timeout, stop_at
        self.samples: list[tuple[float, float, bool]] = []
        self.first_error = ""

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        record = self.samples.append
        clock = time.perf_counter
        while True:
            start = clock()
            if start >= self.stop_at:
                break
            try:
                conn.request("POST", self.path, body=self.body, headers=headers)
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                if not ok and not self.first_error:
                    self.first_error = f"HTTP {response.status}"
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                if not self.first_error:
                    self.first_error = f"{type(exc).__name__}: {exc}"[:200]
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            end = clock()
            record((end, end - start, ok))
        conn.close()


def run_step(
    host: str, port: int, path: str, body: bytes, concurrency: int, step_seconds: float, timeout: float,
    server_cpu: Callable[[], float | None] | None = None,
) -> Step:
    """One step: `concurrency` closed-loop workers for `step_seconds`; the first WARMUP_SHARE is not counted.
    `server_cpu()` gives the runtime's CPU seconds so far; its use is measured over the counted window."""
    begin = time.perf_counter()
    stop_at = begin + step_seconds
    counted_from = begin + min(MAX_WARMUP_SECONDS, step_seconds * WARMUP_SHARE)
    cpu_begin = time.process_time()
    workers = [_Worker(host, port, path, body, timeout, stop_at) for _ in range(concurrency)]
    for w in workers:
        w.start()
    server_from = server_to = None
    if server_cpu is not None:
        time.sleep(max(0.0, counted_from - time.perf_counter()))
        server_from, server_begun = server_cpu(), time.perf_counter()
        time.sleep(max(0.0, stop_at - time.perf_counter()))
        server_to, server_ended = server_cpu(), time.perf_counter()
    for w in workers:
        w.join(stop_at - time.perf_counter() + timeout + 1)
    wall = time.perf_counter() - begin
    client_cpu = (time.process_time() - cpu_begin) / wall if wall > 0 else 0.0
    used = None
    if server_from is not None and server_to is not None and server_ended > server_begun:
        used = round((server_to - server_from) / (server_ended - server_begun), 3)
    samples = [s for w in workers for s in w.samples if counted_from <= s[0] <= stop_at]
    window = stop_at - counted_from
    latencies = sorted(s[1] * 1000 for s in samples)
    good = sum(1 for s in samples if s[2])
    first_error = next((w.first_error for w in workers if w.first_error), "")
    return Step(
        concurrency=concurrency,
        requests=len(samples),
        errors=len(samples) - good,
        seconds=round(window, 3),
        rps=round(good / window, 2),
        p50_ms=round(percentile(latencies, 50), 2),
        p95_ms=round(percentile(latencies, 95), 2),
        p99_ms=round(percentile(latencies, 99), 2),
        client_cpu=round(client_cpu, 3),
        first_error=first_error,
        server_cpu=used,
    )


def load_test(
    host: str,
    port: int,
    path: str,
    body: bytes,
    *,
    slo_p95_ms: float,
    max_concurrency: int,
    step_seconds: float,
    timeout: float | None = None,
    on_step: Callable[[int, Step | None], None] | None = None,
    server_cpu: Callable[[], float | None] | None = None,
) -> Curve:
    """Steps of rising concurrency until p95 passes the SLO, an error appears or max_concurrency is done.

    `on_step(concurrency, None)` is called when a step starts and `on_step(concurrency, step)` when it ends.
    """
    timeout = timeout or max(5.0, 10 * slo_p95_ms / 1000)
    steps: list[Step] = []
    stopped = (f"reached --max-concurrency {max_concurrency} within the SLO (a higher --max-concurrency may find more "
               "throughput)")
    for n in concurrency_levels(max_concurrency):
        if on_step:
            on_step(n, None)
        step = run_step(host, port, path, body, n, step_seconds, timeout, server_cpu)
        steps.append(step)
        if on_step:
            on_step(n, step)
        if step.errors:
            stopped = f"{step.errors} failed request(s) at concurrency {n} (first: {step.first_error})"
            break
        if step.requests < MIN_REQUESTS:
            stopped = (f"only {step.requests} requests completed at concurrency {n} in {step_seconds:g} s: too few for "
                       "a p95; raise --step-seconds")
            break
        if step.p95_ms > slo_p95_ms:
            stopped = f"p95 {step.p95_ms:g} ms passed the SLO {slo_p95_ms:g} ms at concurrency {n}"
            break
    return Curve(steps=tuple(steps), slo_p95_ms=slo_p95_ms, stopped=stopped)
