"""The drift monitor's parts: the sliding window, V2 decoding, reference loading, one model's scores, sampling."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import threading

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from mlinfra.drift.config import ModelDrift, config_from_data
from mlinfra.drift.monitor import ModelMonitor, compare_table
from mlinfra.drift.proxy import Proxy
from mlinfra.drift.reference import ReferenceSampleError, build_reference, category, load_reference, read_table
from mlinfra.drift.score import psi_to_score
from mlinfra.drift.server import DriftCollector, DriftService
from mlinfra.drift.v2 import Body, V2DecodeError, decode_inputs, decode_predictions, infer_model, parse
from mlinfra.drift.window import Window

# ---------------------------------------------------------------------------------------------------------
# window


def test_window_keeps_the_last_rows_oldest_first():
    window = Window(numeric=2, categorical=1, capacity=4)
    window.append(np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]]), np.array([["a"], ["b"], ["c"]], dtype=object))
    assert len(window) == 3
    numeric, categorical = window.snapshot()
    assert numeric[:, 0].tolist() == [1.0, 2.0, 3.0] and categorical[:, 0].tolist() == ["a", "b", "c"]
    window.append(np.array([[4.0, 40.0], [5.0, 50.0]]), np.array([["d"], ["e"]], dtype=object))
    numeric, categorical = window.snapshot()
    assert (len(window), window.total) == (4, 5)
    assert numeric[:, 1].tolist() == [20.0, 30.0, 40.0, 50.0] and categorical[:, 0].tolist() == ["b", "c", "d", "e"]


def test_a_batch_larger_than_the_window_keeps_its_last_rows():
    window = Window(numeric=1, categorical=0, capacity=3)
    window.append(np.arange(10.0).reshape(-1, 1), np.empty((10, 0), dtype=object))
    assert window.snapshot()[0][:, 0].tolist() == [7.0, 8.0, 9.0]
    assert window.total == 10


def test_window_refuses_rows_of_another_shape():
    window = Window(numeric=2, categorical=0, capacity=3)
    with pytest.raises(ValueError, match="do not fit a window of 2 numeric and 0 categorical columns"):
        window.append(np.zeros((1, 3)), np.empty((1, 0), dtype=object))


def test_window_is_safe_across_threads_and_bounded():
    window = Window(numeric=1, categorical=1, capacity=500)

    def writer(offset: float) -> None:
        for i in range(200):
            window.append(np.array([[offset + i]]), np.array([["x"]], dtype=object))

    threads = [threading.Thread(target=writer, args=(k * 1000.0,)) for k in range(4)]
    for thread in threads:
        thread.start()
    snapshots = [window.snapshot() for _ in range(50)]
    for thread in threads:
        thread.join()
    assert (len(window), window.total) == (500, 800)
    numeric, _ = window.snapshot()
    assert len(set(numeric[:, 0].tolist())) == 500  # no row written twice, none lost among the last 500
    assert all(n.shape[0] == c.shape[0] <= 500 for n, c in snapshots)
    assert window._numeric.nbytes == 500 * 8  # allocated once


# ---------------------------------------------------------------------------------------------------------
# V2 decoding


@pytest.mark.parametrize(
    ("path", "model"),
    [("/v2/models/iris/infer", "iris"), ("/v2/models/iris/versions/3/infer", "iris"), ("/v2/models/iris/ready", None),
     ("/v2/models/iris/infer/x", None), ("/v2/health/ready", None), ("/metrics", None)],
)
def test_infer_model(path, model):
    assert infer_model(path) == model


def test_one_2d_tensor_maps_columns_by_position_flat_or_nested():
    flat = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}
    nested = {"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP64", "data": [[1, 2, 3], [4, 5, 6]]}]}
    for request in (flat, nested):
        n, columns = decode_inputs(request, ("a", "b", "c"))
        assert n == 2 and {k: v.tolist() for k, v in columns.items()} == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}


def test_named_inputs_map_by_name_like_the_pandas_codec():
    request = {"parameters": {"content_type": "pd"}, "inputs": [
        {"name": "b", "shape": [2, 1], "datatype": "BYTES", "data": ["x", "y"]},
        {"name": "a", "shape": [2], "datatype": "FP32", "data": [1.5, 2.5]},
        {"name": "ignored", "shape": [2], "datatype": "FP32", "data": [0, 0]},
    ]}
    n, columns = decode_inputs(request, ("a", "b", "c"))
    assert n == 2 and {k: v.tolist() for k, v in columns.items()} == {"a": [1.5, 2.5], "b": ["x", "y"]}


def test_a_single_feature_model_reads_a_1d_input():
    request = {"inputs": [{"name": "input-0", "shape": [3], "datatype": "INT64", "data": [7, 8, 9]}]}
    assert decode_inputs(request, ("only",))[1]["only"].tolist() == [7, 8, 9]


@pytest.mark.parametrize(
    ("request_body", "message"),
    [
        pytest.param({}, "the request has no inputs list", id="no-inputs"),
        pytest.param({"inputs": [{"name": "x", "shape": [2, 2], "data": [1, 2, 3]}]},
                     "data holds 3 values, shape [2, 2] needs 4", id="size"),
        pytest.param({"inputs": [{"name": "x", "shape": [2, 4], "data": [0] * 8}]},
                     "a single input is [n, 3], one column per feature (a, b, c)", id="columns"),
        pytest.param({"inputs": [{"name": "x", "shape": [1, 3], "parameters": {"shared_memory_region": "r"}}]},
                     "data is not a list", id="shared-memory"),
        pytest.param({"inputs": [{"name": "a", "shape": [2], "data": [1, 2]}, {"name": "b", "shape": [3],
                                                                              "data": [1, 2, 3]}]},
                     "the named inputs hold different numbers of rows ([2, 3])", id="rows"),
        pytest.param({"inputs": [{"name": "a", "shape": [2, 2], "data": [1, 2, 3, 4]}]},
                     "shape [2, 2] is not one value per row", id="named-2d"),
        pytest.param({"inputs": [{"name": "x", "shape": "2", "data": [1, 2]}]}, "shape is not a list of sizes",
                     id="shape"),
    ],
)
def test_unreadable_requests_say_why(request_body, message):
    with pytest.raises(V2DecodeError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        decode_inputs(request_body, ("a", "b", "c"))


def test_predictions_are_the_named_output_else_the_first():
    response = {"outputs": [{"name": "proba", "shape": [2, 2], "data": [0.1, 0.9, 0.8, 0.2]},
                            {"name": "label", "shape": [2, 1], "data": [1, 0]}]}
    assert decode_predictions(response, "label").tolist() == [1, 0]
    with pytest.raises(V2DecodeError, match=r"output proba: shape \[2, 2\] is not one value per row"):
        decode_predictions(response, None)
    assert decode_predictions({"outputs": [{"name": "predict", "shape": [3], "data": [1, 2, 3]}]}, "label").tolist() \
        == [1, 2, 3]


def binary_body(document: dict, *tensors: bytes) -> Body:
    """A body of the binary tensor data extension: the JSON, then each tensor's bytes."""
    header = json.dumps(document).encode()
    return Body(header + b"".join(tensors), json_length=str(len(header)))


