"""A profile for the aws-sagemaker tests: one model Serverless takes, one it cannot (8 GiB, availability 99.9 %),
three receivers (two need secrets), distinct numbers so every figure is traceable."""

from __future__ import annotations

import copy
from typing import Any

LAB: dict[str, Any] = {
    "version": 1,
    "name": "sm-lab",
    "team": "risk-ml",
    "environments": {"dev": {}, "prod": {"max_replicas": 7}},
    "models": [
        {
            "name": "scorer",
            "framework": "sklearn",
            "artifact": "s3://lab-models/scorer/v3",
            "resources": {"cpu": 1, "memory_gib": 2},
            "traffic": {"average_rps": 4, "peak_rps": 12},
            "slo": {"latency_p95_ms": 250, "availability": 0.995},
        },
        {
            "name": "ranker",
            "framework": "xgboost",
            "artifact": "https://models.example.org/ranker-7.tar.gz",
            "resources": {"cpu": 2, "memory_gib": 8},
            "traffic": {"average_rps": 0.05, "peak_rps": 30},
            "slo": {"latency_p95_ms": 90, "availability": 0.999},
        },
    ],
    "data": {"sovereignty": "eu", "classification": "internal"},
    "security": {"exposure": "internal", "authentication": "api_key"},
    "cloud": {"region": "eu-west-1"},
    "monitoring": {
        "retention_days": 11,
        "notify": [
            {"type": "email", "to": "oncall@example.org"},
            {"type": "slack", "webhook_secret": "slackHook"},
            {"type": "pagerduty", "routing_key_secret": "pdKey"},
        ],
    },
}


def lab_data(**patch: Any) -> dict[str, Any]:
    data = copy.deepcopy(LAB)
    for key, value in patch.items():
        data[key] = copy.deepcopy(value)
    return data
