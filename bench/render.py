"""Time `mlinfra render` as whole processes: an on-prem profile with 10 and 100 models, every environment.

Goal (issue 5): 100 models x 3 environments in under 3 s in total, without importing Pulumi. Each environment
is one `mlinfra render` process (what a user or CI runs); the figure is the median over --runs of the sum.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _profiles import generated_profile  # noqa: E402

MLINFRA = Path(sys.executable).with_name("mlinfra")
ENVS = ("dev", "staging", "prod")


def render_all(profile: Path, out: Path) -> float:
    """Seconds for one `mlinfra render` process per environment, summed."""
    total = 0.0
    for env in ENVS:
        start = time.perf_counter()
        done = subprocess.run(
            [str(MLINFRA), "render", str(profile), "--env", env, "--target", "onprem-k8s",
             "--out", str(out / env), "--force", "--format", "json"],
            capture_output=True, text=True, check=False,
        )
        total += time.perf_counter() - start
        if done.returncode != 0:
            sys.exit(f"render of {profile} ({env}) failed ({done.returncode}): {done.stderr.strip()}")
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="timed repetitions (median)")
    parser.add_argument("--limit", type=float, default=3.0, help="allowed seconds for 100 models x 3 environments")
    args, _unknown = parser.parse_known_args()
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        for models in (10, 100):
            profile = generated_profile(models, Path(tmp))
            render_all(profile, Path(tmp) / f"warm-{models}")
            times = [render_all(profile, Path(tmp) / f"out-{models}-{i}") for i in range(args.runs)]
            median = statistics.median(times)
            files = sum(1 for _ in (Path(tmp) / f"out-{models}-0").rglob("*") if _.is_file())
            verdict = "ok" if models != 100 or median < args.limit else f"OVER {args.limit} s"
            if models == 100 and median >= args.limit:
                status = 1
            print(f"render {models:>3} models x {len(ENVS)} envs: median {median:.2f} s "
                  f"(min {min(times):.2f}, max {max(times):.2f}; {files} files) {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
