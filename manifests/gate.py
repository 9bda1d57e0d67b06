"""The gate in front of an exposed model: who may call it, enforced in the model's own pod.

Ingress controllers differ in how (and whether) they restrict sources or check credentials, so the check does
not depend on one: every exposed model (exposure internal, or public with authentication) gets a gate container,
nginx, which the Service's and so the Ingress's `http` port reaches instead of the model:
- exposure internal: only callers from security.allowed_cidrs (`allow`/`deny`). The caller is the last address
  in X-Forwarded-For, the one the ingress controller (or the ALB) appended; only the controller's namespace
  (or, with the ALB, the VPC) may connect to the gate at all, so nothing else can set that header;
- authentication api_key: the X-API-Key header must be one of the keys in the model's API-key Secret (built
  by the program from the Pulumi secret config key security.api_keys_secret; never rendered). The key is not
  passed on to the model;
- authentication oidc: `auth_request` asks oauth2-proxy (a second container, loopback only) whether the
  Authorization bearer token is a valid JWT of security.oidc's issuer for one of its audiences (discovery and
  keys from the issuer); cookies are dropped from that check, so no browser session is ever accepted.
Failures answer 403 (address), 401 (missing or wrong key or token). The model's own ports stay closed to
everything but the model's namespace and Prometheus (manifests.network).
"""

from __future__ import annotations

import re
from typing import Any

from mlinfra.conventions import PORT_DRIFT_PROXY, PORT_HTTP, k8s_name
from mlinfra.manifests import drift
from mlinfra.manifests.common import IMAGE_PULL_POLICY, container_security_context, model_metadata
from mlinfra.planning.plan import PlanError
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes.catalog import Runtime

GATE_IMAGE = "nginxinc/nginx-unprivileged:1.28.0-alpine"  # nginx with the realip and auth_request modules
GATE_UID = 101  # the image's `nginx` user
GATE_CONTAINER = "gate"
PORT_GATE = "gate"
GATE_PORT = 8088
GATE_CONFIG_DIR = "/etc/mlinfra/gate"
GATE_CONFIG_FILE = "nginx.conf"
API_KEYS_DIR = "/etc/mlinfra/api-keys"
API_KEYS_FILE = "keys.map"  # nginx map entries, one `"<key>" 1;` a line (api_keys_map)
API_KEY_HEADER = "X-API-Key"
MAX_BODY = "100m"  # request bodies the gate passes (nginx's default 1m is too small for batches)
PROXY_TIMEOUT_S = 300

READY_PATH = "/_mlinfra/ready"  # unauthenticated: the model's readiness only (load balancer health checks)

OIDC_IMAGE = "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"
OIDC_UID = 65532  # the distroless image's nonroot user
OIDC_CONTAINER = "oidc"
OIDC_PORT = 4180
OIDC_CHECK = "/_mlinfra/oidc"  # internal location of the token check
# oauth2-proxy refuses to start without a client secret and a cookie secret. The gate uses neither: it only asks
# /oauth2/auth about bearer tokens (no login flow is reachable, the token is verified against the issuer's keys)
# and drops cookies from that request, so no session cookie sealed with this value is ever read.
OIDC_UNUSED_SECRET = "bearer-tokens-only-0123456789abc"  # 32 bytes, as oauth2-proxy requires

API_KEY = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
MAX_API_KEYS = 1000


def gated(plan: EnvironmentPlan) -> bool:
    """Whether the models are exposed behind a gate: internal (source ranges) or public with authentication."""
    if plan.exposure == "private":
        return False
    return plan.exposure == "internal" or plan.access.authentication != "none"


def config_name(model: ModelSpec) -> str:
    return k8s_name(model.k8s_name, "gate")


def api_keys_secret_name(model: ModelSpec) -> str:
    return k8s_name(model.k8s_name, "api-keys")


def api_keys_map(text: str, *, key: str = "security.api_keys_secret") -> str:
    """The Secret's keys.map from the secret config value (one key a line); ValueError naming what is wrong."""
    keys = [line.strip() for line in text.splitlines() if line.strip()]
    if not keys:
        raise ValueError(f"the secret config value of {key} holds no API key; put one key per line")
    if len(keys) > MAX_API_KEYS:
        raise ValueError(f"the secret config value of {key} holds {len(keys)} keys; at most {MAX_API_KEYS}")
    for number, value in enumerate(keys, 1):
        if not API_KEY.match(value):
            raise ValueError(
                f"line {number} of the secret config value of {key} is not an API key (found {len(value)} "
                "characters); each key is 32 to 128 letters, digits, '-' or '_' (e.g. `openssl rand -hex 32`)"
            )
    return "".join(f'"{value}" 1;\n' for value in sorted(set(keys)))