def test_binary_tensor_data_as_tritons_clients_send_it():
    values = np.array([[1.5, 2.0, -3.0], [4.0, 5.5, 6.0]], dtype="<f4")
    request = binary_body({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32",
                                       "parameters": {"binary_data_size": values.nbytes}}]}, values.tobytes())
    n, columns = decode_inputs(parse(request), ("a", "b", "c"))
    assert n == 2 and columns["b"].tolist() == [2.0, 5.5]
    words = b"".join(len(w).to_bytes(4, "little") + w for w in (b"red", b"", b"blue"))
    labels = np.array([1, 0, 1], dtype="<i8")
    response = binary_body({"outputs": [
        {"name": "color", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": len(words)}},
        {"name": "label", "shape": [3, 1], "datatype": "INT64", "parameters": {"binary_data_size": labels.nbytes}},
    ]}, words, labels.tobytes())
    document = parse(response)
    assert decode_predictions(document, None).tolist() == ["red", "", "blue"]
    assert decode_predictions(document, "label").tolist() == [1, 0, 1]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(Body(b'{"inputs": []}', json_length="99"), "Inference-Header-Content-Length '99' does not fit",
                     id="json-length"),
        pytest.param(binary_body({"inputs": [{"name": "x", "datatype": "FP64", "parameters": {"binary_data_size": 16}}]},
                                 b"\0" * 8), "binary_data_size 16 does not fit", id="short"),
        pytest.param(binary_body({"inputs": [{"name": "x", "datatype": "FP32", "parameters": {"binary_data_size": 6}}]},
                                 b"\0" * 6), "6 bytes are not a whole number of FP32 values", id="partial"),
        pytest.param(binary_body({"inputs": [{"name": "x", "datatype": "BF16", "parameters": {"binary_data_size": 2}}]},
                                 b"\0" * 2), "binary BF16 data is not read", id="bf16"),
        pytest.param(binary_body({"inputs": [{"name": "x", "datatype": "BYTES", "parameters": {"binary_data_size": 2}}]},
                                 b"\0" * 2), "BYTES data ends inside a length prefix", id="bytes"),
        pytest.param(Body(b"\x1f\x8b broken", "gzip"), "the gzip body does not decompress", id="gzip"),
    ],
)
def test_unreadable_bodies_say_why(body, message):
    with pytest.raises(V2DecodeError, match=message.replace("(", r"\(")):
        parse(body)


