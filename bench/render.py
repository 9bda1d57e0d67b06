"""CPU-seconds of `mlinfra render` as whole processes, next to the start-up floor measured in the same run.

    python bench/render.py [--runs 7] [--limit 1.5] [--format table|json|both]

One run renders a generated on-prem profile (10, then 100 models) for its three environments, one process
each, as a user or CI does: `mlinfra render PROFILE --env E --target onprem-k8s --out DIR --force`. Its cost is
the CPU time of those three processes (user + sys, from resource.getrusage(RUSAGE_CHILDREN)), which - unlike
wall time - hardly grows when other jobs share the CPUs. The floor is three processes that only start the
interpreter and import the libraries render is built on (FLOOR); FLOOR_MODEL adds pydantic's first model class
(plugin discovery and schema building: a cost any pydantic profile pays once per process). Everything above
is mlinfra's own imports and work. --format: table is render's default output (rich), json what CI reads.
Prints medians over --runs after one warm-up run; exits 1 when a 100-model median exceeds --limit CPU-seconds.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _profiles import generated_profile  # noqa: E402

MLINFRA = Path(sys.executable).with_name("mlinfra")
ENVS = ("dev", "staging", "prod")
FLOOR = "import pydantic, yaml, click"
FLOOR_MODEL = "import click, yaml; from pydantic import create_model; create_model('Profile', name=(str, ...))"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(commands: list[list[str]]) -> tuple[float, float]:
    """(CPU-seconds, wall seconds) of running `commands` one after another."""
    cpu, wall = _children_cpu(), time.perf_counter()
    for cmd in commands:
        done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return _children_cpu() - cpu, time.perf_counter() - wall


def render_commands(profile: Path, out: Path, fmt: str) -> list[list[str]]:
    return [
        [str(MLINFRA), "render", str(profile), "--env", env, "--target", "onprem-k8s", "--out", str(out / env),
         "--force", "--format", fmt]
        for env in ENVS
    ]


def median_of(runs: int, commands: Callable[[int], list[list[str]]]) -> tuple[float, float, float, float]:
    """Median, min and max CPU-seconds and median wall seconds over `runs` runs after one warm-up run."""
    measure(commands(-1))
    samples = [measure(commands(i)) for i in range(runs)]
    cpu = [c for c, _ in samples]
    return statistics.median(cpu), min(cpu), max(cpu), statistics.median(w for _, w in samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs (median; default 7)")
    parser.add_argument("--limit", type=float, default=1.5, help="allowed CPU-seconds for 100 models x 3 environments")
    parser.add_argument("--format", dest="fmt", choices=("table", "json", "both"), default="both", help="render's output")
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    formats = ("table", "json") if args.fmt == "both" else (args.fmt,)
    print(f"mlinfra render, {len(ENVS)} environments as {len(ENVS)} processes: CPU-seconds (user+sys), median of "
          f"{args.runs} ({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)")
    floor = 0.0
    for name, code in (("floor", FLOOR), ("floor + one pydantic model", FLOOR_MODEL)):
        cpu, low, high, wall = median_of(args.runs, lambda _: [[sys.executable, "-c", code]] * len(ENVS))
        floor = floor or cpu
        print(f"  {name:<34} {cpu:5.2f} CPU-s (min {low:.2f}, max {high:.2f}; wall {wall:.2f} s)  "
              f"{len(ENVS)} x python -c {code!r}")
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for models in (10, 100):
            profile = generated_profile(models, Path(tmp))
            for fmt in formats:
                out = Path(tmp) / f"{fmt}-{models}"
                cpu, low, high, wall = median_of(args.runs, lambda i: render_commands(profile, out / str(i), fmt))
                files = sum(1 for p in (out / "0").rglob("*") if p.is_file())
                verdict = ""
                if models == 100:
                    verdict = "ok" if cpu <= args.limit else f"OVER {args.limit} CPU-s"
                    status |= int(cpu > args.limit)
                label = f"render {models} models --format {fmt}"
                print(f"  {label:<34} {cpu:5.2f} CPU-s (min {low:.2f}, max {high:.2f}; wall {wall:.2f} s; "
                      f"{files} files) = {cpu / floor:.1f} x floor {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
