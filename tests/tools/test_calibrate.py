"""`mlinfra calibrate` for real: the end-to-end test's scikit-learn model on the real MLServer (.tools/mlserver),
pinned to one core, load-tested on loopback; the measured capacity is recorded and sizing uses it.

Bounded: steps of 1, 2, 4 and 8 in flight of STEP_SECONDS each, two calibrations, under a minute in all (most of
it MLServer starting, twice).

Tolerances, and why they are what they are: the host of the suite has 2 CPUs shared by everything else that runs,
so one step's p95 can jump by a scheduling hiccup. The latency curve is checked as queueing theory has it on one
core - p50 grows with the requests in flight (Little's law: at 8 in flight at least twice the p50 at 1) - and each
step's p95 may dip below the highest before it by at most 40 % or HICCUP_MS, whichever is more: a p95 of a few ms
at low concurrency is set by a handful of requests that waited out another process's time slice (Linux gives
competing processes slices of several ms), and that wait does not grow with our load.

Reproducible: two calibrations in a row serve about the same number of requests per CPU-second of the runtime at
their capacity steps (within SPREAD). Their requests/s need not be: other jobs on this host take CPU from the pinned
runtime, not work per request - on one afternoon the same calibration gave 425 to 1,508 req/s at load averages of
1.8 to 6.6, and with a CPU-bound process pinned beside it 850 req/s against 1,508 alone, while requests per
CPU-second moved from 1,547 to 1,451 (6 %; heavier contention lowers it too, hence SPREAD). The requests/s of the two runs are only held within RPS_SPREAD, a
bound that catches a broken count, not noise.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlinfra.calibration.calibrate import calibrate
from mlinfra.cli.main import cli
from mlinfra.planning.sizing import TARGET_UTILISATION, capacity_rps
from mlinfra.profiles import load_profile
from mlinfra.targets.resolve import decision_for

pytestmark = pytest.mark.tools

REPO = Path(__file__).resolve().parents[2]
E2E = REPO / "tests" / "e2e"
MODEL = "iris"
MAX_CONCURRENCY = 8
STEP_SECONDS = 1.5
DIP = 0.6  # a step's p95 is at least this share of the highest p95 before it ...
HICCUP_MS = 15.0  # ... or at most this much below it
SPREAD = 1.5  # two calibrations' requests per runtime CPU-second at their capacity steps agree within this factor
RPS_SPREAD = 4.0  # ... and their requests/s within this one
PAYLOAD = {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP64", "data": [5.9, 3.0, 5.1, 1.8]}]}


@pytest.fixture(scope="module")
def mlserver(tools_dir: Path) -> Path:
    executable = tools_dir / "mlserver" / "bin" / "mlserver"
    if not executable.exists():
        pytest.fail(f"{executable} is missing: `make tools` installs MLServer")
    return executable


@pytest.fixture(scope="module")
def artifact(mlserver: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The e2e test's model, trained now with the serving venv's scikit-learn (tests/e2e/model/train.py)."""
    directory = tmp_path_factory.mktemp("iris-model")
    subprocess.run([str(mlserver.parent / "python"), str(E2E / "model" / "train.py"), str(directory)],
                   check=True, capture_output=True, timeout=120)
    return directory


def check_curve(steps: list[dict]) -> None:
    p95 = [s["p95_ms"] for s in steps]
    for i in range(1, len(p95)):
        highest = max(p95[:i])
        assert p95[i] >= min(DIP * highest, highest - HICCUP_MS), f"p95 fell from {highest} to {p95[i]} ms: {steps}"
    by_concurrency = {s["concurrency"]: s for s in steps}
    if MAX_CONCURRENCY in by_concurrency:
        assert by_concurrency[MAX_CONCURRENCY]["p50_ms"] >= 2 * by_concurrency[1]["p50_ms"], (
            f"8 in flight on one core must queue: {steps}"
        )


