"""The Lambda proxy of the SageMaker edge (targets/aws_sagemaker/edge_handler.py) with a fake sagemaker-runtime
client: what reaches InvokeEndpoint, what the caller gets back, what is logged (never a payload)."""

from __future__ import annotations

import ast
import importlib.util
import base64
import io
import json
import os
import subprocess
import sys

import pytest

from mlinfra.targets.aws_sagemaker import edge_handler
from mlinfra.targets.aws_sagemaker.edge import HANDLER_FILE

ENDPOINTS = {"scorer": "sm-lab-prod-scorer", "ranker": "sm-lab-prod-ranker"}
SECRET_ROW = "4111111111111111,42.17"  # a payload that must never appear in a log line


class ClientError(Exception):
    """botocore's error shape: `response` as the service returned it."""

    def __init__(self, response):
        super().__init__(response["Error"]["Code"])
        self.response = response


class FakeRuntime:
    def __init__(self, *, body=b'{"score": 0.83}', content_type="application/json", error=None):
        self.calls: list[dict] = []
        self.body, self.content_type, self.error = body, content_type, error

    def invoke_endpoint(self, **request):
        self.calls.append(request)
        if self.error:
            raise self.error
        return {"Body": io.BytesIO(self.body), "ContentType": self.content_type, "InvokedProductionVariant": "AllTraffic"}


def event(model="scorer", body=SECRET_ROW, *, b64=False, headers=None, route=None):
    return {
        "version": "2.0",
        "routeKey": route or f"POST /models/{model}/invocations",
        "rawPath": f"/models/{model}/invocations",
        "headers": {"content-type": "text/csv", **(headers or {})},
        "body": body,
        "isBase64Encoded": b64,
    }


def log_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_a_text_body_reaches_the_models_endpoint_and_its_answer_comes_back(capsys):
    client = FakeRuntime()
    reply = edge_handler.handle(event(headers={"accept": "application/json"}), client, ENDPOINTS)
    assert client.calls == [{"EndpointName": "sm-lab-prod-scorer", "Body": SECRET_ROW.encode(), "ContentType": "text/csv",
                             "Accept": "application/json"}]
    assert reply == {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": '{"score": 0.83}',
                     "isBase64Encoded": False}
    assert log_lines(capsys) == [{"model": "scorer", "status": 200, "error": None}]


def test_base64_bodies_are_decoded_and_binary_answers_encoded(capsys):
    tensor = bytes(range(256))  # not UTF-8
    client = FakeRuntime(body=b"\x93NUMPY\xff\x00", content_type="application/x-npy")
    reply = edge_handler.handle(
        event("ranker", base64.b64encode(tensor).decode(), b64=True, headers={"content-type": "application/x-npy"}),
        client, ENDPOINTS)
    assert client.calls == [{"EndpointName": "sm-lab-prod-ranker", "Body": tensor, "ContentType": "application/x-npy"}]
    assert reply["isBase64Encoded"] is True and base64.b64decode(reply["body"]) == b"\x93NUMPY\xff\x00"
    assert (reply["statusCode"], reply["headers"]) == (200, {"content-type": "application/x-npy"})


def test_without_a_content_type_the_body_is_json_and_accept_is_left_out():
    client = FakeRuntime()
    request = {**event(body='{"rows": [[1, 2]]}'), "headers": {}}
    assert edge_handler.handle(request, client, ENDPOINTS)["statusCode"] == 200
    assert client.calls == [{"EndpointName": "sm-lab-prod-scorer", "Body": b'{"rows": [[1, 2]]}',
                             "ContentType": "application/json"}]
    assert edge_handler.handle({**request, "body": None}, client, ENDPOINTS)["statusCode"] == 200
    assert client.calls[-1]["Body"] == b""


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param(event("fraud"), id="unknown-model"),
        pytest.param(event(route="$default"), id="other-route"),
        pytest.param({"headers": {}}, id="no-route-key"),
    ],
)
def test_an_unknown_model_is_a_404_and_no_endpoint_is_called(request_, capsys):
    client = FakeRuntime()
    reply = edge_handler.handle(request_, client, ENDPOINTS)
    assert (reply["statusCode"], json.loads(reply["body"])) == (404, {"error": "unknown model"})
    assert client.calls == []
    assert [line["status"] for line in log_lines(capsys)] == [404]


