"""Every Kubernetes object that serves one environment's models, as plain dicts (deterministic, no None values).

Per environment: the Namespace (Pod Security Standard `restricted` enforced) and a default-deny NetworkPolicy.
Per model: ServiceAccount, Deployment, Service, ScaledObject or HorizontalPodAutoscaler, PodDisruptionBudget (>= 2 replicas),
NetworkPolicy, the drift monitor's ConfigMap (monitoring.drift, manifests/drift.py), and an Ingress when the profile
exposes models (internal/public).

The Deployment leaves `spec.replicas` unset: the HPA owns the replica count (min/max from sizing) - its own
(autoscaling.metric cpu) or the one KEDA creates for the ScaledObject (metric requests, manifests/autoscaling.py) -
and a re-applied fixed count would fight it, the Kubernetes documentation's advice for HPA-managed Deployments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlinfra.conventions import COMPONENT_SERVING, CONTAINER_SERVER, PORT_HTTP, selector_labels, standard_labels
from mlinfra.manifests import drift, gate, network
from mlinfra.manifests.autoscaling import autoscaler
from mlinfra.manifests.common import model_metadata
from mlinfra.manifests.pod import pod_template, runtime_of
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec

PSS_LEVEL = "restricted"
PSS_ENFORCE_VERSION = "v1.30"  # pinned: the oldest Kubernetes release mlinfra validates against
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"


def build_namespace_objects(plan: EnvironmentPlan) -> list[dict[str, Any]]:
    """The environment's Namespace (PSS restricted: enforce pinned, warn/audit at latest) and default deny."""
    labels = standard_labels(profile=plan.profile_name, environment=plan.environment, component=COMPONENT_SERVING)
    pss = {
        "pod-security.kubernetes.io/enforce": PSS_LEVEL,
        "pod-security.kubernetes.io/enforce-version": PSS_ENFORCE_VERSION,
        "pod-security.kubernetes.io/warn": PSS_LEVEL,
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": PSS_LEVEL,
        "pod-security.kubernetes.io/audit-version": "latest",
    }
    metadata = {"name": plan.namespace, "labels": {**labels, **pss}}
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}
    return [namespace, network.default_deny(plan, labels)]


def build_model_objects(
    plan: EnvironmentPlan, model: ModelSpec, *, artifact_role_arn: Any = None
) -> list[dict[str, Any]]:
    """The serving objects of one model. `artifact_role_arn` (EKS): IAM role for IRSA, e.g. a Pulumi Output."""
    runtime = runtime_of(model)
    objects = [
        service_account(plan, model, artifact_role_arn),
        deployment(plan, model),
        network.service(plan, model, runtime),
        autoscaler(plan, model),
    ]
    if model.min_replicas >= 2:
        objects.append(disruption_budget(plan, model))
    objects.append(network.network_policy(plan, model, runtime))
    if gate.gated(plan):
        objects.append(gate.gate_configmap(plan, model, runtime))
    if drift.has_drift(model):
        objects.append(drift.drift_configmap(plan, model, runtime))
    if plan.exposure in ("internal", "public"):
        objects.append(network.ingress(plan, model, runtime))
    return list(objects)


def endpoint_of(objects: list[Mapping[str, Any]]) -> str:
    """Where callers reach a model, from its objects: the Ingress host (TLS), else the cluster-internal Service URL."""
    for obj in objects:
        if obj["kind"] == "Ingress":
            return f"https://{obj['spec']['rules'][0]['host']}"
    for obj in objects:
        if obj["kind"] == "Service":
            meta = obj["metadata"]
            port = next(p["port"] for p in obj["spec"]["ports"] if p["name"] == PORT_HTTP)
            return f"http://{meta['name']}.{meta['namespace']}.svc.cluster.local:{port}"
    raise ValueError("a model server needs a Service or an Ingress")


def build_serving_objects(plan: EnvironmentPlan) -> list[dict[str, Any]]:
    """Namespace objects followed by every model's objects (what `render` writes for serving)."""
    objects = build_namespace_objects(plan)
    for model in plan.models:
        objects += build_model_objects(plan, model)
    return objects


def _selector(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, str]:
    return selector_labels(profile=plan.profile_name, environment=plan.environment, model=model.name)


def service_account(plan: EnvironmentPlan, model: ModelSpec, role_arn: Any = None) -> dict[str, Any]:
    annotations = {IRSA_ANNOTATION: role_arn} if role_arn is not None else None
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": model_metadata(plan, model, annotations=annotations),
        "automountServiceAccountToken": False,
    }


def deployment(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    runtime = runtime_of(model)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": model_metadata(plan, model),
        "spec": {
            "selector": {"matchLabels": _selector(plan, model)},
            "revisionHistoryLimit": 5,
            # Surge one replica before taking one away: capacity never drops during a rollout.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "progressDeadlineSeconds": max(600, runtime.startup_seconds + 300),
            "template": pod_template(plan, model),
        },
    }


def disruption_budget(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    """At most one replica down for voluntary disruptions (drains, upgrades)."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": model_metadata(plan, model),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": _selector(plan, model)}},
    }
