"""Time `mlinfra decide` as a whole process (interpreter start, imports, profile, decision, output) against the
floor of a bare `python -c "import pydantic, yaml, click, rich"` measured in the same run.

    python bench/decide.py [--runs 15] [--profile stacks/profile.yaml] [--limit 0.4] [--ratio 2]

Runs the installed console script next to this interpreter, discards two warm-up runs, interleaves the floor
with each timed run (so machine load hits both alike) and prints median, min and max wall and CPU time per
output format, and the ratio of the JSON median to the floor's. Exit code 1 when a median exceeds --limit
seconds or the JSON ratio exceeds --ratio.

First it compiles mlinfra's bytecode as `make install` does: with PYTHONDONTWRITEBYTECODE set (as here) a source
edited since the last install would otherwise be recompiled in every timed run. A second, explanatory ratio is
against the floor plus one pydantic model (what any pydantic CLI pays before its own schema); the goal is the first.
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


FLOOR = [sys.executable, "-c", "import pydantic, yaml, click, rich"]
# the floor plus pydantic's model machinery and one model (with plugins off, as the CLI runs): explanation only
MODEL_FLOOR = [sys.executable, "-c", "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'; "
               "import pydantic, yaml, click, rich; from pydantic import create_model; create_model('P', name=(str, ...))"]
# what `make install` runs: bytecode for mlinfra's own modules
COMPILE = [sys.executable, "-m", "compileall", "-q", "-j", "0", "-x", r"/(\.venv|\.tools|\.git|tests|bench|docs|out)/", "."]


def time_run(cmd: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU (user + sys) seconds of one whole process."""
    before = os.times()
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    elapsed = time.perf_counter() - start
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
    return elapsed, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def _line(label: str, runs: list[tuple[float, float]]) -> str:
    walls, cpus = [w for w, _ in runs], [c for _, c in runs]
    return (f"  {label:15}  median {statistics.median(walls):.3f} s  min {min(walls):.3f} s  max {max(walls):.3f} s"
            f"  cpu median {statistics.median(cpus):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per format (default 15)")
    parser.add_argument("--profile", default="stacks/profile.yaml", help="profile to decide (default stacks/profile.yaml)")
    parser.add_argument("--limit", type=float, default=0.4, help="fail when a median exceeds this many seconds")
    parser.add_argument("--ratio", type=float, default=2.0, help="fail when json median / floor median exceeds this")
    args = parser.parse_args()

    mlinfra = Path(sys.executable).parent / "mlinfra"
    if not mlinfra.exists():
        raise SystemExit(f"{mlinfra} not found: run `make install` first")
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    subprocess.run(COMPILE, cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    failed = False
    print(f"mlinfra decide {args.profile}: {args.runs} runs per format after {WARMUP} warm-up runs ({os.cpu_count()} CPUs)")
    floor: list[tuple[float, float]] = []
    model_floor: list[tuple[float, float]] = []
    profile_floor: list[tuple[float, float]] = []  # the floor plus validating the profile: what no decide avoids
    load = [sys.executable, "-c", "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'; "  # as the CLI does
            "import pydantic, yaml, click, rich; from mlinfra.profiles import load_profile; "
            f"load_profile({args.profile!r})"]
    medians: dict[str, float] = {}
    for fmt in ("table", "json"):
        cmd = [str(mlinfra), "decide", args.profile, "--format", fmt]
        for _ in range(WARMUP):
            time_run(cmd, env)
            time_run(FLOOR, env)
        runs = []
        for _ in range(args.runs):
            runs.append(time_run(cmd, env))
            floor.append(time_run(FLOOR, env))
            profile_floor.append(time_run(load, env))
            model_floor.append(time_run(MODEL_FLOOR, env))
        medians[fmt] = statistics.median(w for w, _ in runs)
        verdict = "ok" if medians[fmt] <= args.limit else f"SLOWER than {args.limit:.2f} s"
        failed |= medians[fmt] > args.limit
        print(_line(f"--format {fmt}", runs) + f"  {verdict}")
    print(_line("floor", floor) + "  (python -c 'import pydantic, yaml, click, rich')")
    print(_line("floor + model", model_floor) + "  (the floor, then one pydantic model: pydantic's machinery)")
    print(_line("floor + profile", profile_floor) + "  (the floor, then load_profile: pydantic builds the model)")
    base = statistics.median(w for w, _ in floor)
    print(f"  profile / floor  {statistics.median(w for w, _ in profile_floor) / base:.2f}x  (before any decision work)")
    ratio = medians["json"] / base
    failed |= ratio > args.ratio
    print(f"  json / floor     {ratio:.2f}x  (goal <= {args.ratio:g}x)")
    model_base = statistics.median(w for w, _ in model_floor)
    print(f"  json / (floor + model)  {medians['json'] / model_base:.2f}x  (explanatory: against a floor that also "
          "builds one pydantic model)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
