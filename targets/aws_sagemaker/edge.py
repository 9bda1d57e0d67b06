"""The managed edge in front of one environment's SageMaker endpoints (`edge_spec`), as plain data.

SageMaker endpoints answer IAM-signed (SigV4) requests only. Callers that present an OIDC token, and
unauthenticated public callers, reach them through an API Gateway HTTP API instead:
- one route per model, `POST /models/<model>/invocations` (a model without a route is API Gateway's own 404, no
  proxy call), each throttled from its model's peak traffic;
- with authentication oidc a JWT authorizer (issuer and audience from security.oidc) on every route; with
  exposure public and authentication none no authorizer;
- the `$default` stage, auto-deployed, JSON access logs to a KMS-encrypted log group;
- with exposure internal, the proxy serves callers from security.allowed_cidrs only (by the source address API
  Gateway saw), 403 for any other;
- a Lambda proxy (edge_handler.py, AWS_PROXY, payload format 2.0) that calls sagemaker-runtime InvokeEndpoint:
  HTTP APIs have no AWS-service integration for SageMaker. Its role may invoke this environment's endpoints and
  write its own log group, nothing else.
An HTTP API is reachable from the internet (JWT-protected for oidc), so exposure private with oidc gets no edge:
that is a deployment gap (`edge_gaps`), as are a missing security.oidc and SLOs longer than the 30 s an HTTP API
waits for its integration. api_key callers sign with IAM access keys and need no edge.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlinfra.conventions import k8s_name
from mlinfra.costs.model import fmt_number
from mlinfra.planning.sizing import service_seconds
from mlinfra.profiles.model import Model, Profile, Security
from mlinfra.targets.aws.iam import POLICY_VERSION, service_trust_policy
from mlinfra.targets.aws.logs import log_retention_days
from mlinfra.targets.aws_sagemaker.edge_handler import ALLOWED_CIDRS_VARIABLE, ENDPOINTS_VARIABLE
from mlinfra.targets.aws_sagemaker.endpoints import SageMakerPlan

HANDLER_FILE = Path(__file__).with_name("edge_handler.py")  # shipped inline as the function's only file
HANDLER = f"{HANDLER_FILE.stem}.handler"
LAMBDA_SERVICE = "lambda.amazonaws.com"
APIGATEWAY_SERVICE = "apigateway.amazonaws.com"
STAGE = "$default"  # served at the API's root URL, no stage prefix in the path
ROUTE_METHOD = "POST"
JWT_IDENTITY_SOURCE = "$request.header.Authorization"  # Authorization: Bearer <token>
AUTHORIZER_NAME = "oidc"
# An HTTP API waits at most 30 s for its integration; the proxy gives up a second before, so the caller gets its
# answer (edge_handler.READ_TIMEOUT_SECONDS is below both).
INTEGRATION_TIMEOUT_MS = 30_000
PROXY_TIMEOUT_SECONDS = 29
PROXY_RUNTIME = "python3.13"
PROXY_ARCHITECTURE = "x86_64"  # the priced architecture (lambda/gb-second-x86)
PROXY_MEMORY_MB = 256  # the proxy forwards bytes (up to 6 MB, Lambda's payload limit) and waits
PROXY_OVERHEAD_SECONDS = 0.03  # the proxy's own time per request on top of the endpoint's (billed duration)
EDGE_LOG_KB_PER_REQUEST = 1  # one access-log line and the proxy's one line plus its Lambda report
# Throttling per route: the model's peak with headroom, the burst two seconds of it; API Gateway's account limits
# per region (10,000 requests/s, burst 5,000) cap both.
THROTTLE_HEADROOM = 2.0
BURST_SECONDS = 2
MIN_RATE_RPS = 1
MIN_BURST = 10
ACCOUNT_RATE_LIMIT = 10_000
ACCOUNT_BURST_LIMIT = 5_000

Authentication = Literal["oidc", "none"]


@dataclass(frozen=True, kw_only=True)
class Throttle:
    rate_limit: float  # requests per second, steady
    burst_limit: int  # requests at once

    def settings(self) -> dict[str, Any]:
        """Stage route settings (pulumi-aws argument names)."""
        return {"throttling_rate_limit": self.rate_limit, "throttling_burst_limit": self.burst_limit}


@dataclass(frozen=True, kw_only=True)
class EdgeRoute:
    """One model's route."""

    model: str
    endpoint_name: str
    throttle: Throttle

    @property
    def path(self) -> str:
        return f"/models/{self.model}/invocations"

    @property
    def route_key(self) -> str:
        return f"{ROUTE_METHOD} {self.path}"

    def route_setting(self) -> dict[str, Any]:
        return {"route_key": self.route_key, **self.throttle.settings()}