def nginx_config(plan: EnvironmentPlan, runtime: Runtime, upstream_port: int | None = None) -> str:
    """The gate's nginx.conf (deterministic; no value in it comes from free text: CIDRs are canonical).
    `upstream_port`: where admitted requests go - the drift monitor's proxy when the model has one, else the
    model server's HTTP port."""
    access = plan.access
    upstream = upstream_port or runtime.http_port
    lines = [
        "# mlinfra gate: who may call this model (see manifests/gate.py)",
        "worker_processes 1;",
        "pid /tmp/nginx.pid;",
        "error_log /dev/stderr warn;",
        "events { worker_connections 1024; }",
        "http {",
        "  server_tokens off;",
        "  access_log /dev/stdout;",
        f"  client_max_body_size {MAX_BODY};",
        *(f"  {kind}_temp_path /tmp/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")),
        "  # the caller: the last X-Forwarded-For address, appended by the ingress controller or ALB",
        "  real_ip_header X-Forwarded-For;",
        "  set_real_ip_from 0.0.0.0/0;",
        "  set_real_ip_from ::/0;",
        "  real_ip_recursive off;",
    ]
    if access.authentication == "api_key":
        lines += [
            f"  map $http_{API_KEY_HEADER.lower().replace('-', '_')} $mlinfra_api_key {{",
            "    default 0;",
            f"    include {API_KEYS_DIR}/{API_KEYS_FILE};",
            "  }",
        ]
    lines += ["  server {", f"    listen {GATE_PORT};"]
    if access.allowed_cidrs:
        lines += [f"    allow {cidr};" for cidr in access.allowed_cidrs]
        lines.append("    deny all;")
    if access.authentication == "oidc":
        lines += [
            f"    location = {OIDC_CHECK} {{",
            "      internal;",
            f"      proxy_pass http://127.0.0.1:{OIDC_PORT}/oauth2/auth;",
            "      proxy_pass_request_body off;",
            '      proxy_set_header Content-Length "";',
            '      proxy_set_header Cookie "";',
            "    }",
        ]
    # the edge's health check (the ALB's): the model's readiness, without credentials, from any address
    lines += [f"    location = {READY_PATH} {{", "      allow all;"]
    if runtime.readiness_path:
        lines.append(f"      proxy_pass http://127.0.0.1:{runtime.http_port}{runtime.readiness_path};")
    else:
        lines.append("      return 200;")
    lines += ["    }", "    location / {"]
    if access.authentication == "api_key":
        lines.append("      if ($mlinfra_api_key = 0) { return 401; }")
        lines.append(f'      proxy_set_header {API_KEY_HEADER} "";')
    if access.authentication == "oidc":
        lines.append(f"      auth_request {OIDC_CHECK};")
    lines += [
        "      proxy_http_version 1.1;",
        "      proxy_request_buffering off;",
        f"      proxy_read_timeout {PROXY_TIMEOUT_S}s;",
        f"      proxy_pass http://127.0.0.1:{upstream};",
        "    }",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def gate_configmap(plan: EnvironmentPlan, model: ModelSpec, runtime: Runtime) -> dict[str, Any]:
    meta = model_metadata(plan, model)
    meta["name"] = config_name(model)
    upstream = drift.PROXY_PORT if drift.has_drift(model) else runtime.http_port  # the monitor samples what passes
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {GATE_CONFIG_FILE: nginx_config(plan, runtime, upstream)}}


def build_api_keys_secret(plan: EnvironmentPlan, model: ModelSpec, keys_map: Any) -> dict[str, Any]:
    """The model's API-key Secret; `keys_map` is api_keys_map's text (a Pulumi secret Output in the program)."""
    meta = model_metadata(plan, model)
    meta["name"] = api_keys_secret_name(model)
    return {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
            "stringData": {API_KEYS_FILE: keys_map}}


def _resources(cpu: str, memory: str) -> dict[str, Any]:
    amounts = {"cpu": cpu, "memory": memory, "ephemeral-storage": "256Mi"}
    return {"requests": dict(amounts), "limits": dict(amounts)}


