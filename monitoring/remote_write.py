"""Remote write to a long-term store (monitoring.remote_write: Thanos Receive or Grafana Mimir), as the chart's
`prometheus.prometheusSpec.remoteWrite` and the Secret its credentials come from.

The credentials never appear in the values: the Prometheus Operator's RemoteWriteSpec takes `basicAuth.username`
/ `basicAuth.password` and `authorization.credentials` as Secret key references (SecretKeySelector) to a Secret in
the Prometheus' namespace. That Secret, REMOTE_WRITE_SECRET_NAME, is filled from the Pulumi secret config key
monitoring.remote_write.credentials_secret names (components/monitoring_stack.py); render lists it in SECRETS.md
and writes a placeholder never. A tenant goes in the store's header (Mimir X-Scope-OrgID, Thanos THANOS-TENANT).
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import COMPONENT_MONITORING, standard_labels
from mlinfra.planning.specs import EnvironmentPlan

REMOTE_WRITE_SECRET_NAME = "mlinfra-remote-write"
USERNAME_KEY = "username"
PASSWORD_KEY = "password"
TOKEN_KEY = "token"
TENANT_HEADER = {"mimir": "X-Scope-OrgID", "thanos": "THANOS-TENANT"}
PLACEHOLDER = "<pulumi secret: {key}>"


def remote_write_values(plan: EnvironmentPlan) -> list[dict[str, Any]]:
    """The `remoteWrite` list of the Prometheus spec: one endpoint, or none without monitoring.remote_write."""
    rw = plan.monitoring.remote_write
    if rw is None:
        return []
    endpoint: dict[str, Any] = {"name": rw.kind, "url": rw.url}
    if rw.tenant:
        endpoint["headers"] = {TENANT_HEADER[rw.kind]: rw.tenant}
    ref = lambda key: {"name": REMOTE_WRITE_SECRET_NAME, "key": key}  # noqa: E731
    if rw.auth == "basic":
        endpoint["basicAuth"] = {"username": ref(USERNAME_KEY), "password": ref(PASSWORD_KEY)}
    elif rw.auth == "bearer":
        endpoint["authorization"] = {"type": "Bearer", "credentials": ref(TOKEN_KEY)}
    return [endpoint]


def remote_write_secret_key(plan: EnvironmentPlan) -> str | None:
    """The Pulumi secret config key the remote-write Secret is filled from (None: no credentials)."""
    rw = plan.monitoring.remote_write
    return rw.credentials_secret if rw is not None and rw.auth != "none" else None


def build_remote_write_secret(plan: EnvironmentPlan, credential: Any = None) -> dict[str, Any] | None:
    """The Secret the Prometheus reads its remote-write credentials from; None without credentials.
    `credential`: the Pulumi secret's value (an Output); without it the placeholder render describes."""
    key = remote_write_secret_key(plan)
    rw = plan.monitoring.remote_write
    if key is None or rw is None:
        return None
    value = credential if credential is not None else PLACEHOLDER.format(key=key)
    data = {USERNAME_KEY: rw.username, PASSWORD_KEY: value} if rw.auth == "basic" else {TOKEN_KEY: value}
    labels = standard_labels(profile=plan.profile_name, environment=plan.environment, component=COMPONENT_MONITORING)
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {"name": REMOTE_WRITE_SECRET_NAME, "namespace": plan.monitoring.namespace, "labels": labels},
        "stringData": data,
    }


def secret_sources(plan: EnvironmentPlan) -> dict[str, str]:
    """{Secret key: where its value comes from} for SECRETS.md: `config:KEY` (a Pulumi secret config key) or
    `literal:TEXT` (the user name, the profile's and no secret)."""
    key = remote_write_secret_key(plan)
    rw = plan.monitoring.remote_write
    if key is None or rw is None:
        return {}
    if rw.auth == "basic":
        return {USERNAME_KEY: f"literal:{rw.username}", PASSWORD_KEY: f"config:{key}"}
    return {TOKEN_KEY: f"config:{key}"}