def test_a_failing_model_answers_with_its_own_status_and_body(capsys):
    error = ClientError({
        "Error": {"Code": "ModelError", "Message": "Received client error (400) from primary with message ..."},
        "OriginalStatusCode": 400, "OriginalMessage": '{"error": "expected 2 columns, got 3: ' + SECRET_ROW + '"}',
        "ResponseMetadata": {"HTTPStatusCode": 424},
    })
    reply = edge_handler.handle(event(), FakeRuntime(error=error), ENDPOINTS)
    assert reply["statusCode"] == 400
    assert reply["headers"] == {"content-type": "application/json"}
    assert json.loads(reply["body"]) == {"error": f"expected 2 columns, got 3: {SECRET_ROW}"}
    assert log_lines(capsys) == [{"model": "scorer", "status": 400, "error": "ModelError"}]
    text = ClientError({"Error": {"Code": "ModelError"}, "OriginalStatusCode": 500, "OriginalMessage": "boom"})
    plain = edge_handler.handle(event(), FakeRuntime(error=text), ENDPOINTS)
    assert (plain["statusCode"], plain["headers"]["content-type"], plain["body"]) == (500, "text/plain; charset=utf-8", "boom")


@pytest.mark.parametrize(
    ("code", "status"),
    [
        pytest.param("ValidationError", 400, id="validation"),
        pytest.param("ThrottlingException", 429, id="throttled"),
        pytest.param("ServiceUnavailable", 503, id="unavailable"),
    ],
)
def test_sagemakers_own_errors_keep_their_status_and_name_the_code(code, status, capsys):
    error = ClientError({"Error": {"Code": code, "Message": "details"}, "ResponseMetadata": {"HTTPStatusCode": status}})
    reply = edge_handler.handle(event(), FakeRuntime(error=error), ENDPOINTS)
    assert (reply["statusCode"], json.loads(reply["body"])) == (status, {"error": code})
    assert log_lines(capsys) == [{"model": "scorer", "status": status, "error": code}]


def test_an_unreachable_endpoint_is_a_502(capsys):
    reply = edge_handler.handle(event(), FakeRuntime(error=TimeoutError("read timeout")), ENDPOINTS)
    assert (reply["statusCode"], json.loads(reply["body"])) == (502, {"error": "the endpoint could not be reached"})
    assert log_lines(capsys) == [{"model": "scorer", "status": 502, "error": "TimeoutError"}]


def test_no_payload_is_ever_logged(capsys):
    error = ClientError({"Error": {"Code": "ModelError"}, "OriginalStatusCode": 400, "OriginalMessage": SECRET_ROW})
    for client in (FakeRuntime(body=SECRET_ROW.encode()), FakeRuntime(error=error)):
        edge_handler.handle(event(), client, ENDPOINTS)
        edge_handler.handle(event(body=base64.b64encode(SECRET_ROW.encode()).decode(), b64=True), client, ENDPOINTS)
    out = capsys.readouterr().out
    assert out.count("\n") == 4 and SECRET_ROW not in out and "4111" not in out


def test_the_entry_point_reads_the_endpoint_map_from_the_environment(monkeypatch):
    client = FakeRuntime()
    monkeypatch.setattr(edge_handler, "_client", client)  # what runtime_client() built on the first request
    monkeypatch.setenv("MLINFRA_ENDPOINTS", json.dumps(ENDPOINTS))
    assert edge_handler.handler(event("ranker"), None)["statusCode"] == 200
    assert client.calls[0]["EndpointName"] == "sm-lab-prod-ranker"