@dataclass(frozen=True, kw_only=True)
class JwtAuthorizer:
    issuer: str
    audience: tuple[str, ...]

    def args(self) -> dict[str, Any]:
        """aws.apigatewayv2.Authorizer's arguments but api_id."""
        return {
            "name": AUTHORIZER_NAME,
            "authorizer_type": "JWT",
            "identity_sources": [JWT_IDENTITY_SOURCE],
            "jwt_configuration": {"issuer": self.issuer, "audiences": list(self.audience)},
        }


@dataclass(frozen=True, kw_only=True)
class EdgeSpec:
    """The edge of one environment."""

    api_name: str
    function_name: str  # the Lambda proxy
    authentication: Authentication
    why: str  # one sentence: why the environment has an edge
    authorizer: JwtAuthorizer | None  # oidc: every route; none: no authorizer
    routes: tuple[EdgeRoute, ...]
    default_throttle: Throttle  # any route without its own setting: the largest of the routes'
    access_log_group: str
    proxy_log_group: str
    log_retention_days: int
    allowed_cidrs: tuple[str, ...] = ()  # exposure internal: the only caller addresses the proxy serves

    @property
    def authorization_type(self) -> str:
        return "JWT" if self.authorizer else "NONE"

    def endpoints(self) -> dict[str, str]:
        """Model -> endpoint name, the proxy's MLINFRA_ENDPOINTS."""
        return {r.model: r.endpoint_name for r in self.routes}

    def environment(self) -> dict[str, str]:
        variables = {ENDPOINTS_VARIABLE: json.dumps(self.endpoints(), sort_keys=True)}
        if self.allowed_cidrs:
            variables[ALLOWED_CIDRS_VARIABLE] = json.dumps(list(self.allowed_cidrs))
        return variables

    def access_log_format(self) -> dict[str, str]:
        """One JSON object per request (API Gateway fills the $context variables); the caller's subject with oidc."""
        fields = {
            "requestId": "$context.requestId",
            "requestTime": "$context.requestTime",
            "sourceIp": "$context.identity.sourceIp",
            "routeKey": "$context.routeKey",
            "status": "$context.status",
            "protocol": "$context.protocol",
            "responseLength": "$context.responseLength",
            "responseLatency": "$context.responseLatency",
            "integrationStatus": "$context.integrationStatus",
            "integrationLatency": "$context.integrationLatency",
            "integrationError": "$context.integrationErrorMessage",
            "error": "$context.error.message",
        }
        if self.authorizer:
            fields |= {"authorizerError": "$context.authorizer.error", "subject": "$context.authorizer.claims.sub"}
        return fields

    def stage_args(self) -> dict[str, Any]:
        """aws.apigatewayv2.Stage's arguments but api_id and the access log destination (the log group's ARN)."""
        return {
            "name": STAGE,
            "auto_deploy": True,
            "default_route_settings": self.default_throttle.settings(),
            "route_settings": [r.route_setting() for r in self.routes],
        }

    def integration_args(self) -> dict[str, Any]:
        """aws.apigatewayv2.Integration's arguments but api_id and integration_uri (the function's ARN)."""
        return {
            "integration_type": "AWS_PROXY",
            "integration_method": "POST",
            "payload_format_version": "2.0",
            "timeout_milliseconds": INTEGRATION_TIMEOUT_MS,
        }

    def function_args(self) -> dict[str, Any]:
        """aws.lambda_.Function's arguments but role and code."""
        return {
            "name": self.function_name,
            "runtime": PROXY_RUNTIME,
            "handler": HANDLER,
            "architectures": [PROXY_ARCHITECTURE],
            "memory_size": PROXY_MEMORY_MB,
            "timeout": PROXY_TIMEOUT_SECONDS,
            "environment": {"variables": self.environment()},
            "logging_config": {"log_format": "Text", "log_group": self.proxy_log_group},
        }


