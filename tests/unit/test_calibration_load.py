"""The load test's steps and stop rule against a fake upstream whose latency grows with the requests in flight,
and the pieces of calibrate that need no runtime: percentiles, the best step, payloads from metadata."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlinfra.calibration.load import MIN_REQUESTS, Curve, Step, concurrency_levels, load_test, percentile
from mlinfra.calibration.server import ModelServer, payload_from_metadata, session_cpu_seconds

BODY = b'{"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [0, 0]}]}'


class FakeUpstream:
    """A V2-like server on 127.0.0.1 with `slots` parallel slots of `service_s` each: up to `slots` requests in
    flight are answered in service_s, more queue (latency grows with concurrency, throughput stays at
    slots / service_s). From `fail_from` requests in flight on, it answers 500."""

    def __init__(self, service_s: float, slots: int, fail_from: int | None = None):
        self.service_s, self.fail_from = service_s, fail_from
        self.slots = threading.Semaphore(slots)
        self.in_flight = 0
        self.lock = threading.Lock()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the load generator expects
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers["Content-Length"]))
                with upstream.lock:
                    upstream.in_flight += 1
                    failing = upstream.fail_from is not None and upstream.in_flight >= upstream.fail_from
                try:
                    with upstream.slots:
                        time.sleep(upstream.service_s)
                finally:
                    with upstream.lock:
                        upstream.in_flight -= 1
                body = b'{"outputs": []}'
                self.send_response(500 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_concurrency_doubles_up_to_the_maximum_which_is_always_run():
    assert concurrency_levels(1) == [1]
    assert concurrency_levels(8) == [1, 2, 4, 8]
    assert concurrency_levels(12) == [1, 2, 4, 8, 12]


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 95) == 7.0 and percentile([], 95) == 0.0


def step(concurrency, rps, p95, errors=0, requests=500):
    return Step(concurrency=concurrency, requests=requests, errors=errors, seconds=2.0, rps=rps, p50_ms=p95 / 2,
                p95_ms=p95, p99_ms=p95 * 1.2, client_cpu=0.1)


@pytest.mark.parametrize(
    ("steps", "best"),
    [
        pytest.param([step(1, 90, 11), step(2, 170, 12), step(4, 210, 19), step(8, 230, 41)], 4, id="slo-breaks-at-8"),
        pytest.param([step(1, 90, 11), step(2, 170, 12), step(4, 260, 19, errors=3)], 2, id="errors-do-not-count"),
        pytest.param([step(1, 90, 11), step(2, 95, 12, requests=MIN_REQUESTS - 1)], 1, id="too-few-requests"),
        pytest.param([step(1, 90, 11), step(2, 170, 12), step(4, 170, 18)], 2, id="tie-takes-fewer-in-flight"),
        pytest.param([step(1, 90, 31)], None, id="slo-broken-at-once"),
    ],
)
def test_capacity_is_the_best_throughput_within_the_slo_without_errors(steps, best):
    curve = Curve(steps=tuple(steps), slo_p95_ms=20.0, stopped="")
    assert (curve.best.concurrency if curve.best else None) == best


def test_rising_load_stops_once_p95_passes_the_slo_and_reports_the_plateau():
    # 100 req/s from 2 in flight on; 4 in flight wait a round (~40 ms, well within 70 with the host's jitter), 8 wait
    # three (~80 ms: past it, and noise only adds)
    service_s, slots = 0.02, 2
    with FakeUpstream(service_s, slots) as upstream:
        curve = load_test("127.0.0.1", upstream.port, "/v2/models/m/infer", BODY, slo_p95_ms=70.0,
                          max_concurrency=32, step_seconds=1.0)
    assert [s.concurrency for s in curve.steps] == [1, 2, 4, 8], curve
    assert curve.stopped.startswith("p95 ") and "passed the SLO 70 ms at concurrency 8" in curve.stopped
    assert all(s.errors == 0 for s in curve.steps)
    first, *_, last = curve.steps
    assert first.p95_ms >= service_s * 1000 and last.p95_ms > 70.0
    assert 35 <= first.rps <= 55  # one in flight: 1 / 20 ms, less the client's own time
    best = curve.best
    assert best is not None and best.concurrency in (2, 4), curve
    assert 70 <= best.rps <= 105, best  # the plateau: slots / service time


def test_the_first_error_stops_the_test_and_its_step_does_not_count():
    with FakeUpstream(0.005, 8, fail_from=3) as upstream:
        curve = load_test("127.0.0.1", upstream.port, "/v2/models/m/infer", BODY, slo_p95_ms=500.0,
                          max_concurrency=16, step_seconds=0.6)
    assert [s.concurrency for s in curve.steps] == [1, 2, 4], curve
    assert curve.steps[-1].errors > 0 and curve.steps[-1].first_error == "HTTP 500"
    assert "failed request(s) at concurrency 4 (first: HTTP 500)" in curve.stopped
    assert curve.best is not None and curve.best.concurrency in (1, 2)


def test_nothing_listening_is_an_error_step_not_a_crash():
    with FakeUpstream(0.001, 1) as upstream:
        port = upstream.port
    curve = load_test("127.0.0.1", port, "/", BODY, slo_p95_ms=100.0, max_concurrency=4, step_seconds=0.5)
    assert len(curve.steps) == 1 and curve.steps[0].errors > 0 and curve.best is None
    assert "ConnectionRefusedError" in curve.steps[0].first_error


def test_a_payload_is_derived_from_the_declared_inputs():
    metadata = {"name": "m", "inputs": [
        {"name": "features", "datatype": "FP32", "shape": [-1, 3]},
        {"name": "text", "datatype": "BYTES", "shape": [1]},
    ]}
    assert payload_from_metadata(metadata) == {"inputs": [
        {"name": "features", "datatype": "FP32", "shape": [1, 3], "data": [0, 0, 0]},
        {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]},
    ]}
    assert payload_from_metadata({"name": "m", "inputs": []}) is None
    assert payload_from_metadata({"name": "m", "inputs": [{"name": "x"}]}) is None


def test_the_runtimes_last_exception_is_what_a_failed_start_names(tmp_path):
    log = tmp_path / "mlserver.log"
    log.write_text("INFO: starting\nTraceback (most recent call last):\n  File \"x.py\", line 1\n"
                   "IsADirectoryError: [Errno 21] Is a directory: '/models/empty'\nINFO: Shutting down\n")
    server = ModelServer(process=None, workdir=tmp_path, model_name="m", http_port=0, log_path=log)
    assert server.last_error() == "IsADirectoryError: [Errno 21] Is a directory: '/models/empty'"
    log.write_text("INFO: nothing went wrong\n")
    assert server.last_error() == ""


BURN = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.4:\n    pass\n"
# burns 0.4 s of CPU, so does a child it starts and reaps; then idles (a runtime between requests)
BUSY_PARENT = f"import subprocess, sys, time\nchild = subprocess.Popen([sys.executable, '-c', {BURN!r}])\n{BURN}" \
              "child.wait()\ntime.sleep(5)\n"


def test_the_runtimes_cpu_time_is_read_for_its_whole_session():
    proc = subprocess.Popen([sys.executable, "-c", BUSY_PARENT], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        used = 0.0
        while time.monotonic() < deadline and used < 0.75:
            used = session_cpu_seconds(proc.pid) or 0.0
            time.sleep(0.1)
        assert used >= 0.75, f"a process and its child each burnt 0.4 s of CPU; the session shows {used}"
        assert session_cpu_seconds(2**22 + 1) is None  # no such session
    finally:
        proc.kill()
        proc.wait()
