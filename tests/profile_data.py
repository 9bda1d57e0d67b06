"""Shared test data: profiles as plain dicts and one way to derive variants (no tests here).

Importable from every test folder (pyproject: pytest `pythonpath = ["tests"]`).
"""

from __future__ import annotations

import copy
from typing import Any

# Two models (CPU lightgbm from S3, GPU pytorch from a PVC) on an existing cluster; distinct numbers throughout.
LOAN_DESK: dict[str, Any] = {
    "version": 1,
    "name": "loan-desk",
    "environments": {"dev": None, "prod": {"min_replicas": 3, "max_replicas": 9}},
    "models": [
        {
            "name": "scorer",
            "framework": "lightgbm",
            "artifact": "s3://risk-models/scorer/v12",
            "resources": {"cpu": 1.5, "memory_gib": 3},
            "traffic": {"average_rps": 11, "peak_rps": 130},
            "slo": {"latency_p95_ms": 170, "availability": 0.997},
        },
        {
            "name": "doc-reader",
            "framework": "pytorch",
            "artifact": "pvc://model-store/doc-reader/v4",
            "resources": {"cpu": 6, "memory_gib": 22, "gpus": 2},
            "traffic": {"average_rps": 17, "peak_rps": 45},
            "slo": {"latency_p95_ms": 650, "availability": 0.995},
        },
    ],
    "security": {"exposure": "internal", "authentication": "api_key"},
    "onprem": {
        "kube_context": "dc2-admin",
        "gpu_nodes": 3,
        "gpu_type": "a10",
        "storage_class": "longhorn",
        "ingress_class": "traefik",
        "ingress_namespace": "traefik-system",
    },
}


# an LLM served by vLLM on one GPU (autoscaling on waiting requests), and office hours for dev's scale-to-zero
ADVISOR_LLM: dict[str, Any] = {
    "name": "advisor",
    "framework": "llm",
    "artifact": "pvc://model-store/advisor/v3",
    "resources": {"cpu": 7, "memory_gib": 41, "gpus": 1, "gpu_memory_gib": 20},
    "traffic": {"average_rps": 0.7, "peak_rps": 3.1},
    "slo": {"latency_p95_ms": 9500, "availability": 0.99},
}
DEV_SCHEDULE: dict[str, str] = {"timezone": "Europe/Vienna", "start": "30 7 * * 1-5", "end": "15 18 * * 1-5"}


def changed(base: dict[str, Any], /, **changes: Any) -> dict[str, Any]:
    """A deep copy of `base` with dotted-path changes (`"models.0.framework": "onnx"`); a value of None deletes."""
    result = copy.deepcopy(base)
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        node = result
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        key = int(last) if last.isdigit() else last
        if value is None:
            del node[key]
        else:
            node[key] = value
    return result