# ---------------------------------------------------------------------------------------------------------
# reference


@pytest.mark.parametrize(("value", "expected"), [
    (1, "1"), (1.0, "1"), ("1", "1"), ("1.0", "1"), (1.5, "1.5"), ("red", "red"), (True, "true"), (None, ""),
    (float("nan"), ""), (b"blue", "blue"),
])
def test_category_spells_values_one_way_on_both_sides(value, expected):
    assert category(value) == expected


def write(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_reference_from_csv_infers_kinds_and_keeps_feature_order(tmp_path):
    ref = write(tmp_path / "ref.csv", "size,color,zip,label\n1.5,red,1000,0\n2.5,blue,2000,1\nNA,red,1000,1\n")
    model = ModelDrift(name="m", reference=ref, prediction_column="label", categorical=("zip", "label"))
    reference = load_reference(model)
    assert [(f.name, f.categorical) for f in reference.features] == [("size", False), ("color", True), ("zip", True)]
    assert reference.rows == 3 and reference.prediction.name == "prediction" and reference.prediction.categorical
    assert reference.features[1].baseline.categories == ("blue", "red")
    assert reference.features[0].baseline.expected[-1] == pytest.approx(1 / 3)  # NA is a missing value


@pytest.mark.parametrize(
    ("text", "settings", "message"),
    [
        pytest.param("", {}, "empty; a reference CSV starts with a header row", id="empty"),
        pytest.param("a,a\n1,2\n", {}, "the header row repeats a", id="repeated-column"),
        pytest.param("a,b\n1,2\n3\n", {}, "line 3 has 1 fields, the header 2", id="ragged"),
        pytest.param("a,b\n", {}, "no rows", id="no-rows"),
        pytest.param("a,b\n1,2\n", {"features": ["a", "c"]}, "no column c (named by features / prediction_column); "
                     "the file has a, b", id="missing-column"),
        pytest.param("a,b\n1,2\n", {"categorical": ["z"]}, "categorical names z, not a compared column", id="cat"),
        pytest.param("prediction,b\n1,2\n", {"prediction_column": "b"}, "a column named 'prediction' would share",
                     id="prediction-name"),
    ],
)
def test_bad_references_name_the_file_and_the_problem(tmp_path, text, settings, message):
    ref = write(tmp_path / "ref.csv", text)
    with pytest.raises(ReferenceSampleError) as info:
        load_reference(ModelDrift(name="m", reference=ref, **settings))
    assert str(info.value).startswith(ref) or str(info.value).startswith("categorical")
    assert message in str(info.value)


def test_a_missing_reference_file_is_named(tmp_path):
    with pytest.raises(ReferenceSampleError, match="missing.csv: file not found"):
        load_reference(ModelDrift(name="m", reference=str(tmp_path / "missing.csv")))


def test_parquet_without_pyarrow_names_the_file_and_the_fix(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import fails as if it were not installed
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ReferenceSampleError, match=r"ref.parquet: reading Parquet needs pyarrow, which is not installed; "
                                             r"install `mlinfra\[parquet\]`"):
        read_table(str(tmp_path / "ref.parquet"))


def test_parquet_reference_reads_like_csv(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet", reason="pyarrow is the optional parquet extra")
    import pyarrow as pa

    path = tmp_path / "ref.parquet"
    pq.write_table(pa.table({"size": [1.5, 2.5, None], "color": ["red", "blue", "red"]}), path)
    reference = load_reference(ModelDrift(name="m", reference=str(path)))
    assert [(f.name, f.categorical) for f in reference.features] == [("size", False), ("color", True)]


# ---------------------------------------------------------------------------------------------------------
# one model's scores


def reference_table(rng: np.random.Generator, n: int) -> dict[str, list]:
    x = rng.normal(0, 1, n)
    return {"x": x.tolist(), "kind": rng.choice(["a", "b"], n).tolist(), "y": (x > 0).astype(int).tolist()}


def exchange(rng: np.random.Generator, n: int, shift: float) -> tuple[bytes, bytes]:
    x = rng.normal(shift, 1, n)
    request = {"inputs": [{"name": "x", "shape": [n], "datatype": "FP64", "data": x.tolist()},
                          {"name": "kind", "shape": [n], "datatype": "BYTES",
                           "data": rng.choice(["a", "b"], n).tolist()}]}
    response = {"outputs": [{"name": "y", "shape": [n, 1], "datatype": "INT64", "data": (x > 0).astype(int).tolist()}]}
    return json.dumps(request).encode(), json.dumps(response).encode()


@pytest.fixture
def model_monitor():
    rng = np.random.default_rng(11)
    spec = ModelDrift(name="m", reference="ref.csv", prediction_column="y", categorical=("y",), window=400,
                      min_samples=300)
    return ModelMonitor(spec, build_reference(spec, reference_table(rng, 5000), "ref.csv")), rng


def test_no_scores_below_min_samples_then_every_feature_and_the_prediction(model_monitor):
    monitor, rng = model_monitor
    for _ in range(29):
        monitor.ingest(*exchange(rng, 10, 0.0))
    scores = monitor.compute(1000.0)
    assert (scores.window_samples, scores.features, scores.computed_at) == (290, (), 1000.0)
    monitor.ingest(*exchange(rng, 10, 0.0))
    scores = monitor.compute(1001.0)
    assert [f.feature for f in scores.features] == ["kind", "prediction", "x"]
    assert all(f.score < psi_to_score(0.1) for f in scores.features), scores
    assert [f.ks is None for f in scores.features] == [True, True, False]  # KS for numeric features only
    assert monitor.latest is scores


def test_shifted_traffic_scores_high_on_the_shifted_feature_and_the_prediction(model_monitor):
    monitor, rng = model_monitor
    for _ in range(40):
        monitor.ingest(*exchange(rng, 10, 1.5))
    scores = {f.feature: f for f in monitor.compute(0.0).features}
    assert scores["x"].score > psi_to_score(0.25) and scores["x"].ks > 0.4
    assert scores["prediction"].score > psi_to_score(0.25)  # far more 1s than the reference
    assert scores["kind"].score < psi_to_score(0.1)
    assert scores["x"].score == pytest.approx(psi_to_score(scores["x"].psi))


def test_compressed_bodies_are_read_and_unreadable_ones_counted(model_monitor):
    monitor, rng = model_monitor
    request, response = exchange(rng, 5, 0.0)
    assert monitor.ingest(Body(gzip.compress(request), "gzip"), response) == 5
    with pytest.raises(V2DecodeError, match="not JSON"):
        monitor.ingest(b"{not json", response)
    with pytest.raises(V2DecodeError, match="Content-Encoding br is not sampled"):
        monitor.ingest(Body(request, "br"), response)
    assert (monitor.decode_errors, len(monitor.window)) == (2, 5)


def test_compare_table_scores_a_whole_sample(model_monitor):
    monitor, rng = model_monitor
    sample = reference_table(rng, 1000)
    sample["x"] = [v + 2 for v in sample["x"]]
    scores = {f.feature: f for f in compare_table(monitor.reference, sample, 5.0).features}
    assert scores["x"].psi > 1 and scores["kind"].psi < 0.02


# ---------------------------------------------------------------------------------------------------------
# sampling


def test_sampling_picks_watched_inference_posts_at_their_rate():
    proxy = Proxy("http://127.0.0.1:1", timeout=1, connect_timeout=1, max_sample_bytes=1024,
                  sample_rates={"m": 0.1, "all": 1.0}, offer=lambda *a: None, rng=random.Random(3))
    picked = sum(proxy.sampled("POST", "/v2/models/m/infer") == "m" for _ in range(10_000))
    assert 900 < picked < 1100
    assert proxy.sampled("POST", "/v2/models/all/versions/2/infer") == "all"
    assert proxy.sampled("GET", "/v2/models/all/infer") is None
    assert proxy.sampled("POST", "/v2/models/other/infer") is None
    assert proxy.sampled("POST", "/v2/models/all/ready") is None


def test_a_full_queue_drops_samples_and_counts_them(tmp_path):
    reference = tmp_path / "ref.csv"
    reference.write_text("x\n1\n2\n3\n")
    config = config_from_data({"queue_size": 2, "models": [{"name": "m", "reference": str(reference),
                                                            "window": 10, "min_samples": 2}]})
    service = DriftService.from_config(config)  # threads not started: nothing takes from the queue
    for _ in range(5):
        service.offer("m", Body(b"{}"), Body(b"{}"))
    assert (service.queue.qsize(), service.monitors["m"].dropped) == (2, 3)
    exposition = generate_latest(registry_of(service)).decode()
    assert 'mlinfra_model_drift_dropped_samples_total{model="m"} 3.0' in exposition
    assert 'mlinfra_model_drift_window_samples{model="m"} 0.0' in exposition
    assert "mlinfra_model_drift_score{" not in exposition  # nothing computed yet


def registry_of(service: DriftService) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DriftCollector(service))
    return registry


def test_the_config_and_score_modules_stay_light():
    """Rendering imports mlinfra.drift.config (the ConfigMap) and the rules psi_to_score: never numpy or aiohttp."""
    code = ("import sys, mlinfra.drift.config, mlinfra.drift.score; "
            "print(sorted(m for m in ('numpy', 'aiohttp', 'prometheus_client') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
