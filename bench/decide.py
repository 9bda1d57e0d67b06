"""Time `mlinfra decide` as a whole process (interpreter start, imports, profile, decision, output).

    python bench/decide.py [--runs 15] [--profile stacks/profile.yaml] [--limit 0.4]

Runs the installed console script next to this interpreter, discards two warm-up runs, and prints the
median, min and max wall time per output format. Exit code 1 when a median exceeds --limit seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WARMUP = 2


def time_run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per format (default 15)")
    parser.add_argument("--profile", default="stacks/profile.yaml", help="profile to decide (default stacks/profile.yaml)")
    parser.add_argument("--limit", type=float, default=0.4, help="fail when a median exceeds this many seconds")
    args = parser.parse_args()

    mlinfra = Path(sys.executable).parent / "mlinfra"
    if not mlinfra.exists():
        raise SystemExit(f"{mlinfra} not found: run `make install` first")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    failed = False
    print(f"mlinfra decide {args.profile}: {args.runs} runs per format after {WARMUP} warm-up runs ({os.cpu_count()} CPUs)")
    for fmt in ("table", "json"):
        cmd = [str(mlinfra), "decide", args.profile, "--format", fmt]
        for _ in range(WARMUP):
            time_run(cmd, env)
        times = [time_run(cmd, env) for _ in range(args.runs)]
        median = statistics.median(times)
        verdict = "ok" if median <= args.limit else f"SLOWER than {args.limit:.2f} s"
        failed |= median > args.limit
        print(f"  --format {fmt:5}  median {median:.3f} s  min {min(times):.3f} s  max {max(times):.3f} s  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