def edge_reason(security: Security) -> str:
    """Why the profile's callers need an edge ('' when they sign with IAM, or exposure private rules one out)."""
    if security.authentication == "oidc" and security.exposure != "private":
        return ("security.authentication is oidc: a JWT authorizer checks callers' tokens, SageMaker endpoints "
                "answer only IAM-signed requests")
    if security.exposure == "public" and security.authentication == "none":
        return ("security.exposure is public with authentication none: unauthenticated callers cannot sign "
                "requests for SageMaker endpoints")
    return ""


def has_edge(profile: Profile) -> bool:
    """Whether the profile's environments get an edge: their callers need one and no gap keeps it from them."""
    return bool(edge_reason(profile.security)) and not edge_gaps(profile)


def edge_gaps(profile: Profile) -> list[str]:
    """What keeps the edge (or any way in) from serving the profile's callers."""
    s = profile.security
    if s.authentication == "oidc" and s.exposure == "private":
        return [
            "security.exposure is 'private' with authentication 'oidc': the edge that checks OIDC tokens in front "
            "of SageMaker endpoints is an API Gateway HTTP API, which is reachable from the internet, and SageMaker "
            "callers inside the account authenticate with IAM (SigV4); set security.exposure to internal or public "
            "(the edge, JWT-protected) or security.authentication to api_key (IAM access keys)"
        ]
    if not edge_reason(s):
        return []
    gaps = []
    if s.authentication == "oidc" and s.oidc is None:
        gaps.append(
            "security.authentication is 'oidc' but security.oidc is not set: SageMaker endpoints answer only "
            "IAM-signed requests, so an API Gateway JWT authorizer checks the callers' tokens and needs their "
            "issuer; set security.oidc.issuer (https://..., the tokens' iss claim) and security.oidc.audience "
            "(the accepted aud values)"
        )
    slow = [m for m in profile.models if m.slo.latency_p95_ms > INTEGRATION_TIMEOUT_MS]
    for m in slow:
        gaps.append(
            f"model '{m.name}': models[].slo.latency_p95_ms is {fmt_number(m.slo.latency_p95_ms)} but the API "
            f"Gateway edge in front of SageMaker waits at most {INTEGRATION_TIMEOUT_MS} ms for an answer; set it to "
            f"{INTEGRATION_TIMEOUT_MS} or less, or security.authentication to api_key (IAM callers invoke the "
            "endpoint directly)"
        )
    return gaps


def throttle(peak_rps: float) -> Throttle:
    """A route's limits: twice the peak (at least 1 request/s), a burst of two seconds of it (at least 10)."""
    rate = min(ACCOUNT_RATE_LIMIT, max(MIN_RATE_RPS, math.ceil(peak_rps * THROTTLE_HEADROOM)))
    burst = min(ACCOUNT_BURST_LIMIT, max(MIN_BURST, math.ceil(rate * BURST_SECONDS)))
    return Throttle(rate_limit=float(rate), burst_limit=burst)


