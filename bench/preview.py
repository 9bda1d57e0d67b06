"""Time `mlinfra preview` as whole processes: the example profile and generated 10- and 100-model profiles.

On-premise: stacks/profile.yaml and generated on-prem profiles on onprem-k8s. Cloud: generated bursty-cloud-like
profiles (no `onprem` block, an AWS region, s3:// artifacts; checked with `mlinfra validate`) on aws-sagemaker
and aws-eks. Compares the cost per registered resource with the Pulumi SDK's own mock floor (a bare program
registering ConfigMaps under `pulumi.runtime.set_mocks`, measured here on the same machine), checks that
preview grows linearly (time for 100 models / time for 10 models <= --max-ratio, per target) and the invokes:
none, except on aws-eks exactly one availability-zone lookup (components/aws_eks/network.py, `*_output` form).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _profiles import generated_cloud_profile, generated_profile  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "stacks" / "profile.yaml"
MLINFRA = Path(sys.executable).with_name("mlinfra")
ZONES = "aws:index/getAvailabilityZones:getAvailabilityZones"
EXPECTED_INVOKES = {"onprem-k8s": [], "aws-sagemaker": [], "aws-eks": [ZONES]}

FLOOR_PROGRAM = """
import sys, time
import pulumi, pulumi_kubernetes as k8s

class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "-id", args.inputs
    def call(self, args):
        return {}

pulumi.runtime.set_mocks(Mocks(), project="floor", stack="bench", preview=True)
n = int(sys.argv[1])

@pulumi.runtime.test
def program():
    provider = k8s.Provider("k8s", context="bench")
    for i in range(n):
        k8s.core.v1.ConfigMap(f"cm-{i}", metadata={"name": f"cm-{i}", "namespace": "bench"},
                              data={"key": str(i)}, opts=pulumi.ResourceOptions(provider=provider))

start = time.perf_counter()
program()
print(time.perf_counter() - start)
"""


def time_preview(profile: Path, runs: int, target: str = "onprem-k8s") -> tuple[float, int, list[str], float]:
    """Median wall time of whole `mlinfra preview` processes, resources registered, invokes, in-program time."""
    times, data = [], {}
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(
            [str(MLINFRA), "preview", str(profile), "--env", "prod", "--target", target, "--format", "json"],
            capture_output=True, text=True, check=False,
        )
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            sys.exit(f"preview of {profile} failed ({done.returncode}): {done.stderr.strip()}")
        data = json.loads(done.stdout)
        if data["target"] != target:
            sys.exit(f"preview of {profile} ran on {data['target']}, not {target}")
    program = _program_seconds(profile, target)
    return statistics.median(times), len(data["resources"]), data["invokes"], program


def _program_seconds(profile: Path, target: str) -> float:
    """Seconds spent inside the Pulumi program under the mocks (what `preview` reports), one run."""
    code = (
        "import sys; from mlinfra.preview.report import run_preview; from mlinfra.program import run_offline;"
        "print(run_preview(sys.argv[1], 'prod', runner=run_offline, target=sys.argv[2]).seconds)"
    )
    out = subprocess.run([sys.executable, "-c", code, str(profile), target], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.strip())


def sdk_floor(small: int, large: int) -> float:
    """Seconds per resource of the bare SDK under mocks: (t(large) - t(small)) / (large - small)."""
    t = {}
    for n in (small, large):
        out = subprocess.run([sys.executable, "-c", FLOOR_PROGRAM, str(n)], capture_output=True, text=True, check=True)
        t[n] = float(out.stdout.strip())
    return (t[large] - t[small]) / (large - small)


def validated(path: Path) -> Path:
    """`path` after `mlinfra validate` accepted it (a generated profile must be one a user could write)."""
    done = subprocess.run([str(MLINFRA), "validate", str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"generated profile {path} is not valid: {done.stdout.strip()} {done.stderr.strip()}")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3, help="timed whole-process runs per profile (median)")
    parser.add_argument("--max-ratio", type=float, default=11.0, help="allowed time(100 models)/time(10 models)")
    args, _unknown = parser.parse_known_args()

    floor = sdk_floor(50, 550)
    rows = []  # (target, label, wall, resources, invokes, program)
    with tempfile.TemporaryDirectory() as tmp:
        onprem = [("example", EXAMPLE), ("10 models", validated(generated_profile(10, Path(tmp)))),
                  ("100 models", validated(generated_profile(100, Path(tmp))))]
        cloud = [("10 models", validated(generated_cloud_profile(10, Path(tmp)))),
                 ("100 models", validated(generated_cloud_profile(100, Path(tmp))))]
        runs = [("onprem-k8s", onprem), ("aws-sagemaker", cloud), ("aws-eks", cloud)]
        for target, profiles in runs:
            for label, path in profiles:
                wall, resources, invokes, program = time_preview(path, args.runs, target)
                rows.append((target, label, wall, resources, invokes, program))

    print(f"Pulumi SDK mock floor (bare ConfigMaps, this machine): {floor * 1000:.2f} ms/resource")
    print(f"{'target':<13} {'profile':<11} {'wall median':>11} {'resources':>9} {'program':>8} "
          f"{'ms/res (program)':>16} {'/ floor':>7} invokes")
    for target, label, wall, resources, invokes, program in rows:
        per = program / resources
        print(f"{target:<13} {label:<11} {wall:>10.2f}s {resources:>9} {program:>7.2f}s {per * 1000:>16.2f} "
              f"{per / floor:>6.1f}x {len(invokes)}")
    failed = False
    for target, _ in runs:
        own = {row[1]: row for row in rows if row[0] == target}
        (_, _, w10, r10, _, p10), (_, _, w100, r100, _, p100) = own["10 models"], own["100 models"]
        marginal = (p100 - p10) / (r100 - r10)
        ratio = w100 / w10
        print(f"{target}: marginal program cost 10 -> 100 models: {marginal * 1000:.2f} ms/resource "
              f"({marginal / floor:.1f}x the SDK floor); whole-process ratio 100/10 models: {ratio:.2f} "
              f"(limit {args.max_ratio})")
        failed |= ratio > args.max_ratio
    for target, label, _wall, _resources, invokes, _program in rows:
        if sorted(invokes) != EXPECTED_INVOKES[target]:
            print(f"FAIL: {target} {label}: the program called invokes {invokes}, "
                  f"expected {EXPECTED_INVOKES[target] or 'none'}")
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
