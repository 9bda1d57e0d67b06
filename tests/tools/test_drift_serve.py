"""`mlinfra drift serve` as a real process on loopback, in front of a small V2 upstream: requests and answers pass
through unchanged (errors included), and /metrics - scraped for real, parsed with prometheus_client's parser - shows
no score below min_samples, a high score for shifted traffic and a low one for unshifted traffic."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from mlinfra.drift.score import psi_to_score

pytestmark = pytest.mark.tools

FEATURES = ("f_alpha", "f_beta", "f_gamma", "f_delta")
COLORS = ("red", "green", "blue")
WINDOW, MIN_SAMPLES, BATCH = 300, 200, 10
STARTUP_TIMEOUT_S = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(BaseHTTPRequestHandler):
    """A V2 model server stand-in: infer answers with the row sums; /echo returns what it received; /fail is a 500."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_GET(self):
        if self.path == "/v2/health/ready":
            self._send(200, b"", {})
        elif self.path == "/chunked":  # no Content-Length: the proxy streams it
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for chunk in (b"first,", b"second,", b"third"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path.startswith("/echo"):
            self._echo(b"")
        else:
            self._send(404, b'{"error":"Model not found"}', {"Content-Type": "application/json"})

    def do_POST(self):
        body = self._body()
        if self.path.startswith("/echo"):
            return self._echo(body)
        if self.path == "/fail":
            return self._send(500, b'{"error":"boom"}', {"Content-Type": "application/json", "X-Upstream": "failed"})
        if self.path == "/slow":
            time.sleep(3)
            return self._send(200, b"late", {})
        if self.headers.get("X-Reject"):
            return self._send(422, b'{"error":"bad input"}', {"Content-Type": "application/json"})
        if self.headers.get("Inference-Header-Content-Length"):  # binary tensor data: answer n zeros
            rows_sent = json.loads(body[:int(self.headers["Inference-Header-Content-Length"])])["inputs"][0]["shape"][0]
            answer = {"outputs": [{"name": "predict", "shape": [rows_sent], "datatype": "FP64", "data": [0] * rows_sent}]}
            return self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
        request = json.loads(body)
        inputs = request["inputs"]
        if len(inputs) == 1:
            rows = np.asarray(inputs[0]["data"], dtype=object).reshape(inputs[0]["shape"])[:, :4].astype(float)
        else:
            rows = np.column_stack([np.asarray(i["data"], dtype=float) for i in inputs if i["name"] in FEATURES])
        sums = rows.sum(axis=1).tolist()
        answer = {"model_name": self.path.split("/")[3], "outputs": [
            {"name": "predict", "shape": [len(sums), 1], "datatype": "FP64", "data": sums}]}
        self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json", "X-Model": "yes"})

    def _echo(self, body: bytes) -> None:
        seen = {"method": self.command, "path": self.path, "headers": sorted(self.headers.items()),
                "body": body.decode("latin-1")}
        self._send(207, json.dumps(seen).encode(), {"Content-Type": "application/json", "X-Echo": "1",
                                                     "Set-Cookie": "a=1; Path=/"})


def rows(rng: np.random.Generator, n: int, shift: float) -> tuple[np.ndarray, list[str]]:
    numbers = rng.normal(loc=[0.0, 5.0, -2.0, 10.0], scale=[1.0, 2.0, 0.5, 3.0], size=(n, 4))
    numbers[:, 0] += shift
    colors = rng.choice(COLORS, size=n, p=[0.5, 0.3, 0.2]).tolist()
    if shift:
        colors = ["purple" if i % 4 == 0 else c for i, c in enumerate(colors)]  # a category the reference lacks
    return numbers, colors


@pytest.fixture(scope="module")
def monitor(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("drift")
    rng = np.random.default_rng(20260)
    numbers, colors = rows(rng, 3000, 0.0)
    lines = [",".join([*FEATURES, "color", "label"])]
    lines += [",".join([*(f"{v:.6f}" for v in row), c, f"{row.sum():.6f}"]) for row, c in zip(numbers, colors)]
    (tmp / "reference.csv").write_text("\n".join(lines) + "\n")

    upstream = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    listen, metrics = free_port(), free_port()
    model = {"reference": str(tmp / "reference.csv"), "prediction_column": "label", "sample_rate": 1,
             "window": WINDOW, "min_samples": MIN_SAMPLES, "interval_seconds": 0.2}
    config = {"listen": f"127.0.0.1:{listen}", "metrics_listen": f"127.0.0.1:{metrics}",
              "upstream": f"http://127.0.0.1:{upstream.server_address[1]}", "upstream_timeout_seconds": 1,
              "max_sample_bytes": 65536,
              "models": [{"name": "steady", **model}, {"name": "shifted", **model}]}
    process = start(tmp, config)
    yield {"proxy": listen, "metrics": metrics, "upstream": upstream, "rng": rng, "log": tmp / "drift.log",
           "process": process}
    if process.poll() is None:
        process.kill()
        process.wait(10)
    upstream.shutdown()


def start(tmp: Path, config: dict) -> subprocess.Popen:
    """`mlinfra drift serve` with `config`, once /readyz answers 200."""
    (tmp / "drift.yaml").write_text(json.dumps(config))
    log = (tmp / "drift.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("mlinfra")), "drift", "serve", "--config", str(tmp / "drift.yaml")],
        stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"},
    )
    metrics = int(config["metrics_listen"].rsplit(":", 1)[1])
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while True:
        try:
            if request(metrics, "GET", "/readyz")[0] == 200:
                return process
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"mlinfra drift serve did not become ready:\n{(tmp / 'drift.log').read_text()}")
        time.sleep(0.1)


def request(port: int, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def infer(port: int, model: str, payload: dict) -> dict:
    status, _, body = request(port, "POST", f"/v2/models/{model}/infer", json.dumps(payload).encode(),
                              {"Content-Type": "application/json"})
    assert status == 200, body
    return json.loads(body)


def send(monitor, model: str, n: int, shift: float) -> None:
    """n rows in batches of BATCH, in the two layouts the monitor reads (one per model)."""
    for _ in range(n // BATCH):
        numbers, colors = rows(monitor["rng"], BATCH, shift)
        if model == "steady":  # MLServer's pandas codec: one named input per column
            inputs = [{"name": f, "shape": [BATCH, 1], "datatype": "FP64", "data": numbers[:, i].tolist()}
                      for i, f in enumerate(FEATURES)]
            inputs.append({"name": "color", "shape": [BATCH, 1], "datatype": "BYTES", "data": colors})
        else:  # one 2-D tensor, columns in the reference's order (nested data)
            data = [[*row.tolist(), c] for row, c in zip(numbers, colors)]
            inputs = [{"name": "input-0", "shape": [BATCH, 5], "datatype": "BYTES", "data": data}]
        answer = infer(monitor["proxy"], model, {"inputs": inputs})
        assert answer["outputs"][0]["shape"] == [BATCH, 1]


def scrape(monitor) -> dict[str, dict[tuple, float]]:
    """{metric sample name: {sorted label items: value}} from a real GET /metrics."""
    status, headers, body = request(monitor["metrics"], "GET", "/metrics")
    assert status == 200 and headers["Content-Type"].startswith("text/plain")
    found: dict[str, dict[tuple, float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def wait_for_computation(monitor, samples: dict[str, int]) -> dict[str, dict[tuple, float]]:
    """The scrape after both models' windows hold `samples` rows and were scored since."""
    start = time.time()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        metrics = scrape(monitor)
        window = metrics.get("mlinfra_model_drift_window_samples", {})
        computed = metrics.get("mlinfra_model_drift_last_computed_timestamp_seconds", {})
        if all(window.get((("model", m),)) == n and computed.get((("model", m),), 0) > start + 0.05
               for m, n in samples.items()):
            return metrics
        time.sleep(0.1)
    pytest.fail(f"the windows never reached {samples}: {scrape(monitor)}\n{monitor['log'].read_text()}")


def by_feature(metrics, name: str, model: str) -> dict[str, float]:
    return {dict(labels)["feature"]: value for labels, value in metrics.get(name, {}).items()
            if dict(labels)["model"] == model}


def test_requests_and_answers_pass_through_unchanged(monitor):
    body = b'{"any": "bytes", "\xc3\xa9": 1}'
    status, headers, answer = request(monitor["proxy"], "POST", "/echo/x?a=1&b=%20", body,
                                      {"Content-Type": "application/x-custom", "X-Trace": "t-17",
                                       "Authorization": "Bearer abc", "Connection": "keep-alive"})
    assert status == 207 and headers["X-Echo"] == "1" and headers["Set-Cookie"] == "a=1; Path=/"
    seen = json.loads(answer)
    assert (seen["method"], seen["path"], seen["body"].encode("latin-1")) == ("POST", "/echo/x?a=1&b=%20", body)
    received = dict(seen["headers"])
    assert received["Content-Type"] == "application/x-custom" and received["X-Trace"] == "t-17"
    assert received["Authorization"] == "Bearer abc" and received["Content-Length"] == str(len(body))
    # nothing added by the proxy (http.client itself sends Host and Accept-Encoding: identity)
    assert set(received) == {"Host", "Accept-Encoding", "Content-Type", "X-Trace", "Authorization", "Content-Length"}

    packed = gzip.compress(b'{"inputs": []}')  # compressed bodies stay compressed
    status, _, answer = request(monitor["proxy"], "POST", "/echo/gz", packed, {"Content-Encoding": "gzip"})
    assert json.loads(answer)["body"].encode("latin-1") == packed
    assert ("Content-Encoding", "gzip") in [tuple(h) for h in json.loads(answer)["headers"]]

    status, headers, answer = request(monitor["proxy"], "POST", "/fail", b"{}")
    assert (status, answer, headers["X-Upstream"]) == (500, b'{"error":"boom"}', "failed")
    status, _, answer = request(monitor["proxy"], "GET", "/v2/models/unknown/ready")
    assert (status, answer) == (404, b'{"error":"Model not found"}')
    status, _, answer = request(monitor["proxy"], "GET", "/v2/health/ready")
    assert (status, answer) == (200, b"")
    status, _, answer = request(monitor["proxy"], "POST", "/v2/models/steady/infer", b"{}", {"X-Reject": "1"})
    assert (status, answer) == (422, b'{"error":"bad input"}')


@pytest.mark.parametrize(("method", "path"), [("GET", "/v2/health/ready"), ("GET", "/v2/models/x/ready"),
                                             ("POST", "/fail"), ("HEAD", "/v2/health/ready"), ("GET", "/echo/h")])
def test_answers_carry_the_upstreams_status_headers_and_body(monitor, method, path):
    direct = request(monitor["upstream"].server_address[1], method, path, b"" if method == "POST" else None)
    proxied = request(monitor["proxy"], method, path, b"" if method == "POST" else None)

    def comparable(answer):
        status, headers, body = answer
        body = json.loads(body)["method"] if path == "/echo/h" else body  # the echo shows the other Host port
        return status, {k: v for k, v in headers.items() if k not in ("Date", "Connection")}, body

    assert comparable(proxied) == comparable(direct)


def test_large_and_chunked_bodies_are_streamed_through(monitor):
    big = bytes(range(256)) * 1200  # 300 KiB, above max_sample_bytes: streamed both ways
    status, headers, answer = request(monitor["proxy"], "POST", "/echo/big", big)
    assert status == 207 and json.loads(answer)["body"].encode("latin-1") == big
    assert headers["Content-Length"] == str(len(answer))
    status, headers, answer = request(monitor["proxy"], "GET", "/chunked")
    assert (status, answer, headers.get("Transfer-Encoding")) == (200, b"first,second,third", "chunked")
    # an inference request above max_sample_bytes is answered and not sampled (the windows stay empty: checked below)
    numbers = np.zeros((3000, 4))
    payload = {"inputs": [{"name": "x", "shape": [3000, 5], "datatype": "BYTES",
                           "data": [[*row.tolist(), "red"] for row in numbers]}]}
    assert infer(monitor["proxy"], "shifted", payload)["outputs"][0]["shape"] == [3000, 1]


def test_slow_upstream_is_a_504_with_a_json_error(monitor):
    started = time.monotonic()
    status, headers, answer = request(monitor["proxy"], "POST", "/slow", b"")
    assert status == 504 and headers["Content-Type"].startswith("application/json")
    assert "did not answer within 1 s" in json.loads(answer)["error"]
    assert time.monotonic() - started < 2.5


def test_scores_appear_after_min_samples_high_for_shifted_low_for_unshifted(monitor):
    send(monitor, "steady", 100, 0.0)
    send(monitor, "shifted", 100, 1.0)
    metrics = wait_for_computation(monitor, {"steady": 100, "shifted": 100})
    assert "mlinfra_model_drift_score" not in metrics, "no score below min_samples"
    assert "mlinfra_model_drift_psi" not in metrics

    send(monitor, "steady", WINDOW - 100, 0.0)
    send(monitor, "shifted", WINDOW - 100, 1.0)
    metrics = wait_for_computation(monitor, {"steady": WINDOW, "shifted": WINDOW})
    steady = by_feature(metrics, "mlinfra_model_drift_score", "steady")
    shifted = by_feature(metrics, "mlinfra_model_drift_score", "shifted")
    every = {*FEATURES, "color", "prediction"}
    assert set(steady) == set(shifted) == every
    assert max(steady.values()) < psi_to_score(0.1), steady
    assert shifted["f_alpha"] > psi_to_score(0.25) and shifted["color"] > psi_to_score(0.25), shifted
    assert shifted["prediction"] > psi_to_score(0.1), shifted  # the sums move with f_alpha
    assert max(shifted[f] for f in ("f_beta", "f_gamma", "f_delta")) < psi_to_score(0.1), shifted
    psi = by_feature(metrics, "mlinfra_model_drift_psi", "shifted")
    assert shifted["f_alpha"] == pytest.approx(psi_to_score(psi["f_alpha"]))
    ks = by_feature(metrics, "mlinfra_model_drift_ks", "shifted")
    assert set(ks) == {*FEATURES, "prediction"} and ks["f_alpha"] > 0.3 > ks["f_beta"]
    for name in ("mlinfra_model_drift_dropped_samples_total", "mlinfra_model_drift_decode_errors_total"):
        assert metrics[name] == {(("model", "shifted"),): 0.0, (("model", "steady"),): 0.0}
    assert metrics["mlinfra_model_drift_sampled_rows_total"] == {(("model", "shifted"),): WINDOW,
                                                                (("model", "steady"),): WINDOW}


def test_binary_tensor_data_is_sampled_too(monitor):
    """Triton's clients send binary tensor data by default: the JSON's length in a header, the values after it."""
    values = np.array([[0.1, 5.0, -2.0, 10.0, 1.0]] * 4, dtype="<f8")  # color 1.0: an unseen category
    header = json.dumps({"inputs": [{"name": "INPUT0", "shape": [4, 5], "datatype": "FP64",
                                     "parameters": {"binary_data_size": values.nbytes}}]}).encode()
    before = scrape(monitor)["mlinfra_model_drift_sampled_rows_total"][(("model", "shifted"),)]
    status, _, answer = request(monitor["proxy"], "POST", "/v2/models/shifted/infer", header + values.tobytes(),
                                {"Inference-Header-Content-Length": str(len(header)),
                                 "Content-Type": "application/octet-stream"})
    assert status == 200 and json.loads(answer)["outputs"][0]["data"] == [0, 0, 0, 0]
    deadline = time.monotonic() + 5
    while scrape(monitor)["mlinfra_model_drift_sampled_rows_total"][(("model", "shifted"),)] != before + 4:
        assert time.monotonic() < deadline, "the binary request was not sampled"
        time.sleep(0.1)


def test_unreadable_samples_are_counted_and_answered_normally(monitor):
    payload = {"inputs": [{"name": "other", "shape": [2, 3], "datatype": "FP64", "data": [1, 2, 3, 4, 5, 6]}]}
    answer = infer(monitor["proxy"], "steady", payload)
    assert answer["outputs"][0]["data"] == [6.0, 15.0]
    deadline = time.monotonic() + 5
    while scrape(monitor)["mlinfra_model_drift_decode_errors_total"][(("model", "steady"),)] != 1:
        assert time.monotonic() < deadline, "the unreadable sample was not counted"
        time.sleep(0.1)


def test_sigterm_stops_the_monitor(monitor):
    monitor["process"].send_signal(signal.SIGTERM)
    assert monitor["process"].wait(timeout=30) == 0
    assert "drift monitor: stopping" in monitor["log"].read_text()


def test_an_unreachable_upstream_is_a_502_with_a_json_error(tmp_path):
    (tmp_path / "ref.csv").write_text("x\n1\n2\n")
    closed = free_port()  # nothing listens there
    listen = free_port()
    process = start(tmp_path, {"listen": f"127.0.0.1:{listen}", "metrics_listen": f"127.0.0.1:{free_port()}",
                               "upstream": f"http://127.0.0.1:{closed}",
                               "models": [{"name": "m", "reference": str(tmp_path / "ref.csv"), "window": 10,
                                           "min_samples": 5}]})
    try:
        started = time.monotonic()
        status, headers, answer = request(listen, "POST", "/v2/models/m/infer", b'{"inputs": []}')
        assert status == 502 and headers["Content-Type"].startswith("application/json")
        assert f"the model server at http://127.0.0.1:{closed} is unreachable" in json.loads(answer)["error"]
        assert time.monotonic() - started < 2
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