def edge_spec(profile: Profile, sm: SageMakerPlan) -> EdgeSpec | None:
    """The environment's edge; None when its callers sign with IAM or a gap keeps the edge from serving them."""
    if not has_edge(profile):
        return None
    s = profile.security
    peaks = {m.name: m.traffic.peak_rps for m in profile.models}
    routes = tuple(
        EdgeRoute(model=e.model, endpoint_name=e.endpoint_name, throttle=throttle(peaks[e.model])) for e in sm.endpoints
    )
    largest = max(routes, key=lambda r: (r.throttle.rate_limit, r.throttle.burst_limit)).throttle
    name = k8s_name(sm.plan.profile_name, sm.plan.environment, "edge")
    return EdgeSpec(
        api_name=name,
        function_name=name,
        authentication="oidc" if s.authentication == "oidc" else "none",
        why=edge_reason(s),
        authorizer=JwtAuthorizer(issuer=s.oidc.issuer, audience=tuple(s.oidc.audience)) if s.oidc else None,
        routes=routes,
        default_throttle=largest,
        access_log_group=f"/aws/vendedlogs/apigateway/{name}",  # API Gateway delivers access logs as vended logs
        proxy_log_group=f"/aws/lambda/{name}",
        log_retention_days=log_retention_days(sm.plan.monitoring.retention_days),
        allowed_cidrs=tuple(s.allowed_cidrs) if s.exposure == "internal" else (),
    )


def proxy_seconds(model: Model) -> float:
    """Billed Lambda duration of one request: the endpoint's compute time plus the proxy's own."""
    return service_seconds(model) + PROXY_OVERHEAD_SECONDS


def handler_source() -> str:
    """The proxy's code, as the function ships it."""
    return HANDLER_FILE.read_text(encoding="utf-8")


def handler_sha256() -> str:
    return hashlib.sha256(handler_source().encode("utf-8")).hexdigest()


def proxy_trust_policy() -> dict[str, Any]:
    """Only Lambda may assume the proxy's role."""
    return service_trust_policy(LAMBDA_SERVICE)


def proxy_policy(*, endpoint_arns: list[str], log_group_arn: str) -> dict[str, Any]:
    """The proxy's inline policy: invoke these endpoints, write its own log group."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "InvokeTheEnvironmentsEndpoints",
                "Effect": "Allow",
                "Action": "sagemaker:InvokeEndpoint",
                "Resource": sorted(endpoint_arns),
            },
            {
                "Sid": "WriteItsOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn, f"{log_group_arn}:*"],
            },
        ],
    }


def invoke_source_arn(execution_arn: str) -> str:
    """Who may invoke the proxy: this API's model routes, any stage (`<execution ARN>/<stage>/<method>/<path>`)."""
    return f"{execution_arn}/*/{ROUTE_METHOD}/models/*/invocations"


def invoke_url(api_endpoint: str, route: EdgeRoute) -> str:
    return f"{api_endpoint}{route.path}"



def describe_edge(edge: EdgeSpec) -> dict[str, Any]:
    """The edge as the component creates it (render's `edge` section); values known once the stack exists are
    `<...>` placeholders."""
    arns = [f"<arn of endpoint {r.endpoint_name}>" for r in edge.routes]
    api = "<api-endpoint>"
    return {
        "why": edge.why,
        "api": {"name": edge.api_name, "protocol_type": "HTTP", "url": api},
        **({"authorizer": edge.authorizer.args()} if edge.authorizer else {}),  # none: no authorizer
        "routes": [
            {"model": r.model, "route_key": r.route_key, "endpoint_name": r.endpoint_name,
             "authorization_type": edge.authorization_type, "throttle": r.throttle.settings(),
             "invoke_url": invoke_url(api, r)}
            for r in edge.routes
        ],
        "stage": {**edge.stage_args(),
                  "access_log_settings": {"destination_arn": "<access-log-group-arn>", "format": edge.access_log_format()}},
        "integration": {**edge.integration_args(), "integration_uri": "<proxy-function-arn>"},
        "proxy": {
            **edge.function_args(),
            "code": {"file": HANDLER_FILE.name, "sha256": handler_sha256()},
            "role_policy": proxy_policy(endpoint_arns=arns, log_group_arn="<proxy-log-group-arn>"),
            "invoke_permission": {"principal": APIGATEWAY_SERVICE, "source_arn": invoke_source_arn("<api-execution-arn>")},
        },
        "log_groups": [
            {"name": name, "retention_in_days": edge.log_retention_days, "encryption": "the stack's KMS key"}
            for name in (edge.access_log_group, edge.proxy_log_group)
        ],
    }
