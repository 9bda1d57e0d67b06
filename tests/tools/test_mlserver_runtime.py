"""The MLServer container mlinfra builds really works: its env loads a model, its probes and metrics port answer.

Runs the real MLServer (.tools/mlserver) on 127.0.0.1 with the command, environment, probe paths and ports taken
from the built Deployment and Service - only paths and port numbers are mapped to the host. One deviation:
MLSERVER_PARALLEL_WORKERS=0, because the host's uvloop cannot start MLServer's worker processes (the image can).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mlinfra.conventions import PORT_METRICS
from mlinfra.manifests import build_model_objects
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import profile_from_data
from mlinfra.runtimes.catalog import MODEL_DIR

pytestmark = pytest.mark.tools

STARTUP_TIMEOUT_S = 20
PROFILE = {
    "version": 1,
    "name": "runtime-check",
    "environments": ["dev"],
    "models": [
        {
            "name": "iris-tree",
            "framework": "sklearn",
            "artifact": "pvc://models/iris-tree",
            "resources": {"cpu": 1, "memory_gib": 1},
            "traffic": {"average_rps": 3, "peak_rps": 7},
            "slo": {"latency_p95_ms": 230, "availability": 0.995},
        }
    ],
    "onprem": {"kube_context": "kind-test"},
    # callers authenticate at the gate in front of the model (tests/tools/test_gate_nginx.py runs it); this test
    # runs the model server itself, named below by its container name
    "security": {"authentication": "api_key"},
}
TRAIN = """
import joblib, sys
from sklearn.tree import DecisionTreeClassifier
model = DecisionTreeClassifier(random_state=0).fit([[0, 0], [1, 1], [0, 1], [1, 0]], [0, 1, 0, 1])
joblib.dump(model, sys.argv[1])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def infer(url: str) -> dict:
    body = {"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP64", "data": [1.0, 1.0]}]}
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def objects() -> dict[str, dict]:
    profile = profile_from_data(PROFILE)
    plan = plan_for(profile, "dev", "onprem-k8s")
    return {o["kind"]: o for o in build_model_objects(plan, plan.models[0])}


def test_built_mlserver_container_loads_the_model_and_answers_probes_and_metrics(objects, tools_dir, tmp_path):
    mlserver = tools_dir / "mlserver" / "bin"
    if not (mlserver / "mlserver").exists():
        pytest.fail(f"{mlserver}/mlserver is missing: `make tools` installs MLServer")
    containers = objects["Deployment"]["spec"]["template"]["spec"]["containers"]
    container = next(c for c in containers if c["name"] == "server")
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    subprocess.run([str(mlserver / "python"), "-c", TRAIN, str(model_dir / "model.joblib")], check=True, timeout=60)

    # container port number -> free host port; paths under MODEL_DIR and /tmp -> tmp_path
    host_port = {p["containerPort"]: free_port() for p in container["ports"]}
    by_name = {p["name"]: host_port[p["containerPort"]] for p in container["ports"]}

    def to_host(value: str) -> str:
        if value.isdigit() and int(value) in host_port:
            return str(host_port[int(value)])
        if value.startswith(MODEL_DIR):
            return str(model_dir) + value.removeprefix(MODEL_DIR)
        if value.startswith("/tmp/"):
            return f"{tmp_path}/{value.removeprefix('/tmp/')}"
        return value

    env = {e["name"]: to_host(e["value"]) for e in container["env"]}
    env.update(MLSERVER_HOST="127.0.0.1", MLSERVER_PARALLEL_WORKERS="0", PATH=f"{mlserver}:{os.environ['PATH']}")
    command = [str(mlserver / container["command"][0]), *(to_host(a) for a in container["command"][1:])]
    assert "MLSERVER_HTTP_PORT" in env and "MLSERVER_METRICS_PORT" in env, "ports must be set explicitly"

    http = f"http://127.0.0.1:{by_name['http']}"
    service_metrics = next(p for p in objects["Service"]["spec"]["ports"] if p["name"] == PORT_METRICS)
    metrics = f"http://127.0.0.1:{by_name[service_metrics['targetPort']]}"
    probes = {k: container[k]["httpGet"]["path"] for k in ("startupProbe", "livenessProbe", "readinessProbe")}

    log = (tmp_path / "mlserver.log").open("w")
    proc = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                if get(http + probes["startupProbe"])[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, f"mlserver exited {proc.returncode}: {(tmp_path / 'mlserver.log').read_text()}"
            log_text = (tmp_path / "mlserver.log").read_text()
            assert time.monotonic() < deadline, f"no startup within {STARTUP_TIMEOUT_S}s: {log_text}"
            time.sleep(0.3)

        assert get(http + probes["livenessProbe"])[0] == 200
        assert get(http + probes["readinessProbe"])[0] == 200
        model = PROFILE["models"][0]["name"]
        assert get(f"{http}/v2/models/{model}/ready")[0] == 200, "model not loaded from MLSERVER_MODEL_* env"
        assert infer(f"{http}/v2/models/{model}/infer")["outputs"][0]["data"] == [1]

        status, text = get(metrics + "/metrics")
        assert status == 200
        for name in ("rest_server_requests_total", "model_infer_request_success_total"):
            assert name in text, f"{name} missing from the metrics port"
        assert get(http + "/metrics")[0] == 404, "MLServer serves metrics only on its metrics port"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        log.close()
