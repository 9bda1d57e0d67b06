"""Fixtures for unit tests: hand-built EnvironmentPlans with distinct numbers (monitoring builders)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from drift_data import drift_spec

from mlinfra.planning.specs import (
    DriftSpec,
    EnvironmentPlan,
    ModelSpec,
    MonitoringSpec,
    ReceiverSpec,
    RoutedEnvironment,
    SmtpSpec,
)


@pytest.fixture
def make_drift() -> Callable[..., DriftSpec]:
    return drift_spec


def _model(**overrides: Any) -> ModelSpec:
    values: dict[str, Any] = dict(
        name="churn", k8s_name="churn", framework="sklearn", runtime="mlserver", image="seldonio/mlserver:1.7.1",
        artifact="s3://models/churn/v3", artifact_kind="s3", cpu=1.5, memory_gib=3.0, gpus=0, gpu_type=None,
        min_replicas=2, max_replicas=7, capacity_rps_per_replica=36.0, average_rps=5.0, peak_rps=40.0,
        latency_p95_ms=250.0, availability=0.995,
    )
    values.update(overrides)
    return ModelSpec(**values)


def _plan(models: tuple[ModelSpec, ...] | None = None, **overrides: Any) -> EnvironmentPlan:
    env = overrides.get("environment", "prod")  # owns its monitoring stack, alone on its cluster
    monitoring = MonitoringSpec(
        namespace="monitoring", retention_days=15, storage_gib=60, storage_class="fast-ssd",
        receivers=(
            ReceiverSpec(type="email", name="email", to="ml-ops@example.com"),
            ReceiverSpec(type="slack", name="slack", secret_key="slackWebhookUrl", channel="#ml-alerts"),
            ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="pagerdutyRoutingKey"),
        ),
        smtp=SmtpSpec(smarthost="smtp.example.com:587", from_address="am@example.com", auth_username="am",
                      auth_password_secret="smtpPassword", require_tls=True),
        alerts_page=True, drift=True, grafana_admin_password_secret="grafanaAdminPw",
        runbook_url="https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md",
        owns_stack=True, stack_owner=env, routed_environments=(RoutedEnvironment(name=env, alerts_page=True),),
    )
    values: dict[str, Any] = dict(
        profile_name="churn-scoring", environment="prod", tier="prod", target="onprem-k8s",
        namespace="churn-scoring-prod", high_availability=True, protect=True, exposure="internal",
        authentication="oidc", classification="personal", domain="ml.example.com", tls_secret="churn-scoring-prod-tls",
        ingress_class="nginx", ingress_namespace="ingress-nginx", models=models or (_model(),), monitoring=monitoring,
    )
    values.update(overrides)
    return EnvironmentPlan(**values)


@pytest.fixture
def make_model() -> Callable[..., ModelSpec]:
    return _model


@pytest.fixture
def make_plan() -> Callable[..., EnvironmentPlan]:
    """make_plan(models=(...), **EnvironmentPlan fields); `monitoring=` replaces fields via with_monitoring.
    The plan owns its monitoring stack alone (routed_environments: itself, paging)."""
    return _plan


@pytest.fixture
def with_monitoring() -> Callable[..., EnvironmentPlan]:
    def run(plan: EnvironmentPlan, **fields: Any) -> EnvironmentPlan:
        if "alerts_page" in fields and "routed_environments" not in fields:  # the plan's own entry follows
            fields["routed_environments"] = tuple(
                dataclasses.replace(r, alerts_page=fields["alerts_page"]) if r.name == plan.environment else r
                for r in plan.monitoring.routed_environments
            )
        return dataclasses.replace(plan, monitoring=dataclasses.replace(plan.monitoring, **fields))

    return run
