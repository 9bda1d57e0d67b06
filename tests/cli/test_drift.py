"""`mlinfra drift check` and `drift serve`'s errors: exit codes, messages naming the field, JSON output."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from click.testing import CliRunner

from mlinfra.cli.main import cli
from mlinfra.drift.score import psi_to_score

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


def csv(path, rng: np.random.Generator, n: int, shift: float, new_category: bool = False) -> str:
    x = rng.normal(shift, 1, n)
    kinds = rng.choice(["a", "b"], n).tolist()
    if new_category:
        kinds = ["c" if i % 5 == 0 else k for i, k in enumerate(kinds)]
    lines = ["x,kind,y", *(f"{v:.5f},{k},{int(v > 0)}" for v, k in zip(x, kinds))]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(31)
    return {
        "reference": csv(tmp_path / "ref.csv", rng, 4000, 0.0),
        "same": csv(tmp_path / "same.csv", rng, 1000, 0.0),
        "shifted": csv(tmp_path / "shifted.csv", rng, 1000, 0.8, new_category=True),
        "config": tmp_path / "drift.yaml",
    }


def test_check_json_reports_every_feature_with_levels(files):
    result = run("drift", "check", "--reference", files["reference"], "--sample", files["shifted"],
                 "--prediction-column", "y", "--categorical", "y", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    rows = {r["feature"]: r for r in report["features"]}
    assert set(rows) == {"x", "kind", "prediction"}
    assert (rows["x"]["kind"], rows["kind"]["kind"], rows["prediction"]["kind"]) == ("numeric", "categorical",
                                                                                      "categorical")
    assert rows["x"]["level"] == rows["kind"]["level"] == "page"  # mean + 0.8 sd; 20 % of a new category
    assert rows["x"]["score"] == pytest.approx(psi_to_score(rows["x"]["psi"]), abs=1e-6)
    assert rows["kind"]["ks"] is None and 0 < rows["x"]["ks"] < 1
    assert (report["sample_rows"], report["reference_rows"], report["enough_samples"]) == (1000, 4000, True)
    assert report["thresholds"] == {"page_psi": 0.25, "page_score": 0.221199, "warn_psi": 0.1, "warn_score": 0.095163}
    assert report["max_score"] == max(r["score"] for r in report["features"])


def test_check_table_for_unshifted_data_is_ok(files):
    result = run("drift", "check", "--reference", files["reference"], "--sample", files["same"])
    assert result.exit_code == 0, result.output
    lines = [line.split() for line in result.output.splitlines() if line.startswith("│")]
    levels = {cells[1]: cells[-2] for cells in lines if cells[1] in ("x", "kind", "y")}
    assert levels == {"x": "ok", "kind": "ok", "y": "ok"}, result.output


def test_check_reads_the_model_from_the_monitor_config(files):
    files["config"].write_text(f"models:\n  - name: churn\n    reference: {files['reference']}\n"
                               "    features: [x]\n    min_samples: 1500\n    window: 3000\n")
    result = run("drift", "check", "--config", str(files["config"]), "--sample", files["same"], "--format", "json")
    report = json.loads(result.output)
    assert [r["feature"] for r in report["features"]] == ["x"]
    assert (report["model"], report["min_samples"], report["enough_samples"]) == ("churn", 1500, False)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--sample", "{same}"], 2, "pass --config FILE (the monitor's config) or --reference FILE",
                     id="no-reference"),
        pytest.param(["--sample", "{same}", "--reference", "{dir}/ref.json"], 2,
                     "Invalid value for '--reference': must be a .csv or .parquet file", id="reference-format"),
        pytest.param(["--sample", "{same}", "--reference", "{reference}", "--bins", "1"], 2,
                     "Invalid value for '--bins': input should be greater than or equal to 2 (got 1)", id="bins"),
        pytest.param(["--sample", "{same}", "--reference", "{dir}/missing.csv"], 1, "missing.csv: file not found",
                     id="missing-reference"),
        pytest.param(["--sample", "{same}", "--reference", "{reference}", "--categorical", "nope"], 1,
                     "categorical names nope, not a compared column", id="categorical"),
        pytest.param(["--sample", "{same}", "--config", "{dir}/drift.yaml"], 1,
                     "drift.yaml: 1 problem\n  models[0].windw: unknown field; did you mean 'window'?", id="config"),
        pytest.param(["--sample", "{same}", "--reference", "{reference}", "--page-psi", "0.05"], 2,
                     "0.05 is below --warn-psi 0.1", id="thresholds"),
    ],
)
def test_check_errors_name_the_option_or_field(files, tmp_path, args, code, message):
    files["config"].write_text(f"models:\n  - name: m\n    reference: {files['reference']}\n    windw: 5\n")
    args = [a.format(dir=tmp_path, **{k: v for k, v in files.items() if k != "config"}) for a in args]
    result = run("drift", "check", *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_serve_reports_a_bad_config_and_a_bad_reference_without_traceback(tmp_path):
    config = tmp_path / "drift.yaml"
    config.write_text("models:\n  - name: iris\n    reference: s3://bucket/iris.csv\n")
    result = run("drift", "serve", "--config", str(config))
    assert result.exit_code == 1
    assert f"{config}: 1 problem\n  models[0].reference: must be a local path" in result.output
    config.write_text(f"models:\n  - name: iris\n    reference: {tmp_path}/iris.csv\n")
    result = run("drift", "serve", "--config", str(config))
    assert result.exit_code == 1
    assert f"{config}: models[0].reference (iris): {tmp_path}/iris.csv: file not found" in result.output


def test_drift_help_teaches_the_two_commands():
    result = run("drift", "--help")
    assert result.exit_code == 0
    assert "mlinfra drift serve --config drift.yaml" in result.output and "check" in result.output


def test_a_missing_drift_extra_is_named_with_the_fix(monkeypatch):
    real = importlib.import_module

    def without_aiohttp(name, *args):
        if name == "mlinfra.cli.commands.drift_serve":
            raise ModuleNotFoundError("No module named 'aiohttp'", name="aiohttp")
        return real(name, *args)

    monkeypatch.setattr(importlib, "import_module", without_aiohttp)
    result = run("drift", "serve", "--config", "drift.yaml")
    assert result.exit_code == 1
    assert "mlinfra drift serve needs the drift extra (aiohttp is not installed): pip install 'mlinfra[drift]'" \
        in result.output
