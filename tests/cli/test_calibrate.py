"""`mlinfra calibrate`: what it refuses before starting anything, each message naming the option or field.
(The real measurement runs in tests/tools/test_calibrate.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
REPO = Path(__file__).resolve().parents[2]
E2E = REPO / "tests" / "e2e" / "profile.yaml"


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, ["calibrate", *args], catch_exceptions=False)


def onnx_profile(tmp_path: Path) -> Path:
    data = yaml.safe_load(E2E.read_text())
    data["models"][0]["framework"] = "onnx"
    path = tmp_path / "onnx.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--model", "nope", "--artifact", "."], 1,
                     "--model 'nope' is not in the profile; its models: iris", id="unknown-model"),
        pytest.param(["--model", "iris", "--mlserver", "/bin/true"], 1,
                     "--artifact PATH is needed: models[].artifact of 'iris' is pvc://models/iris/v1", id="no-artifact"),
        pytest.param(["--model", "iris", "--artifact", "/nonexistent/model", "--mlserver", "/bin/true"], 1,
                     "--artifact '/nonexistent/model': no such file or directory", id="missing-artifact"),
        pytest.param(["--model", "iris", "--artifact", ".", "--mlserver", "/nonexistent/mlserver"], 1,
                     "--mlserver '/nonexistent/mlserver' is not an executable file", id="bad-mlserver"),
        pytest.param(["--model", "iris", "--artifact", ".", "--mlserver", "/bin/true", "--payload", "/nonexistent.json"],
                     1, "--payload '/nonexistent.json': file not found", id="missing-payload"),
        pytest.param(["--model", "iris", "--force"], 2, "--force only applies together with --write", id="force-alone"),
        pytest.param(["--model", "iris", "--plot", "curve.pdf"], 2, "'curve.pdf' is neither .svg nor .png",
                     id="plot-type"),
        pytest.param(["--model", "iris", "--max-concurrency", "0"], 2, "--max-concurrency", id="no-concurrency"),
        pytest.param(["--model", "iris", "--cores", "4096"], 2, "--cores", id="cores-range"),
    ],
)
def test_refusals_name_the_option(args, code, message):
    result = run(str(E2E), *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_payload_that_is_no_v2_request_is_refused(tmp_path: Path):
    payload = tmp_path / "body.json"
    payload.write_text('{"instances": [[1, 2]]}')
    result = run(str(E2E), "--model", "iris", "--artifact", ".", "--mlserver", "/bin/true", "--payload", str(payload))
    assert result.exit_code == 1
    assert f"--payload '{payload}' is not a V2 inference request: expected a JSON object with a non-empty \"inputs\"" \
        in result.output


def test_a_runtime_that_does_not_run_here_is_named_with_what_it_needs(tmp_path: Path):
    result = run(str(onnx_profile(tmp_path)), "--model", "iris", "--artifact", ".")
    assert result.exit_code == 1
    assert ("framework 'onnx' is served by NVIDIA Triton Inference Server; calibrate starts runtimes on this host and "
            "this one needs NVIDIA Triton (tritonserver), which ships as the container image "
            "nvcr.io/nvidia/tritonserver:26.01-py3") in result.output
    assert "record the result in models[].capacity by hand" in result.output


def test_write_refuses_to_replace_a_capacity_without_force_before_measuring(tmp_path: Path):
    text = E2E.read_text().replace(
        "    slo: {latency_p95_ms: 120, availability: 0.99}\n",
        "    slo: {latency_p95_ms: 120, availability: 0.99}\n"
        "    capacity: {rps_per_replica: 300, concurrency: 4, p95_ms: 20, measured_on: 2026-11-02, cpu: x, cores: 1, "
        "runtime: mlserver 1.7.1}\n",
    )
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    result = run(str(path), "--model", "iris", "--artifact", "/nonexistent", "--write")
    assert result.exit_code == 1
    assert "--write: model 'iris' already has a capacity (measured 2026-11-02); pass --force to replace it" in result.output
    assert path.read_text() == text
