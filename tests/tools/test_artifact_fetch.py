"""The https:// fetch init container's script really downloads and unpacks, with and without a netrc.

Runs the built script with the host's curl and tar against a local HTTP server (127.0.0.1, free port); only the
URL scheme and the two directories are mapped to the host. The image's shell is busybox ash; bash stands in
here (dash lacks `set -o pipefail`, which both ash and bash have).
"""

from __future__ import annotations

import base64
import http.server
import io
import shutil
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from mlinfra.manifests import build_model_objects
from mlinfra.manifests.artifacts import CREDENTIALS_DIR, FETCH_CONTAINER
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import profile_from_data
from mlinfra.runtimes.catalog import MODEL_DIR

pytestmark = pytest.mark.tools

USER, PASSWORD = "fetcher", "s3cr3t-17"


def tar_gz(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


CONTENT = {
    "/models/summariser-v1.tar.gz": tar_gz({"config.json": b'{"layers": 13}', "weights.bin": b"\x01\x02"}),
    "/models/encoder.onnx": b"onnx-bytes-29",
}


class Handler(http.server.BaseHTTPRequestHandler):
    require_auth = False

    def do_GET(self):  # noqa: N802 - http.server API
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if self.require_auth and self.headers.get("Authorization") != expected:
            self.send_response(401)
            self.end_headers()
            return
        body = CONTENT.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        Handler.require_auth = False


def fetch_container(artifact: str) -> dict:
    profile = profile_from_data(
        {
            "version": 1,
            "name": "fetch-check",
            "environments": ["dev"],
            "models": [
                {
                    "name": "m",
                    "framework": "onnx",
                    "artifact": artifact,
                    "traffic": {"average_rps": 1, "peak_rps": 2},
                    "slo": {"latency_p95_ms": 310, "availability": 0.99},
                }
            ],
            "security": {"authentication": "api_key"},  # the gate in front is not what this test runs
        }
    )
    plan = plan_for(profile, "dev", "aws-eks")
    deployment = next(o for o in build_model_objects(plan, plan.models[0]) if o["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["initContainers"]
    assert container["name"] == FETCH_CONTAINER
    return container


def run_fetch(container: dict, url: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path, Path]:
    assert container["command"] == ["sh", "-c"]
    model_dir, secrets = tmp_path / "models", tmp_path / "secrets"
    model_dir.mkdir(parents=True)
    secrets.mkdir(exist_ok=True)
    script = container["args"][0].replace(MODEL_DIR, str(model_dir)).replace(CREDENTIALS_DIR, str(secrets))
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["ARTIFACT_URL"].startswith("https://"), "the URL travels in the environment, not the script"
    env.update(ARTIFACT_URL=url, PATH="/usr/bin:/bin", HOME=str(tmp_path))
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=30, check=False)
    return proc, model_dir, secrets


@pytest.fixture(autouse=True)
def _needs_curl_and_tar():
    missing = [tool for tool in ("curl", "tar", "bash") if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"the fetch test needs {missing} on PATH (Debian: apt-get install curl tar bash)")


def test_archive_is_unpacked_into_the_model_dir(server, tmp_path):
    container = fetch_container("https://models.example.com/models/summariser-v1.tar.gz")
    url = f"http://127.0.0.1:{server.server_port}/models/summariser-v1.tar.gz"
    proc, model_dir, _ = run_fetch(container, url, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in model_dir.iterdir()) == ["config.json", "weights.bin"]
    assert (model_dir / "config.json").read_text() == '{"layers": 13}'


def test_single_file_is_saved_under_its_name(server, tmp_path):
    container = fetch_container("https://models.example.com/models/encoder.onnx")
    proc, model_dir, _ = run_fetch(container, f"http://127.0.0.1:{server.server_port}/models/encoder.onnx", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (model_dir / "encoder.onnx").read_bytes() == b"onnx-bytes-29"


def test_netrc_from_the_secret_authenticates_and_its_absence_fails_cleanly(server, tmp_path):
    Handler.require_auth = True
    container = fetch_container("https://models.example.com/models/summariser-v1.tar.gz")
    url = f"http://127.0.0.1:{server.server_port}/models/summariser-v1.tar.gz"
    proc, model_dir, _ = run_fetch(container, url, tmp_path / "no-secret")
    assert proc.returncode != 0, "a 401 must fail the init container (curl -f, pipefail)"

    secrets = tmp_path / "with-secret" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "netrc").write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    proc, model_dir, _ = run_fetch(container, url, tmp_path / "with-secret")
    assert proc.returncode == 0, proc.stderr
    assert (model_dir / "weights.bin").read_bytes() == b"\x01\x02"
