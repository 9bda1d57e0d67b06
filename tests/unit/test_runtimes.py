"""The runtime catalog: framework -> runtime, pinned images, ports and the contract the manifests rely on."""

from __future__ import annotations

import pytest

from mlinfra.profiles.model import Framework
from mlinfra.runtimes.catalog import MODEL_DIR, RUNTIMES, runtime_for


@pytest.mark.parametrize(
    ("framework", "runtime"),
    [
        pytest.param("sklearn", "mlserver", id="sklearn"),
        pytest.param("xgboost", "mlserver", id="xgboost"),
        pytest.param("lightgbm", "mlserver", id="lightgbm"),
        pytest.param("onnx", "triton", id="onnx"),
        pytest.param("pytorch", "triton", id="pytorch"),
        pytest.param("tensorflow", "triton", id="tensorflow"),
        pytest.param("llm", "vllm", id="llm"),
        pytest.param("huggingface", "tgi", id="huggingface"),
        pytest.param("custom", "custom", id="custom"),
    ],
)
def test_runtime_for_framework(framework, runtime):
    assert runtime_for(framework) == runtime


def test_every_profile_framework_has_a_runtime():
    assert {runtime_for(f) for f in Framework.__args__} == set(RUNTIMES)


def test_unknown_framework_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"^no serving runtime for framework 'jax'; known: custom, huggingface, "):
        runtime_for("jax")


@pytest.mark.parametrize("key", [pytest.param(k, id=k) for k in RUNTIMES if k != "custom"])
def test_images_are_pinned_to_a_version_tag(key):
    image = RUNTIMES[key].image
    name, _, tag = image.rpartition(":")
    assert name and tag and tag != "latest" and any(c.isdigit() for c in tag), image


@pytest.mark.parametrize("key", [pytest.param(k, id=k) for k in RUNTIMES])
def test_runtime_contract(key):
    r = RUNTIMES[key]
    assert r.run_as_user > 0, "non-root"
    assert ("tmp", "/tmp") in r.writable_dirs, "init containers and runtimes share the tmp emptyDir"
    ports = [p for p in (r.http_port, r.grpc_port, r.metrics_port) if p is not None]
    assert all(1024 < p < 65536 for p in ports), "a non-root user without capabilities cannot bind ports < 1024"
    assert len(set(ports)) == len(ports) or r.metrics_on_http_port
    assert r.metrics_path == "/metrics"
    assert r.startup_seconds >= 60


def test_mlserver_loads_the_model_from_the_environment():
    r = RUNTIMES["mlserver"]
    env = {e["name"]: e["value"] for e in r.container_env("fraud-v2", "xgboost")}
    assert env["MLSERVER_MODEL_NAME"] == "fraud-v2"
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_xgboost.XGBoostModel"
    assert env["MLSERVER_MODEL_URI"] == MODEL_DIR
    assert (env["MLSERVER_HTTP_PORT"], env["MLSERVER_GRPC_PORT"], env["MLSERVER_METRICS_PORT"]) == ("8080", "8081", "8082")
    assert env["MLSERVER_METRICS_DIR"].startswith("/tmp/") and env["MLSERVER_ENVIRONMENTS_DIR"].startswith("/tmp/")
    assert r.container_command("fraud-v2", "xgboost") == ["mlserver", "start", MODEL_DIR]
    assert r.implementation("sklearn") == "mlserver_sklearn.SKLearnModel"
    assert r.implementation("lightgbm") == "mlserver_lightgbm.LightGBMModel"


def test_triton_and_vllm_arguments():
    assert RUNTIMES["triton"].container_args("det", "onnx")[0] == f"--model-repository={MODEL_DIR}"
    assert RUNTIMES["vllm"].container_args("chat-7", "llm") == [
        "--model", MODEL_DIR, "--served-model-name", "chat-7", "--port", "8000",
    ]
    assert RUNTIMES["tgi"].container_args("sum", "huggingface")[:2] == ["--model-id", MODEL_DIR]


def test_metrics_location_per_runtime():
    assert [(k, r.metrics_port, r.metrics_on_http_port) for k, r in RUNTIMES.items()] == [
        ("mlserver", 8082, False),
        ("triton", 8002, False),
        ("vllm", 8000, True),
        ("tgi", 8080, True),
        ("custom", 8080, True),
    ]
