"""The drift monitor's cost: samples/s on one core for a 20-feature model, and the latency its proxy adds.

    python bench/drift.py [--requests 2000] [--rounds 5] [--format table|json|both]

(a) Drift work, in this process pinned to one CPU: a 20-feature model (18 numeric, 2 categorical columns, a
    numeric prediction) with a 10,000-row reference. `ingest` is what the decoder thread does per sampled request
    (JSON of the request and the response, V2 decoding, the window append), for requests of 1 and of 10 rows;
    `compute` is one recomputation of all 21 scores over a full 2,000-row window. The goal: one core keeps up with
    1,000 requests/s sampled at 10 %, i.e. the share of a core that 100 ingests/s plus one compute per
    interval_seconds (15) take is below 1.
(b) The proxy's added latency on loopback: a small aiohttp V2 upstream answering at once, and `mlinfra drift
    serve` in front of it (sample rate 0.1); one client on one keep-alive connection sends the same 20-feature
    request alternately, in rounds, directly and through the proxy. p50/p99 of each and the difference. The
    monitor's CPU time per proxied request (from /proc) says how many requests/s one core can pass through.
Exits 1 when the drift work of (a) does not fit one core.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from mlinfra.drift.config import ModelDrift
from mlinfra.drift.monitor import ModelMonitor
from mlinfra.drift.reference import build_reference

MLINFRA = Path(sys.executable).with_name("mlinfra")
NUMERIC, CATEGORICAL = 18, 2
FEATURES = [f"n{i:02d}" for i in range(NUMERIC)] + [f"c{i}" for i in range(CATEGORICAL)]
REQUESTS_PER_S, SAMPLE_RATE, INTERVAL_S, WINDOW = 1000, 0.1, 15.0, 2000
UPSTREAM = """
import json, sys
from aiohttp import web
answer = json.dumps({"model_name": "bench", "outputs": [{"name": "predict", "shape": [1, 1], "datatype": "FP64",
                                                          "data": [0.5]}]}).encode()
async def infer(request):
    await request.read()
    return web.Response(body=answer, content_type="application/json")
