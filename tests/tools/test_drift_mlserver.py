"""`mlinfra drift serve` in front of a real MLServer (.tools/mlserver, a scikit-learn iris model): MLServer's own
answers come back through the proxy - inference, readiness, errors - and the drift scores, scraped from /metrics,
are low for iris-like traffic and high once petal length shifts, for the feature and the predicted class."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlinfra.drift.score import psi_to_score

pytestmark = pytest.mark.tools

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
TRAIN = """
import csv, sys, joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
x, y = load_iris(return_X_y=True)
model = LogisticRegression(max_iter=500).fit(x, y)
joblib.dump(model, sys.argv[1] + "/iris/model.joblib")
with open(sys.argv[1] + "/reference.csv", "w", newline="") as fh:
    out = csv.writer(fh)
    out.writerow(["sepal_length", "sepal_width", "petal_length", "petal_width", "label"])
    for row, label in zip(x, model.predict(x)):
        out.writerow([*row, int(label)])
"""
WINDOW, MIN_SAMPLES, BATCH = 300, 150, 10


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port: int, method: str, path: str, body: dict | None = None) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def wait(what: str, check, timeout: float, logs: list[Path]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"{what} within {timeout} s\n" + "\n".join(p.read_text()[-3000:] for p in logs if p.exists()))


def scores(metrics_port: int) -> tuple[dict[str, float], float, float]:
    """(score per feature, rows sampled so far, when the scores were computed) from a real scrape."""
    status, _, body = call(metrics_port, "GET", "/metrics")
    assert status == 200
    found, rows, computed = {}, 0.0, 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "mlinfra_model_drift_score":
                found[sample.labels["feature"]] = sample.value
            elif sample.name == "mlinfra_model_drift_sampled_rows_total":
                rows = sample.value
            elif sample.name == "mlinfra_model_drift_last_computed_timestamp_seconds":
                computed = sample.value
    return found, rows, computed


def scores_after(stack, rows: int) -> dict[str, float]:
    """The scores once `rows` rows were sampled and computed over."""
    wait(f"{rows} rows were not sampled", lambda: scores(stack["metrics"])[1] == rows, 20, stack["logs"])
    since = time.time()
    wait("no computation followed", lambda: scores(stack["metrics"])[2] > since, 10, stack["logs"])
    return scores(stack["metrics"])[0]


@pytest.fixture(scope="module")
def stack(tools_dir, tmp_path_factory):
    mlserver = tools_dir / "mlserver" / "bin"
    if not (mlserver / "mlserver").exists():
        pytest.fail(f"{mlserver}/mlserver is missing: `make tools` installs MLServer")
    tmp = tmp_path_factory.mktemp("drift-mlserver")
    (tmp / "iris").mkdir()
    subprocess.run([str(mlserver / "python"), "-c", TRAIN, str(tmp)], check=True, timeout=120, capture_output=True)
    http_port, proxy_port, metrics_port = free_port(), free_port(), free_port()
    (tmp / "settings.json").write_text(json.dumps({
        "parallel_workers": 0, "host": "127.0.0.1", "http_port": http_port, "grpc_port": free_port(),
        "metrics_port": free_port(), "metrics_dir": str(tmp / "metrics")}))
    (tmp / "iris" / "model-settings.json").write_text(json.dumps({
        "name": "iris", "implementation": "mlserver_sklearn.SKLearnModel", "parameters": {"uri": "./model.joblib"}}))
    (tmp / "drift.yaml").write_text(json.dumps({
        "listen": f"127.0.0.1:{proxy_port}", "metrics_listen": f"127.0.0.1:{metrics_port}",
        "upstream": f"http://127.0.0.1:{http_port}",
        "models": [{"name": "iris", "reference": str(tmp / "reference.csv"), "prediction_column": "label",
                    "categorical": ["label"], "sample_rate": 1, "window": WINDOW, "min_samples": MIN_SAMPLES,
                    "interval_seconds": 0.2}]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")}
    logs = [tmp / "mlserver.log", tmp / "drift.log"]
    server = subprocess.Popen([str(mlserver / "mlserver"), "start", str(tmp)], cwd=tmp, env=env,
                              stdout=logs[0].open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    monitor = subprocess.Popen([str(Path(sys.executable).with_name("mlinfra")), "drift", "serve", "--config",
                                str(tmp / "drift.yaml")], stdout=logs[1].open("w"), stderr=subprocess.STDOUT)
    try:
        wait("MLServer was not ready", lambda: call(http_port, "GET", "/v2/models/iris/ready")[0] == 200, 120, logs)
        wait("the monitor was not ready", lambda: call(metrics_port, "GET", "/readyz")[0] == 200, 30, logs)
        yield {"proxy": proxy_port, "metrics": metrics_port, "direct": http_port, "logs": logs,
               "reference": np.loadtxt(tmp / "reference.csv", delimiter=",", skiprows=1)[:, :4]}
    finally:
        monitor.send_signal(signal.SIGTERM)
        os.killpg(server.pid, signal.SIGTERM)
        for process in (monitor, server):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def send(stack, rng: np.random.Generator, rows: int, petal_shift: float) -> None:
    """Iris rows drawn from the reference (its values are measured to 0.1 cm: noise would move them across the
    bin edges, which are reference values), half as one [n, 4] tensor, half as named inputs."""
    for i in range(rows // BATCH):
        x = stack["reference"][rng.integers(0, len(stack["reference"]), BATCH)].copy()
        x[:, 2] += petal_shift
        if i % 2:
            inputs = [{"name": "input-0", "shape": [BATCH, 4], "datatype": "FP64", "data": x.round(3).tolist()}]
            body = {"inputs": inputs}
        else:  # MLServer's pandas codec: one input per column
            inputs = [{"name": f, "shape": [BATCH, 1], "datatype": "FP64", "data": x[:, j].round(3).tolist()}
                      for j, f in enumerate(FEATURES)]
            body = {"inputs": inputs, "parameters": {"content_type": "pd"}}
        status, _, answer = call(stack["proxy"], "POST", "/v2/models/iris/infer", body)
        assert status == 200, answer
        assert json.loads(answer)["outputs"][0]["shape"] in ([BATCH, 1], [BATCH])


def test_mlservers_answers_pass_through(stack):
    for method, path, body in [("GET", "/v2/models/iris/ready", None), ("GET", "/v2/models/nope/ready", None),
                               ("GET", "/v2/health/live", None), ("GET", "/v2/models/iris", None),
                               ("POST", "/v2/models/nope/infer", {"inputs": []}),
                               ("POST", "/v2/models/iris/infer", {"inputs": [{"name": "x"}]})]:
        direct = call(stack["direct"], method, path, body)
        proxied = call(stack["proxy"], method, path, body)
        assert (proxied[0], proxied[2]) == (direct[0], direct[2]), path
        content_type = [{k.lower(): v for k, v in answer[1].items()}.get("content-type") for answer in (direct, proxied)]
        assert content_type[0] == content_type[1], path
    assert call(stack["proxy"], "GET", "/v2/models/nope/ready")[0] == 404
    assert call(stack["proxy"], "POST", "/v2/models/iris/infer", {"inputs": [{"name": "x"}]})[0] == 422


def test_scores_low_for_iris_like_traffic_high_after_a_shift(stack):
    rng = np.random.default_rng(4)
    send(stack, rng, WINDOW // 3, 0.0)
    assert scores_after(stack, WINDOW // 3) == {}, "no score below min_samples"
    send(stack, rng, WINDOW - WINDOW // 3, 0.0)
    steady = scores_after(stack, WINDOW)
    assert set(steady) == {*FEATURES, "prediction"}
    assert max(steady.values()) < psi_to_score(0.1), steady

    send(stack, rng, WINDOW, 2.0)  # petal length 2 cm longer: the whole window is shifted traffic
    shifted = scores_after(stack, 2 * WINDOW)
    assert shifted["petal_length"] > psi_to_score(0.25), shifted
    assert shifted["prediction"] > psi_to_score(0.1), shifted  # longer petals: more virginica, fewer setosa
    assert max(shifted[f] for f in ("sepal_length", "sepal_width", "petal_width")) < psi_to_score(0.1), shifted
