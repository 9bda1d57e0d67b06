"""CPU-seconds of `mlinfra render` as whole processes, next to the start-up floor measured in the same run.

    python bench/render.py [--runs 7] [--limit 1.5] [--format table|json|both] [--baseline GIT-REV]

One sample renders a generated on-prem profile (10 or 100 models) for its three environments, one process
each, as a user or CI does: `mlinfra render PROFILE --env E --target onprem-k8s --out DIR --force`. Its cost is
the CPU time of those three processes (user + sys, from resource.getrusage(RUSAGE_CHILDREN)), which varies
less than wall time when other jobs share the CPUs. The floor is three processes that only start the
interpreter and import the libraries render is built on (FLOOR); FLOOR_MODEL adds pydantic's first model class
(plugin discovery and schema building: a cost any pydantic profile pays once per process). Everything above
is mlinfra's own imports and work. --format: table is render's default output (rich), json what CI reads.
--baseline renders with that commit's code too (`git archive` into a temporary directory, compiled, first on
PYTHONPATH). The working tree is measured as it is: run `make install` first, which compiles its bytecode.
Every measurement takes turns within each run, so all of them see the same machine; after one warm-up round it
prints medians over --runs and exits 1 when a 100-model median of the current code exceeds --limit CPU-seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _profiles import generated_profile  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MLINFRA = Path(sys.executable).with_name("mlinfra")
ENVS = ("dev", "staging", "prod")
FLOOR = "import pydantic, yaml, click"
FLOOR_MODEL = "import click, yaml; from pydantic import create_model; create_model('Profile', name=(str, ...))"


@dataclass
class Subject:
    """One measured thing: `commands(i)` are the processes of sample i (-1: the warm-up)."""

    label: str
    commands: Callable[[int], list[list[str]]]
    env: dict[str, str] | None = None
    limit: bool = False  # held to --limit
    cpu: list[float] = field(default_factory=list)

    def sample(self, i: int) -> None:
        before = _children_cpu()
        for cmd in self.commands(i):
            done = subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                sys.exit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
        if i >= 0:
            self.cpu.append(_children_cpu() - before)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def render_commands(profile: Path, out: Path, fmt: str) -> Callable[[int], list[list[str]]]:
    return lambda i: [
        [str(MLINFRA), "render", str(profile), "--env", env, "--target", "onprem-k8s",
         "--out", str(out / str(i) / env), "--force", "--format", fmt]
        for env in ENVS
    ]


def checkout(rev: str, directory: Path) -> dict[str, str]:
    """The environment that runs `rev`'s mlinfra: its files as package `mlinfra` first on PYTHONPATH."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory / "mlinfra", filter="data")
    # bytecode, as `make install` compiles the working tree (PYTHONDONTWRITEBYTECODE would recompile every run)
    subprocess.run([sys.executable, "-m", "compileall", "-q", "-j", "0", str(directory / "mlinfra")], check=True)
    return {**os.environ, "PYTHONPATH": str(directory)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="samples of each measurement (median; default 7)")
    parser.add_argument("--limit", type=float, default=1.5, help="allowed CPU-seconds for 100 models x 3 environments")
    parser.add_argument("--format", dest="fmt", choices=("table", "json", "both"), default="both", help="render's output")
    parser.add_argument("--baseline", metavar="GIT-REV", help="also render with this commit's code, for comparison")
    args, _unknown = parser.parse_known_args()  # bench/run.py passes every script the same arguments
    formats = ("table", "json") if args.fmt == "both" else (args.fmt,)
    n = len(ENVS)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        subjects = [
            Subject(f"floor: {n} x python -c {FLOOR!r}", lambda _: [[sys.executable, "-c", FLOOR]] * n),
            Subject("floor + one pydantic model", lambda _: [[sys.executable, "-c", FLOOR_MODEL]] * n),
        ]
        codes = [("", None)]
        if args.baseline:
            codes.append((f" @ {args.baseline}", checkout(args.baseline, tmp / "baseline")))
        for models in (10, 100):
            profile = generated_profile(models, tmp)
            for fmt in formats:
                for suffix, env in codes:
                    out = tmp / f"out-{models}-{fmt}{'-baseline' if env else ''}"
                    subjects.append(Subject(f"render {models} models --format {fmt}{suffix}",
                                            render_commands(profile, out, fmt), env, limit=models == 100 and not env))
        print(f"mlinfra render, {n} environments as {n} processes: CPU-seconds (user+sys), median of {args.runs} "
              f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start)")
        for i in range(-1, args.runs):
            for subject in subjects:
                subject.sample(i)
    floor = statistics.median(subjects[0].cpu)
    width = max(len(s.label) for s in subjects)
    status = 0
    for subject in subjects:
        cpu = statistics.median(subject.cpu)
        verdict = ""
        if subject.limit:
            verdict = "ok" if cpu <= args.limit else f"OVER {args.limit} CPU-s"
            status |= cpu > args.limit
        print(f"  {subject.label:<{width}}  {cpu:5.2f} CPU-s (min {min(subject.cpu):.2f}, max {max(subject.cpu):.2f})"
              f"  {cpu / floor:4.1f} x floor  {verdict}")
    return status


if __name__ == "__main__":
    sys.exit(main())