def test_boto3_is_loaded_only_in_lambda():
    """Importing the module (tests, the component reading it) needs no boto3; the client is built on first use.
    Run in a fresh interpreter, once with boto3 hidden (the import still works, the first request names boto3)
    and once as installed (the import leaves it unloaded, the first request loads it)."""
    probe = (
        "import sys\n"
        "if sys.argv[1] == 'hidden':\n"
        "    sys.modules['boto3'] = None\n"
        "from mlinfra.targets.aws_sagemaker import edge_handler\n"
        "assert 'boto3' not in sys.modules or sys.modules['boto3'] is None, 'boto3 loaded at import'\n"
        "try:\n"
        "    edge_handler.runtime_client()\n"
        "except ImportError as exc:\n"
        "    print('missing', exc.name)\n"
        "else:\n"
        "    print('loaded', 'boto3' in sys.modules)\n"
    )
    env = {**os.environ, "AWS_DEFAULT_REGION": "eu-central-1"}
    hidden = subprocess.run([sys.executable, "-c", probe, "hidden"], capture_output=True, text=True, env=env)
    assert hidden.returncode == 0, hidden.stderr
    assert hidden.stdout.split() == ["missing", "boto3"]
    if importlib.util.find_spec("boto3") is not None:
        real = subprocess.run([sys.executable, "-c", probe, "real"], capture_output=True, text=True, env=env)
        assert real.returncode == 0, real.stderr
        assert real.stdout.split() == ["loaded", "True"]


def test_the_shipped_file_imports_only_the_standard_library_at_module_level():
    tree = ast.parse(HANDLER_FILE.read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    names = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom)}
    assert names == {"__future__", "base64", "ipaddress", "json", "os", "re", "typing"}


def with_source(ip, **kwargs):
    e = event(**kwargs)
    e["requestContext"] = {"http": {"method": "POST", "sourceIp": ip}}
    return e


@pytest.mark.parametrize("ip, served", [
    pytest.param("10.41.7.3", True, id="inside-a-range"),
    pytest.param("192.168.77.12", True, id="inside-another"),
    pytest.param("203.0.113.9", False, id="outside"),
    pytest.param("", False, id="missing"),
    pytest.param("not-an-ip", False, id="unreadable"),
])
def test_exposure_internal_serves_the_allowed_ranges_only(ip, served, capsys):
    client = FakeRuntime()
    reply = edge_handler.handle(with_source(ip), client, ENDPOINTS, allowed_cidrs=["10.41.0.0/16", "192.168.77.0/24"])
    if served:
        assert reply["statusCode"] == 200 and len(client.calls) == 1
    else:
        assert reply["statusCode"] == 403 and client.calls == []
        assert log_lines(capsys) == [{"model": "scorer", "status": 403, "error": "SourceNotAllowed"}]


def test_a_forwarded_header_does_not_choose_the_source(capsys):
    client = FakeRuntime()
    spoofed = with_source("198.51.100.4", headers={"x-forwarded-for": "10.41.0.5"})
    assert edge_handler.handle(spoofed, client, ENDPOINTS, allowed_cidrs=["10.41.0.0/16"])["statusCode"] == 403


def test_the_entry_point_reads_the_allowed_ranges_from_the_environment(monkeypatch):
    client = FakeRuntime()
    monkeypatch.setattr(edge_handler, "_client", client)
    monkeypatch.setenv(edge_handler.ENDPOINTS_VARIABLE, json.dumps(ENDPOINTS))
    monkeypatch.setenv(edge_handler.ALLOWED_CIDRS_VARIABLE, json.dumps(["10.41.0.0/16"]))
    assert edge_handler.handler(with_source("172.16.0.1"), None)["statusCode"] == 403
    assert edge_handler.handler(with_source("10.41.0.1"), None)["statusCode"] == 200
