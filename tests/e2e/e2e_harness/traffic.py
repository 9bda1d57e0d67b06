"""Traffic driver: a few threads sending paced inference requests to the model server on 127.0.0.1.

Bounded: threads stop at `stop()` or at the deadline given at start, whichever comes first. The mode can be
switched at run time: healthy traffic, a share of malformed (client-error) requests, or silence.
"""

from __future__ import annotations

import collections
import json
import threading
import time
import urllib.error
import urllib.request

GOOD = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP64", "data": [5.9, 3.0, 5.1, 1.8]}]}
# Two kinds of client error: a body that fails MLServer's request schema (422, rejected before the model) and
# an unknown output name (MLServer's InferenceError, 400, raised inside the model's predict).
SCHEMA_INVALID = {"inputs": "not-a-list"}
UNKNOWN_OUTPUT = {**GOOD, "outputs": [{"name": "no-such-output"}]}


class TrafficDriver:
    def __init__(self, url: str, *, rps: float, threads: int, max_seconds: float):
        self.url, self.rps, self.threads = url, rps, threads
        self._deadline = time.monotonic() + max_seconds
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sending = True
        self._client_error_every = 0  # every n-th request is malformed (0 = none)
        self._sequence = 0
        self.status_counts: collections.Counter[int] = collections.Counter()
        self._workers = [
            threading.Thread(target=self._run, args=(i,), name=f"e2e-traffic-{i}", daemon=True) for i in range(threads)
        ]

    def start(self) -> TrafficDriver:
        for worker in self._workers:
            worker.start()
        return self

    def set_mode(self, *, sending: bool = True, client_error_every: int = 0) -> None:
        with self._lock:
            self._sending, self._client_error_every = sending, client_error_every

    def counts(self) -> dict[int, int]:
        with self._lock:
            return dict(self.status_counts)

    def _next_body(self) -> dict | None:
        with self._lock:
            if not self._sending:
                return None
            self._sequence += 1
            every = self._client_error_every
            if every and self._sequence % every == 0:
                return SCHEMA_INVALID if (self._sequence // every) % 2 else UNKNOWN_OUTPUT
            return GOOD

    def _send(self, body: dict) -> int:
        request = urllib.request.Request(
            self.url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
                return response.status
        except urllib.error.HTTPError as err:
            return err.code
        except (urllib.error.URLError, OSError):
            return 0  # connection failure

    def _run(self, index: int) -> None:
        period = self.threads / self.rps  # each thread's share of the target rate
        next_at = time.monotonic() + period * index / self.threads
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            body = self._next_body()
            if body is not None:
                status = self._send(body)
                with self._lock:
                    self.status_counts[status] += 1
            next_at = max(next_at + period, time.monotonic())
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)