def gate_containers(plan: EnvironmentPlan, model: ModelSpec) -> list[dict[str, Any]]:
    """The gate (and for oidc the token checker) containers of an exposed model's pod."""
    gate: dict[str, Any] = {
        "name": GATE_CONTAINER,
        "image": GATE_IMAGE,
        "imagePullPolicy": IMAGE_PULL_POLICY,
        "command": ["nginx", "-c", f"{GATE_CONFIG_DIR}/{GATE_CONFIG_FILE}", "-g", "daemon off;"],
        "ports": [{"name": PORT_GATE, "containerPort": GATE_PORT, "protocol": "TCP"}],
        "resources": _resources("100m", "64Mi"),
        "securityContext": container_security_context(GATE_UID),
        "livenessProbe": {"tcpSocket": {"port": PORT_GATE}, "periodSeconds": 10, "timeoutSeconds": 3},
        "readinessProbe": {"tcpSocket": {"port": PORT_GATE}, "periodSeconds": 5, "timeoutSeconds": 3},
        "volumeMounts": [
            {"name": "gate-config", "mountPath": GATE_CONFIG_DIR, "readOnly": True},
            {"name": "gate-tmp", "mountPath": "/tmp"},
            *([{"name": "api-keys", "mountPath": API_KEYS_DIR, "readOnly": True}]
              if plan.access.authentication == "api_key" else []),
        ],
    }
    containers = [gate]
    if plan.access.authentication == "oidc":
        containers.append(_oidc_container(plan))
    return containers


def _oidc_container(plan: EnvironmentPlan) -> dict[str, Any]:
    """oauth2-proxy answering /oauth2/auth for bearer JWTs only (flags of oauth2-proxy v7)."""
    access = plan.access
    if not access.oidc_issuer or not access.oidc_audience:
        raise PlanError(
            "security.authentication is 'oidc' but security.oidc is not set: the gate in front of each model checks "
            "callers' bearer tokens against the identity provider; set security.oidc.issuer and "
            "security.oidc.audience, or choose security.authentication api_key"
        )
    args = [
        f"--http-address=0.0.0.0:{OIDC_PORT}",  # kubelet probes reach it; the NetworkPolicy admits no one
        "--provider=oidc",
        f"--oidc-issuer-url={access.oidc_issuer}",
        f"--client-id={access.oidc_audience[0]}",
        *(f"--oidc-extra-audience={aud}" for aud in access.oidc_audience[1:]),
        "--skip-jwt-bearer-tokens=true",
        "--bearer-token-login-fallback=false",
        "--email-domain=*",
        "--upstream=static://202",
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
    ]
    return {
        "name": OIDC_CONTAINER,
        "image": OIDC_IMAGE,
        "imagePullPolicy": IMAGE_PULL_POLICY,
        "args": args,
        "env": [
            {"name": "OAUTH2_PROXY_CLIENT_SECRET", "value": OIDC_UNUSED_SECRET},
            {"name": "OAUTH2_PROXY_COOKIE_SECRET", "value": OIDC_UNUSED_SECRET},
        ],
        "ports": [{"name": "oidc", "containerPort": OIDC_PORT, "protocol": "TCP"}],
        "resources": _resources("100m", "128Mi"),
        "securityContext": container_security_context(OIDC_UID),
        "livenessProbe": {"httpGet": {"path": "/ping", "port": OIDC_PORT}, "periodSeconds": 10, "timeoutSeconds": 3},
        "readinessProbe": {"httpGet": {"path": "/ready", "port": OIDC_PORT}, "periodSeconds": 5, "timeoutSeconds": 3},
    }


def gate_volumes(plan: EnvironmentPlan, model: ModelSpec) -> list[dict[str, Any]]:
    volumes: list[dict[str, Any]] = [
        {"name": "gate-config", "configMap": {"name": config_name(model)}},
        {"name": "gate-tmp", "emptyDir": {"sizeLimit": "128Mi"}},
    ]
    if plan.access.authentication == "api_key":
        volumes.append({"name": "api-keys", "secret": {"secretName": api_keys_secret_name(model)}})
    return volumes


def service_target_port(plan: EnvironmentPlan, model: ModelSpec | None = None) -> str:
    """Where the Service's http port leads: the gate when there is one, else the drift monitor's proxy when the
    model has one, else the model."""
    if gated(plan):
        return PORT_GATE
    return PORT_DRIFT_PROXY if model is not None and drift.has_drift(model) else PORT_HTTP
