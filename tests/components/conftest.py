"""Component tests: the real program under Pulumi's official mocks (mlinfra.components.offline).

The recording monitor behind `run_offline`/`run_mocked` fails on duplicate (type, name) pairs and keeps each
registration's parent, provider, protect and dependencies; tests assert on that graph after the program ran.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlinfra.guardrails.graph import kube_object_key, normalise

KUBE_CONTEXT = "lab-ctx-17"


def two_model_profile() -> dict[str, Any]:
    """Two models with distinct numbers, three notify types (two need secrets), dev/staging/prod."""
    return {
        "version": 1,
        "name": "fraud-lab",
        "team": "risk-ml",
        "environments": {"dev": {}, "staging": {}, "prod": {"min_replicas": 3, "max_replicas": 9}},
        "models": [
            {
                "name": "fraud",
                "framework": "sklearn",
                "artifact": "s3://models-lab/fraud/v7",
                "resources": {"cpu": 2, "memory_gib": 3, "gpus": 0},
                "traffic": {"average_rps": 7, "peak_rps": 55},
                "slo": {"latency_p95_ms": 180, "availability": 0.999},
            },
            {
                "name": "ranker",
                "framework": "onnx",
                "artifact": "pvc://ranker-models/v2",
                "resources": {"cpu": 1.5, "memory_gib": 5, "gpus": 0},
                "traffic": {"average_rps": 3, "peak_rps": 21},
                "slo": {"latency_p95_ms": 90, "availability": 0.99},
            },
        ],
        "data": {"sovereignty": "eu", "classification": "confidential"},
        "security": {"exposure": "internal", "authentication": "oidc",
                     "oidc": {"issuer": "https://login.example.org/realms/risk", "audience": ["fraud-lab"]}},
        "onprem": {"kube_context": KUBE_CONTEXT, "storage_class": "fast-ssd", "ingress_class": "traefik"},
        "monitoring": {
            "retention_days": 11,
            "storage_gib": 37,
            "notify": [
                {"type": "email", "to": "oncall@example.org"},
                {"type": "slack", "webhook_secret": "slackHook"},
                {"type": "pagerduty", "routing_key_secret": "pdRoutingKey"},
            ],
            "smtp": {"smarthost": "mail.example.org:25", "from_address": "alerts@example.org", "require_tls": False},
        },
    }


@pytest.fixture
def profile_data() -> dict[str, Any]:
    """A fresh copy of the two-model profile, to change before `write_profile`."""
    return two_model_profile()


@pytest.fixture
def write_profile(tmp_path: Path):
    """Write a profile dict (default: the two-model profile) to a file and return its path."""

    def write(data: dict[str, Any] | None = None, name: str = "profile.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data or two_model_profile(), sort_keys=False))
        return path

    return write


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One offline run per environment of the two-model profile (onprem-k8s), shared by a module's tests."""
    from mlinfra.program import run_offline

    path = tmp_path_factory.mktemp("profile") / "profile.yaml"
    path.write_text(yaml.safe_dump(two_model_profile(), sort_keys=False))
    return {env: run_offline(path, env, target="onprem-k8s") for env in ("dev", "prod")} | {"path": path}


@pytest.fixture
def plain():
    """Builder output and recorded inputs made comparable: JSON round trip, integral floats as ints."""

    def convert(value: Any) -> Any:
        return normalise(json.loads(json.dumps(value)))

    return convert


@pytest.fixture
def kube_objects():
    """{(group/kind, namespace, name): resource} of a run's Kubernetes objects."""

    def index(run) -> dict:
        return {key: r for r in run.resources if (key := kube_object_key(r))}

    return index
