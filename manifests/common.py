"""Small shared pieces of every serving object: metadata, quantities, the restricted security context."""

from __future__ import annotations

import math
from typing import Any

from mlinfra.conventions import COMPONENT_MODEL_SERVER, standard_labels
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec

IMAGE_PULL_POLICY = "IfNotPresent"  # every image is pinned to a version tag


def model_metadata(
    plan: EnvironmentPlan, model: ModelSpec, annotations: dict[str, Any] | None = None
) -> dict[str, Any]:
    """metadata of a per-model object: named after the model, in the environment's namespace, standard labels."""
    meta: dict[str, Any] = {
        "name": model.k8s_name,
        "namespace": plan.namespace,
        "labels": model_labels(plan, model),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def model_labels(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, str]:
    return standard_labels(
        profile=plan.profile_name, environment=plan.environment, component=COMPONENT_MODEL_SERVER, model=model.name
    )


def cpu_quantity(cores: float) -> str:
    """1 -> "1", 0.5 -> "500m", 2.25 -> "2250m"."""
    if float(cores).is_integer():
        return str(int(cores))
    return f"{round(cores * 1000)}m"


def gib_quantity(gib: float) -> str:
    """2 -> "2Gi", 1.5 -> "1536Mi"."""
    if float(gib).is_integer():
        return f"{int(gib)}Gi"
    return f"{math.ceil(gib * 1024)}Mi"


def pod_security_context(uid: int) -> dict[str, Any]:
    """Pod-level part of the restricted Pod Security Standard; fsGroup makes emptyDirs writable for uid."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(uid: int) -> dict[str, Any]:
    """Container-level restricted PSS: non-root, no escalation, no capabilities, read-only root filesystem."""
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def find_none(obj: Any, path: str = "") -> list[str]:
    """Paths of None values left in a built object (builders must leave none; tests assert this)."""
    if obj is None:
        return [path or "."]
    if isinstance(obj, dict):
        return [p for k, v in obj.items() for p in find_none(v, f"{path}.{k}")]
    if isinstance(obj, list):
        return [p for i, v in enumerate(obj) for p in find_none(v, f"{path}[{i}]")]
    return []
