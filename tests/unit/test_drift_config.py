"""The drift monitor's config file and the PSI -> score normalisation the alert rules rely on."""

from __future__ import annotations

import math

import pytest

from mlinfra.drift.config import DriftConfigError, config_from_data, load_config, split_host_port
from mlinfra.drift.score import psi_to_score, score_to_psi

MINIMAL = {"models": [{"name": "iris", "reference": "/ref/iris.csv"}]}


def test_psi_to_score_matches_hand_computed_values():
    assert psi_to_score(0.0) == 0.0
    assert psi_to_score(0.1) == pytest.approx(1 - math.exp(-0.1)) == pytest.approx(0.0951626, abs=1e-7)
    assert psi_to_score(0.25) == pytest.approx(0.2211992, abs=1e-7)
    assert psi_to_score(1.0) == pytest.approx(0.6321206, abs=1e-7)
    assert psi_to_score(math.inf) == 1.0


@pytest.mark.parametrize("psi", [0.0, 1e-9, 0.1, 0.25, 2.0, 10.0])
def test_score_to_psi_inverts_psi_to_score(psi):
    assert score_to_psi(psi_to_score(psi)) == pytest.approx(psi, rel=1e-7, abs=1e-15)


@pytest.mark.parametrize(("func", "value"), [(psi_to_score, -0.1), (psi_to_score, math.nan), (score_to_psi, 1.5),
                                             (score_to_psi, -0.01)])
def test_out_of_range_values_are_refused(func, value):
    with pytest.raises(ValueError, match=f"got {value}"):
        func(value)


def test_minimal_config_takes_the_documented_defaults():
    config = config_from_data(MINIMAL)
    assert (config.listen, config.upstream, config.metrics_listen) == ("0.0.0.0:8090", "http://127.0.0.1:8080",
                                                                      "0.0.0.0:9102")
    model = config.model("iris")
    assert (model.sample_rate, model.window, model.min_samples, model.bins, model.interval_seconds) == (
        0.1, 2000, 500, 10, 15.0)
    assert model.features is None and model.prediction_column is None and model.categorical == ()
    assert config.model("other") is None


def test_load_config_reads_yaml_and_json(tmp_path):
    yaml_file = tmp_path / "drift.yaml"
    yaml_file.write_text("upstream: http://127.0.0.1:8081/\nmodels:\n  - name: iris\n    reference: r.parquet\n"
                         "    features: [a, b]\n    window: 500\n    min_samples: 50\n")
    config = load_config(yaml_file)
    assert config.upstream == "http://127.0.0.1:8081"
    assert config.models[0].features == ("a", "b")
    json_file = tmp_path / "drift.json"
    json_file.write_text('{"models": [{"name": "m-1", "reference": "m.CSV", "sample_rate": 1}]}')
    assert load_config(json_file).models[0].sample_rate == 1.0


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param({"models": [{"name": "iris", "reference": "s3://bucket/iris.csv"}]},
                     "models[0].reference: must be a local path", id="object-store"),
        pytest.param({"models": [{"name": "iris", "reference": "iris.json"}]},
                     "models[0].reference: must be a .csv or .parquet file (got 'iris.json')", id="format"),
        pytest.param({"models": [{"name": "iris", "reference": "a.csv", "windw": 5}]},
                     "models[0].windw: unknown field; did you mean 'window'?", id="typo"),
        pytest.param({"models": [{"name": "iris", "reference": "a.csv", "sample_rate": 0}]},
                     "models[0].sample_rate: input should be greater than 0 (got 0)", id="sample-rate"),
        pytest.param({"models": [{"name": "iris", "reference": "a.csv", "window": 100, "min_samples": 101}]},
                     "models[0]: min_samples (101) is larger than window (100)", id="min-samples"),
        pytest.param({"models": [{"name": "iris", "reference": "a.csv", "features": ["a", "a"]}]},
                     "models[0].features: names each column once; repeated: a", id="repeated-feature"),
        pytest.param({"models": [{"name": "iris", "reference": "a.csv", "features": ["a"], "prediction_column": "a"}]},
                     "prediction_column 'a' is also listed in features", id="prediction-is-feature"),
        pytest.param({"models": [{"name": "a/b", "reference": "a.csv"}]},
                     "models[0].name: string should match pattern", id="name-with-slash"),
        pytest.param({"models": []}, "models: lists no model", id="no-models"),
        pytest.param({}, "models: required field is missing", id="models-missing"),
        pytest.param({**MINIMAL, "listen": "8090"}, "listen: must be host:port", id="listen"),
        pytest.param({**MINIMAL, "metrics_listen": "0.0.0.0:8090"}, "use the same port", id="same-port"),
        pytest.param({**MINIMAL, "upstream": "http://127.0.0.1:8080/v2"}, "upstream: must be an http(s) base URL",
                     id="upstream-path"),
        pytest.param({"models": [MINIMAL["models"][0]] * 2}, "each model is listed once; repeated: iris",
                     id="repeated-model"),
        pytest.param([1], "the drift monitor's config is a mapping of fields (got list)", id="not-a-mapping"),
    ],
)
def test_bad_configs_name_the_field_and_what_was_found(data, expected):
    with pytest.raises(DriftConfigError) as info:
        config_from_data(data, "drift.yaml")
    assert str(info.value).startswith("drift.yaml: ")
    assert expected in str(info.value)


def test_load_config_reports_file_problems(tmp_path):
    with pytest.raises(DriftConfigError, match="missing.yaml: 1 problem\n  file not found"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n")
    with pytest.raises(DriftConfigError, match="YAML syntax error"):
        load_config(bad)


def test_split_host_port():
    assert split_host_port("0.0.0.0:8090") == ("0.0.0.0", 8090)
    assert split_host_port("[::]:9102") == ("::", 9102)
    with pytest.raises(ValueError, match="port 1-65535"):
        split_host_port("localhost:70000")
