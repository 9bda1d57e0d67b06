"""The rendered gate (manifests/gate.py) run for real: nginx with the nginx.conf render writes, in front of a
stand-in model, reached as the ingress controller reaches it (X-Forwarded-For with the caller appended).

The token check is a stand-in too (oauth2-proxy cannot run here): it proves what nginx asks and passes on; the
oauth2-proxy flags are checked against its v7 source in tests/unit/test_gate.py."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from profile_data import LOAN_DESK, changed

from mlinfra.manifests import gate
from mlinfra.profiles.load import profile_from_data
from mlinfra.runtimes.catalog import RUNTIMES
from mlinfra.targets.resolve import resolve_target

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
KEY = "k3y-" + "7" * 40
SEEN: list[dict[str, str]] = []  # what reached the model and the token check


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Model(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        SEEN.append({"to": "model", **{k.lower(): v for k, v in self.headers.items()}})
        body = b'{"ready": true}' if self.path == "/v2/health/ready" else b'{"score": 0.61}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        pass


class _TokenCheck(_Model):
    def do_GET(self):  # noqa: N802
        SEEN.append({"to": "check", "path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        self.send_response(202 if self.headers.get("Authorization") == "Bearer good.jwt" else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()


def _serve(handler) -> tuple[http.server.ThreadingHTTPServer, int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


@pytest.fixture
def run_gate(tmp_path: Path):
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: .ci/install-system.sh installs Debian's nginx")
    started = []

    def run(authentication: str, allowed_cidrs=None) -> int:
        model, model_port = _serve(_Model)
        check, check_port = _serve(_TokenCheck)
        started.extend([model, check])
        security = {"exposure": "internal" if allowed_cidrs else "public", "authentication": authentication}
        if allowed_cidrs:
            security["allowed_cidrs"] = allowed_cidrs
        if authentication == "oidc":
            security["oidc"] = {"issuer": "https://login.bank.example/realms/loans", "audience": ["loan-desk"]}
        profile = profile_from_data(changed(LOAN_DESK, security=security))
        plan = resolve_target(profile, "prod", "onprem-k8s").target.plan(profile, "prod")
        runtime = RUNTIMES["mlserver"]
        conf = gate.nginx_config(plan, runtime)
        port = _free_port()
        conf = (conf.replace("/tmp/", f"{tmp_path}/").replace(gate.API_KEYS_DIR, str(tmp_path))
                .replace(f"listen {gate.GATE_PORT};", f"listen 127.0.0.1:{port};")
                .replace(f"127.0.0.1:{runtime.http_port}", f"127.0.0.1:{model_port}")
                .replace(f"127.0.0.1:{gate.OIDC_PORT}", f"127.0.0.1:{check_port}"))
        (tmp_path / gate.API_KEYS_FILE).write_text(gate.api_keys_map(KEY + "\n"))
        (tmp_path / "nginx.conf").write_text(conf)
        proc = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
                                stderr=subprocess.PIPE)
        started.append(proc)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"nginx refused the rendered config: {proc.stderr.read().decode()}")
                time.sleep(0.05)
        SEEN.clear()
        return port

    yield run
    for thing in started:
        if isinstance(thing, subprocess.Popen):
            thing.terminate()
            thing.wait(timeout=10)
        else:
            thing.shutdown()


def call(port: int, *, caller: str = "203.0.113.50", headers=None, path: str = "/v2/models/scorer/infer") -> int:
    """A request as the ingress controller forwards it: the caller's address appended to X-Forwarded-For."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=b"{}", method="POST",
                                     headers={"X-Forwarded-For": caller, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_nginx_config_is_valid(run_gate, tmp_path):
    run_gate("oidc", ["10.41.0.0/16"])
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_internal_serves_the_declared_ranges_only(run_gate):
    port = run_gate("none", ["10.41.0.0/16"])
    assert call(port, caller="10.41.9.9") == 200
    assert call(port, caller="10.42.0.1") == 403
    # a caller cannot pick its address: the controller appends the one it saw, and that one counts
    assert call(port, caller="10.41.9.9, 198.51.100.7") == 403
    assert [s["to"] for s in SEEN] == ["model"], "refused requests never reach the model"


def test_api_key_is_required_checked_and_not_passed_on(run_gate):
    port = run_gate("api_key", ["10.41.0.0/16"])
    assert call(port, caller="10.41.0.8") == 401
    assert call(port, caller="10.41.0.8", headers={"X-API-Key": "k3y-" + "8" * 40}) == 401
    assert call(port, caller="10.41.0.8", headers={"X-API-Key": KEY}) == 200
    assert call(port, caller="192.0.2.1", headers={"X-API-Key": KEY}) == 403, "a good key from outside the ranges"
    (seen,) = SEEN
    assert "x-api-key" not in seen


def test_oidc_asks_the_token_check_without_cookies(run_gate):
    port = run_gate("oidc")  # public: any address, a token is the only way in
    assert call(port, headers={"Authorization": "Bearer forged", "Cookie": "_oauth2_proxy=x"}) == 401
    assert call(port, headers={"Authorization": "Bearer good.jwt", "Cookie": "_oauth2_proxy=x"}) == 200
    checks = [s for s in SEEN if s["to"] == "check"]
    assert [c["path"] for c in checks] == ["/oauth2/auth", "/oauth2/auth"]
    assert not any("cookie" in c for c in checks), "no session cookie is ever offered to the check"
    assert [s["to"] for s in SEEN].count("model") == 1


def test_the_readiness_path_answers_without_credentials_from_anywhere(run_gate):
    port = run_gate("api_key", ["10.41.0.0/16"])
    assert call(port, caller="192.0.2.1", path=gate.READY_PATH) == 200