app = web.Application()
app.router.add_post("/v2/models/bench/infer", infer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
"""


def reference_table(rng: np.random.Generator, rows: int) -> dict[str, list]:
    table: dict[str, list] = {f: rng.normal(i, 1 + i / 10, rows).tolist() for i, f in enumerate(FEATURES[:NUMERIC])}
    for f in FEATURES[NUMERIC:]:
        table[f] = rng.choice(["alpha", "beta", "gamma", "delta"], rows).tolist()
    table["label"] = rng.normal(0, 1, rows).tolist()
    return table


def exchange(rng: np.random.Generator, rows: int) -> tuple[bytes, bytes]:
    """A V2 request as MLServer's pandas codec sends it (one named input per column) and its response."""
    inputs = [{"name": f, "shape": [rows, 1], "datatype": "FP64", "data": rng.normal(i, 1, rows).round(6).tolist()}
              for i, f in enumerate(FEATURES[:NUMERIC])]
    inputs += [{"name": f, "shape": [rows, 1], "datatype": "BYTES",
                "data": rng.choice(["alpha", "beta", "gamma"], rows).tolist()} for f in FEATURES[NUMERIC:]]
    outputs = [{"name": "predict", "shape": [rows, 1], "datatype": "FP64", "data": rng.normal(0, 1, rows).tolist()}]
    return json.dumps({"inputs": inputs}).encode(), json.dumps({"outputs": outputs}).encode()


def drift_work(rounds: int) -> dict:
    """(a): CPU-seconds per ingest (1 and 10 rows) and per compute of a full window, on one core."""
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[-1]})
    rng = np.random.default_rng(42)
    spec = ModelDrift(name="bench", reference="reference.csv", prediction_column="label", window=WINDOW)
    monitor = ModelMonitor(spec, build_reference(spec, reference_table(rng, 10_000), "reference.csv"))
    result: dict = {"features": len(FEATURES), "window": WINDOW}
    for rows in (1, 10):
        bodies = [exchange(rng, rows) for _ in range(500)]
        per_sample = []
        for _ in range(rounds):
            start = time.process_time()
            for request, response in bodies:
                monitor.ingest(request, response)
            per_sample.append((time.process_time() - start) / len(bodies))
        result[f"ingest_{rows}_row_ms"] = statistics.median(per_sample) * 1000
        result[f"ingest_{rows}_row_per_s"] = 1 / statistics.median(per_sample)  # sampled requests/s
    assert len(monitor.window) == WINDOW
    computes = []
    for _ in range(max(rounds, 5)):
        start = time.process_time()
        scores = monitor.compute(time.time())
        computes.append(time.process_time() - start)
    assert len(scores.features) == len(FEATURES) + 1
    result["compute_ms"] = statistics.median(computes) * 1000
    sampled = REQUESTS_PER_S * SAMPLE_RATE
    result["core_share_at_goal"] = sampled * result["ingest_1_row_ms"] / 1000 + result["compute_ms"] / 1000 / INTERVAL_S
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, path: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"the process for port {port} exited ({process.returncode})")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("POST" if "infer" in path else "GET", path, body=b"{}" if "infer" in path else None)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing answered on port {port}")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proxy_latency(requests: int, rounds: int) -> dict:
    """(b): p50/p99 of the same request directly and through `mlinfra drift serve`, alternating in rounds."""
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        table = reference_table(rng, 5000)
        lines = [",".join(table)] + [",".join(str(v) for v in row) for row in zip(*table.values())]
        Path(tmp, "reference.csv").write_text("\n".join(lines) + "\n")
        upstream_port, proxy_port, metrics_port = free_port(), free_port(), free_port()
        config = {"listen": f"127.0.0.1:{proxy_port}", "metrics_listen": f"127.0.0.1:{metrics_port}",
                  "upstream": f"http://127.0.0.1:{upstream_port}",
                  "models": [{"name": "bench", "reference": f"{tmp}/reference.csv", "prediction_column": "label",
                              "sample_rate": SAMPLE_RATE, "window": WINDOW}]}
        Path(tmp, "drift.json").write_text(json.dumps(config))
        upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(upstream_port)])
        monitor = subprocess.Popen([str(MLINFRA), "drift", "serve", "--config", f"{tmp}/drift.json",
                                    "--log-level", "warning"])
        try:
            wait_for(upstream_port, "/v2/models/bench/infer", upstream)
            wait_for(metrics_port, "/readyz", monitor)
            body = exchange(rng, 1)[0]
            headers = {"Content-Type": "application/json"}
            timings: dict[int, list[float]] = {upstream_port: [], proxy_port: []}
            connections = {port: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for port in timings}
            monitor_cpu = 0.0
            per_round = max(1, requests // rounds)
            for round_ in range(rounds + 1):  # round 0 warms up
                for port in (upstream_port, proxy_port):
                    conn = connections[port]
                    before = cpu_seconds(monitor.pid)
                    for _ in range(per_round):
                        start = time.perf_counter()
                        conn.request("POST", "/v2/models/bench/infer", body=body, headers=headers)
                        response = conn.getresponse()
                        response.read()
                        elapsed = time.perf_counter() - start
                        if response.status != 200:
                            sys.exit(f"port {port} answered {response.status}")
                        if round_:
                            timings[port].append(elapsed)
                    if port == proxy_port and round_:
                        monitor_cpu += cpu_seconds(monitor.pid) - before
        finally:
            for process in (monitor, upstream):
                process.terminate()
                process.wait(30)

    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) * 1000

    direct, proxied = timings[upstream_port], timings[proxy_port]
    cpu_per_request_ms = monitor_cpu / len(proxied) * 1000
    return {
        "requests": len(proxied), "direct_p50_ms": pct(direct, 50), "direct_p99_ms": pct(direct, 99),
        "proxied_p50_ms": pct(proxied, 50), "proxied_p99_ms": pct(proxied, 99),
        "added_p50_ms": pct(proxied, 50) - pct(direct, 50), "added_p99_ms": pct(proxied, 99) - pct(direct, 99),
        "monitor_cpu_per_request_ms": cpu_per_request_ms,
        "requests_per_core_s": 1000 / cpu_per_request_ms if cpu_per_request_ms else float("inf"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timed requests per path (direct, proxied)")
    parser.add_argument("--rounds", type=int, default=5, help="alternations (latency) and repetitions (drift work)")
    parser.add_argument("--format", choices=("table", "json", "both"), default="table")
    args, _ = parser.parse_known_args()
    work = drift_work(args.rounds)
    latency = proxy_latency(args.requests, args.rounds)
    # the whole monitor at the goal: passing every request through plus the drift work of the sampled ones
    latency["core_share_at_goal"] = REQUESTS_PER_S * latency["monitor_cpu_per_request_ms"] / 1000
    if args.format in ("json", "both"):
        print(json.dumps({"drift_work": work, "proxy": latency}, indent=2, sort_keys=True))
    if args.format in ("table", "both"):
        print(f"drift work on one core, {work['features']} features, window {work['window']} rows:")
        print(f"  ingest, 1-row request   {work['ingest_1_row_ms']:7.3f} ms  ({work['ingest_1_row_per_s']:,.0f} sampled "
              "requests/s)")
        print(f"  ingest, 10-row request  {work['ingest_10_row_ms']:7.3f} ms  ({work['ingest_10_row_per_s']:,.0f} sampled "
              f"requests/s, {10 * work['ingest_10_row_per_s']:,.0f} rows/s)")
        print(f"  compute, full window    {work['compute_ms']:7.3f} ms")
        print(f"  share of one core at {REQUESTS_PER_S:,} req/s sampled at {SAMPLE_RATE:.0%}, compute every "
              f"{INTERVAL_S:g} s: {work['core_share_at_goal']:.3f}")
        print(f"proxy on loopback, {latency['requests']} requests each way (sample rate {SAMPLE_RATE:g}):")
        print(f"  direct   p50 {latency['direct_p50_ms']:.3f} ms  p99 {latency['direct_p99_ms']:.3f} ms")
        print(f"  proxied  p50 {latency['proxied_p50_ms']:.3f} ms  p99 {latency['proxied_p99_ms']:.3f} ms")
        print(f"  added    p50 {latency['added_p50_ms']:.3f} ms  p99 {latency['added_p99_ms']:.3f} ms")
        print(f"  monitor CPU per proxied request {latency['monitor_cpu_per_request_ms']:.3f} ms "
              f"(~{latency['requests_per_core_s']:,.0f} requests/s per core): at {REQUESTS_PER_S:,} req/s the "
              f"monitor takes {latency['core_share_at_goal']:.2f} of a core")
    if work["core_share_at_goal"] >= 1:
        print("drift work does not keep up with the goal on one core", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
