"""Real MLServer instances on loopback, exercised like a served model and scraped: what the series figures of
monitoring/series.py are measured from (tests/tools/test_series_measured.py) and compared with (bench/series.py).

Each server serves one scikit-learn model trained on the spot with the MLServer venv's own scikit-learn, with
the settings mlinfra's Deployment gives it (one model per server, metrics on their own port) and
parallel_workers 0 (the host's uvloop cannot start MLServer's worker processes; the image can). `exercise`
sends what a served model sees: successful inferences, a malformed body (422), a request for an unknown model
(404), the readiness checks of the probes - every label combination a serving replica really exports.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

TRAIN = """
import joblib, sys
from sklearn.tree import DecisionTreeClassifier
model = DecisionTreeClassifier(random_state=0).fit([[0, 0], [1, 1], [0, 1], [1, 0]], [0, 1, 0, 1])
joblib.dump(model, sys.argv[1])
"""
STARTUP_TIMEOUT_S = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _request(url: str, body: dict | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"},
                                 method="GET" if body is None else "POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        exc.read()
        return exc.code


@dataclass
class Server:
    name: str
    http_port: int
    metrics_port: int
    process: subprocess.Popen

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def exercise(self, requests: int = 5) -> None:
        """Good inferences, a malformed body, an unknown model and the probes' health and readiness checks."""
        base = f"http://127.0.0.1:{self.http_port}"
        good = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 1.0]}]}
        for _ in range(requests):
            assert _request(f"{base}/v2/models/{self.name}/infer", good) == 200
        _request(f"{base}/v2/models/{self.name}/infer", {"inputs": "not a list"})  # 422
        _request(f"{base}/v2/models/unknown-model/infer", good)  # 404
        for path in ("/v2/health/live", "/v2/health/ready", f"/v2/models/{self.name}/ready"):
            _request(base + path)

    def scrape(self) -> str:
        with urllib.request.urlopen(self.metrics_url, timeout=10) as response:
            return response.read().decode()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def count_series(exposition: str) -> int:
    """Series in one scrape of the text exposition format: every sample line (comments and blanks skipped)."""
    return sum(1 for line in exposition.splitlines() if line.strip() and not line.startswith("#"))


def start_servers(mlserver_venv: Path, workdir: Path, names: list[str]) -> list[Server]:
    """One MLServer per name, each on its own free ports, started together and waited for."""
    mlserver_venv, workdir = mlserver_venv.resolve(), workdir.resolve()
    python, binary = mlserver_venv / "bin" / "python", mlserver_venv / "bin" / "mlserver"
    if not binary.exists():
        raise FileNotFoundError(f"{binary} is missing: `make tools` installs MLServer into .tools/mlserver")
    servers = []
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")}
    for name in names:
        repo = workdir / name
        (repo / name).mkdir(parents=True)
        subprocess.run([str(python), "-c", TRAIN, str(repo / name / "model.joblib")], check=True, timeout=120)
        http, grpc, metrics = free_port(), free_port(), free_port()
        settings = {"parallel_workers": 0, "host": "127.0.0.1", "http_port": http, "grpc_port": grpc,
                    "metrics_port": metrics, "metrics_dir": str(repo / "metrics")}
        model = {"name": name, "implementation": "mlserver_sklearn.SKLearnModel",
                 "parameters": {"uri": "./model.joblib"}}
        (repo / "settings.json").write_text(json.dumps(settings))
        (repo / name / "model-settings.json").write_text(json.dumps(model))
        log = (repo / "mlserver.log").open("w")
        process = subprocess.Popen([str(binary), "start", str(repo)], cwd=repo, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        servers.append(Server(name=name, http_port=http, metrics_port=metrics, process=process))
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    try:
        for server in servers:
            while True:
                try:
                    if _request(f"http://127.0.0.1:{server.http_port}/v2/models/{server.name}/ready") == 200:
                        break
                except OSError:
                    pass
                if server.process.poll() is not None or time.monotonic() > deadline:
                    log_text = (workdir / server.name / "mlserver.log").read_text()
                    raise RuntimeError(f"MLServer for {server.name} did not start: {log_text[-2000:]}")
                time.sleep(0.3)
    except BaseException:
        for server in servers:
            server.stop()
        raise
    return servers