def test_calibrate_measures_records_and_sizing_uses_it(mlserver: Path, artifact: Path, tmp_path: Path):
    profile = tmp_path / "profile.yaml"
    profile.write_text((E2E / "profile.yaml").read_text())
    payload = tmp_path / "request.json"
    payload.write_text(json.dumps(PAYLOAD))
    plot = tmp_path / "curve.svg"
    args = ["calibrate", str(profile), "--model", MODEL, "--artifact", str(artifact), "--payload", str(payload),
            "--mlserver", str(mlserver), "--max-concurrency", str(MAX_CONCURRENCY), "--step-seconds", str(STEP_SECONDS),
            "--cores", "1", "--format", "json", "--plot", str(plot), "--write"]
    result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "120"}).invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)

    steps = report["curve"]["steps"]
    assert [s["concurrency"] for s in steps] == [1, 2, 4, 8][: len(steps)] and len(steps) >= 3, report["curve"]
    assert all(s["errors"] == 0 for s in steps)
    check_curve(steps)
    capacity = report["capacity"]
    assert capacity["rps_per_replica"] > 0
    assert capacity["rps_per_replica"] == max(s["rps"] for s in steps if s["within_slo"])
    assert capacity["p95_ms"] <= 120 and capacity["cores"] == 1 and capacity["runtime"] == "mlserver 1.7.1"
    assert report["written"] == "added"
    assert plot.read_text().startswith("<?xml")

    loaded = load_profile(profile)
    model = loaded.models[0]
    assert model.capacity is not None and model.capacity.rps_per_replica == capacity["rps_per_replica"]
    assert capacity_rps(model) == round(capacity["rps_per_replica"] * TARGET_UTILISATION, 4)
    assert decision_for(loaded).assumptions[0].startswith(
        f"iris: {capacity_rps(model):g} req/s per replica = {capacity['rps_per_replica']:g} req/s measured"
    )
    lines = profile.read_text().splitlines(keepends=True)  # one line added, nothing else changed
    assert "".join(line for line in lines if not line.startswith("    capacity: {")) == (E2E / "profile.yaml").read_text()
    assert len(lines) == len((E2E / "profile.yaml").read_text().splitlines()) + 1

    # reproducible: a second calibration (a fresh server) agrees within SPREAD. It serves the same model file
    # through the artifact's own model-settings.json, and the request is derived from the inputs declared there
    # (zeros instead of a flower's measurements: the same work for a logistic regression)
    own = tmp_path / "own-settings"
    own.mkdir()
    (own / "model.joblib").write_bytes((artifact / "model.joblib").read_bytes())
    (own / "model-settings.json").write_text(json.dumps({
        "name": "iris-v2", "implementation": "mlserver_sklearn.SKLearnModel",
        "inputs": [{"name": "features", "datatype": "FP64", "shape": [-1, 4]}], "parameters": {"uri": "./model.joblib"},
    }))
    again = calibrate(load_profile(E2E / "profile.yaml"), MODEL, artifact=str(own), max_concurrency=MAX_CONCURRENCY,
                      step_seconds=STEP_SECONDS, cores=1, mlserver=str(mlserver))
    assert again.payload == "derived from the model's declared inputs"
    assert again.capacity is not None and all(s.errors == 0 for s in again.curve.steps)
    check_curve([s.to_dict() for s in again.curve.steps])
    best = next(s for s in steps if s["concurrency"] == capacity["concurrency"])
    first, second = best["requests_per_cpu_second"], again.curve.best.requests_per_cpu_second
    assert first and second, "the runtime's CPU use is read from /proc on Linux"
    assert max(first, second) / min(first, second) <= SPREAD, (
        f"two calibrations served {first} and {second} requests per runtime CPU-second (load average "
        f"{report['load_average']}, then {list(again.load_average)})"
    )
    rps = capacity["rps_per_replica"], again.capacity["rps_per_replica"]
    assert max(rps) / min(rps) <= RPS_SPREAD, f"two calibrations gave {rps} req/s"

