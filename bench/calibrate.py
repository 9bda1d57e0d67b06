"""How long `mlinfra calibrate` takes, and how much of the host its load generator itself uses.

    python bench/calibrate.py [--runs 1] [--step-seconds 5] [--max-concurrency 64]

1. The generator's own cost: calibrate's load test (calibration.load) against a trivial upstream - a minimal
   asyncio HTTP/1.1 server answering a fixed 200 at once, in its own process - at 1 to 8 in flight: the highest
   rate reached (a floor of what the generator can drive) and the generator's CPU per request.
2. A whole calibration as users run it: `mlinfra calibrate` of the end-to-end test's scikit-learn model on the real
   MLServer (.tools/mlserver, `make tools`), the command's defaults for steps and concurrency, as one process;
   wall time (and how much of it the runtime's start took), the measured capacity, the load average.
Prints the figures; exit code 0 (a benchmark reports, it does not judge), 1 when calibrate itself fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mlinfra.calibration.load import load_test
from mlinfra.calibration.server import free_port

REPO = Path(__file__).resolve().parents[1]

TRIVIAL = r"""
import asyncio, sys
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            writer.write(RESPONSE)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""
BODY = json.dumps({"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP64",
                               "data": [5.9, 3.0, 5.1, 1.8]}]}).encode()


def generator_cost(step_seconds: float) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", TRIVIAL, str(port)], start_new_session=True)  # noqa: S603
    try:
        time.sleep(0.5)
        curve = load_test("127.0.0.1", port, "/infer", BODY, slo_p95_ms=1e6, max_concurrency=8,
                          step_seconds=step_seconds)
    finally:
        server.terminate()
        server.wait(10)
    print("load generator against a trivial upstream (its own process; both on this host's "
          f"{os.cpu_count()} CPUs):")
    for s in curve.steps:
        per_request = s.client_cpu / s.rps * 1e6 if s.rps else 0
        print(f"  {s.concurrency:>2} in flight: {s.rps:8.0f} req/s, p50 {s.p50_ms:.2f} ms, generator CPU "
              f"{s.client_cpu:.0%} of a core = {per_request:.0f} us per request")


def whole_calibration(runs: int, step_seconds: float, max_concurrency: int) -> int:
    mlserver = REPO / ".tools" / "mlserver" / "bin"
    if not (mlserver / "mlserver").exists():
        print(f"calibrate: skipped, MLServer is not installed ({mlserver}/mlserver; `make tools` installs it)")
        return 0
    mlinfra = Path(sys.executable).parent / "mlinfra"
    with tempfile.TemporaryDirectory(prefix="bench-calibrate-") as tmp:
        work = Path(tmp)
        subprocess.run([str(mlserver / "python"), str(REPO / "tests" / "e2e" / "model" / "train.py"), tmp],
                       check=True, timeout=120)
        (work / "request.json").write_bytes(BODY)
        walls, results = [], []
        for _ in range(runs):
            cmd = [str(mlinfra), "calibrate", str(REPO / "tests" / "e2e" / "profile.yaml"), "--model", "iris",
                   "--artifact", tmp, "--payload", str(work / "request.json"), "--mlserver", str(mlserver / "mlserver"),
                   "--step-seconds", str(step_seconds), "--max-concurrency", str(max_concurrency), "--format", "json"]
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)  # noqa: S603
            walls.append(time.perf_counter() - start)
            if done.returncode != 0:
                print(f"calibrate failed ({done.returncode}): {done.stdout[-1000:]}{done.stderr[-1000:]}")
                return 1
            results.append(json.loads(done.stdout))
    print(f"mlinfra calibrate (iris, MLServer on 1 core, --step-seconds {step_seconds:g}, --max-concurrency "
          f"{max_concurrency}), {runs} run(s):")
    for wall, r in zip(walls, results):
        steps = r["curve"]["steps"]
        best = next(s for s in steps if s["concurrency"] == r["capacity"]["concurrency"])
        print(f"  {wall:.1f} s wall ({r['startup_seconds']:.1f} s MLServer start, {len(steps)} steps up to "
              f"{steps[-1]['concurrency']} in flight); capacity {r['capacity']['rps_per_replica']:g} req/s at "
              f"{r['capacity']['concurrency']} in flight, p95 {r['capacity']['p95_ms']:g} ms, the runtime using "
              f"{best['server_cpu']} cores ({best['requests_per_cpu_second']} requests per CPU-second); stopped: "
              f"{r['curve']['stopped']}; load average {', '.join(map(str, r['load_average']))}")
    if runs > 1:
        print(f"  median {statistics.median(walls):.1f} s")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="whole calibrations to time (default 1)")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="calibrate's --step-seconds (default 5)")
    parser.add_argument("--max-concurrency", type=int, default=64, help="calibrate's --max-concurrency (default 64)")
    args, _ = parser.parse_known_args()  # bench/run.py passes its arguments to every script
    generator_cost(min(args.step_seconds, 2.0))
    return whole_calibration(args.runs, args.step_seconds, args.max_concurrency)


if __name__ == "__main__":
    sys.exit(main())
