"""The Lambda proxy between the API Gateway edge and the environment's SageMaker endpoints.

Shipped as this one file (components/sagemaker_edge.py reads it as text): the standard library and the boto3 of
the Lambda Python runtime only, nothing of mlinfra. API Gateway (HTTP API, payload format 2.0) calls `handler` for
`POST /models/<model>/invocations`; the body goes to sagemaker-runtime InvokeEndpoint unchanged (base64 bodies
decoded first) with its Content-Type and Accept, and the endpoint's status and body come back. Models map to
endpoint names through the MLINFRA_ENDPOINTS environment variable (JSON); an unknown model is a 404. Request and
response bodies are never logged: only the model, the status and an error code.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
from typing import Any

ENDPOINTS_VARIABLE = "MLINFRA_ENDPOINTS"  # {"<model>": "<endpoint name>", ...}
# exposure internal: ["<cidr>", ...] (security.allowed_cidrs), the only caller addresses served; unset: any address
ALLOWED_CIDRS_VARIABLE = "MLINFRA_ALLOWED_CIDRS"
ROUTE = re.compile(r"^POST /models/(?P<model>[^/]+)/invocations$")
DEFAULT_CONTENT_TYPE = "application/json"
READ_TIMEOUT_SECONDS = 27  # below the function's timeout (29 s) and API Gateway's 30 s: the caller gets our answer
CONNECT_TIMEOUT_SECONDS = 2

_client: Any = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    allowed = os.environ.get(ALLOWED_CIDRS_VARIABLE)
    return handle(event, runtime_client(), json.loads(os.environ[ENDPOINTS_VARIABLE]),
                  allowed_cidrs=json.loads(allowed) if allowed else None)


def runtime_client() -> Any:
    """One sagemaker-runtime client per execution environment, no retries (an invocation is not idempotent)."""
    global _client
    if _client is None:
        import boto3  # the Lambda runtime's; imported here so the module loads (and is tested) without it
        from botocore.config import Config

        _client = boto3.client("sagemaker-runtime", config=Config(
            read_timeout=READ_TIMEOUT_SECONDS, connect_timeout=CONNECT_TIMEOUT_SECONDS, retries={"max_attempts": 1},
        ))
    return _client


def caller_allowed(event: dict[str, Any], allowed_cidrs: list[str]) -> bool:
    """Whether the caller's address (API Gateway's requestContext.http.sourceIp, the TCP peer it saw: a client
    cannot set it) lies in one of `allowed_cidrs`; an address missing or unreadable is not allowed."""
    source = ((event.get("requestContext") or {}).get("http") or {}).get("sourceIp") or ""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(cidr) for cidr in allowed_cidrs)


def handle(
    event: dict[str, Any], client: Any, endpoints: dict[str, str], *, allowed_cidrs: list[str] | None = None
) -> dict[str, Any]:
    """One request: `client` is a sagemaker-runtime client, `endpoints` maps model names to endpoint names,
    `allowed_cidrs` (exposure internal) the only caller addresses served (others get 403, the endpoint no call)."""
    match = ROUTE.match(event.get("routeKey") or "")
    model = match["model"] if match else None
    if allowed_cidrs is not None and not caller_allowed(event, allowed_cidrs):
        _log(model, 403, "SourceNotAllowed")
        return _json(403, {"error": "this address may not call the model"})
    endpoint = endpoints.get(model) if model else None
    if endpoint is None:
        _log(model, 404, "UnknownModel")
        return _json(404, {"error": "unknown model"})
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    body = event.get("body") or ""
    payload = base64.b64decode(body) if event.get("isBase64Encoded") else body.encode("utf-8")
    request = {"EndpointName": endpoint, "Body": payload,
               "ContentType": headers.get("content-type") or DEFAULT_CONTENT_TYPE}
    if headers.get("accept"):
        request["Accept"] = headers["accept"]
    try:
        response = client.invoke_endpoint(**request)
    except Exception as exc:  # noqa: BLE001 - botocore's errors carry `response`; anything else is a 502
        return _failure(model, exc)
    _log(model, 200, None)
    return _passthrough(200, response.get("ContentType") or DEFAULT_CONTENT_TYPE, response["Body"].read())


def _failure(model: str, exc: Exception) -> dict[str, Any]:
    """The endpoint's own answer when the model container failed (ModelError: its status and body), otherwise the
    status SageMaker returned with the error code; 502 when SageMaker was not reached."""
    reply = getattr(exc, "response", None)
    if not isinstance(reply, dict):
        _log(model, 502, type(exc).__name__)
        return _json(502, {"error": "the endpoint could not be reached"})
    code = str((reply.get("Error") or {}).get("Code") or type(exc).__name__)
    if reply.get("OriginalStatusCode"):
        status = int(reply["OriginalStatusCode"])
        _log(model, status, code)
        message = str(reply.get("OriginalMessage") or "")
        return _passthrough(status, _content_type_of(message), message.encode("utf-8"))
    status = int((reply.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 502)
    _log(model, status, code)
    return _json(status, {"error": code})


def _content_type_of(message: str) -> str:
    """SageMaker passes a failed container's body without its content type: JSON when it parses, text otherwise."""
    try:
        json.loads(message)
    except ValueError:
        return "text/plain; charset=utf-8"
    return "application/json"


def _passthrough(status: int, content_type: str, data: bytes) -> dict[str, Any]:
    """A response body as it came: text when it is UTF-8, base64 otherwise (API Gateway decodes it)."""
    try:
        return {"statusCode": status, "headers": {"content-type": content_type}, "body": data.decode("utf-8"),
                "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"statusCode": status, "headers": {"content-type": content_type},
                "body": base64.b64encode(data).decode("ascii"), "isBase64Encoded": True}


def _json(status: int, document: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps(document, sort_keys=True), "isBase64Encoded": False}


def _log(model: str | None, status: int, error: str | None) -> None:
    """One line per request, no payload."""
    print(json.dumps({"model": model, "status": status, "error": error}, sort_keys=True))
