"""The pod of one model server: runtime container, artifact delivery, restricted security, GPUs, spreading."""

from __future__ import annotations

import math
from typing import Any

from mlinfra.conventions import (
    CONTAINER_SERVER,
    LABEL_GPU_PRODUCT,
    PORT_GRPC,
    PORT_HTTP,
    PORT_METRICS,
    RESOURCE_GPU,
    selector_labels,
)
from mlinfra.manifests import drift, gate
from mlinfra.manifests.artifacts import ArtifactDelivery, artifact_delivery
from mlinfra.manifests.common import (
    IMAGE_PULL_POLICY,
    container_security_context,
    cpu_quantity,
    gib_quantity,
    model_labels,
    pod_security_context,
)
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes.catalog import RUNTIMES, Runtime

# Sizes of the runtime's writable emptyDirs (the root filesystem is read-only).
WRITABLE_DIR_GIB = {"tmp": 1, "cache": 8}
SHM_VOLUME = "dshm"
SHM_SIZE = "1Gi"  # what TGI and vLLM document for one GPU (`--shm-size 1g`)
LOG_AND_LAYER_GIB = 1  # container logs and writable layer (nothing else writes: read-only root)

# nvidia.com/gpu.product values (GPU feature discovery: the NVML name, spaces -> '-') per profile gpu_type.
GPU_PRODUCTS: dict[str, tuple[str, ...]] = {
    "t4": ("Tesla-T4",),
    "l4": ("NVIDIA-L4",),
    "l40s": ("NVIDIA-L40S",),
    "a10": ("NVIDIA-A10",),
    "a10g": ("NVIDIA-A10G",),
    "a100": ("NVIDIA-A100-SXM4-40GB", "NVIDIA-A100-SXM4-80GB", "NVIDIA-A100-PCIE-40GB", "NVIDIA-A100-80GB-PCIe"),
    "h100": ("NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H100-NVL"),
}

PROBE_PERIOD_S = 10


def runtime_of(model: ModelSpec) -> Runtime:
    return RUNTIMES[model.runtime]


def gpu_products(gpu_type: str) -> list[str]:
    """Node label values that mean `gpu_type`; an unlisted type maps to NVIDIA-<TYPE> (GFD's naming)."""
    return list(GPU_PRODUCTS.get(gpu_type.lower(), (f"NVIDIA-{gpu_type.upper()}",)))


def pod_template(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    """Deployment.spec.template of a model server."""
    runtime = runtime_of(model)
    uid = runtime.run_as_user
    delivery = artifact_delivery(model, uid, tmp_volume="tmp")
    spec: dict[str, Any] = {
        "serviceAccountName": model.k8s_name,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": pod_security_context(uid),
        "terminationGracePeriodSeconds": 30,
        "containers": [server_container(model, runtime, delivery)],
        "volumes": _volumes(runtime, delivery),
    }
    if gate.gated(plan):  # callers reach the model through the gate (manifests/gate.py)
        spec["containers"] += gate.gate_containers(plan, model)
        spec["volumes"] += gate.gate_volumes(plan, model)
    init_containers = list(delivery.init_containers)
    if drift.has_drift(model):  # the drift monitor's proxy in front of the server (manifests/drift.py)
        spec["containers"].append(drift.drift_container(model))
        spec["volumes"] += drift.drift_volumes(model, spec["volumes"])
        init_containers += drift.reference_fetch(model, uid, tmp_volume="tmp")
    if init_containers:
        spec["initContainers"] = init_containers
    if model.gpus > 0:
        spec["tolerations"] = [{"key": RESOURCE_GPU, "operator": "Exists", "effect": "NoSchedule"}]
        if model.gpu_type:
            spec["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": LABEL_GPU_PRODUCT, "operator": "In", "values": gpu_products(model.gpu_type)}
                                ]
                            }
                        ]
                    }
                }
            }
    if model.min_replicas >= 2:  # replicas that exist for availability must not share a host
        spec["topologySpreadConstraints"] = topology_spread(plan, model)
    return {"metadata": {"labels": model_labels(plan, model)}, "spec": spec}


def topology_spread(plan: EnvironmentPlan, model: ModelSpec) -> list[dict[str, Any]]:
    """Replicas on different hosts (hard) and across zones where nodes have zone labels (soft)."""
    labels = selector_labels(profile=plan.profile_name, environment=plan.environment, model=model.name)
    selector = {"matchLabels": labels}
    return [
        {
            "maxSkew": 1,
            "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "DoNotSchedule",
            "labelSelector": selector,
        },
        {
            "maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": selector,
        },
    ]


def server_container(model: ModelSpec, runtime: Runtime, delivery: ArtifactDelivery) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": CONTAINER_SERVER,
        "image": model.image,
        "imagePullPolicy": IMAGE_PULL_POLICY,
    }
    command = runtime.container_command(model.name, model.framework)
    args = runtime.container_args(model.name, model.framework)
    env = runtime.container_env(model.name, model.framework)
    if command:
        container["command"] = command
    if args:
        container["args"] = args
    if env:
        container["env"] = env
    container["ports"] = container_ports(runtime)
    container["resources"] = server_resources(model, runtime, delivery)
    container["securityContext"] = container_security_context(runtime.run_as_user)
    container.update(probes(runtime))
    container["volumeMounts"] = [
        delivery.model_mount,
        *({"name": name, "mountPath": path} for name, path in runtime.writable_dirs),
        *([{"name": SHM_VOLUME, "mountPath": "/dev/shm"}] if runtime.shared_memory else []),
    ]
    return container


def container_ports(runtime: Runtime) -> list[dict[str, Any]]:
    ports = [{"name": PORT_HTTP, "containerPort": runtime.http_port, "protocol": "TCP"}]
    if runtime.grpc_port is not None:
        ports.append({"name": PORT_GRPC, "containerPort": runtime.grpc_port, "protocol": "TCP"})
    if not runtime.metrics_on_http_port:
        ports.append({"name": PORT_METRICS, "containerPort": runtime.metrics_port, "protocol": "TCP"})
    return ports


def server_resources(model: ModelSpec, runtime: Runtime, delivery: ArtifactDelivery) -> dict[str, Any]:
    """Guaranteed QoS: requests equal limits. Ephemeral storage covers the fetched model and scratch dirs."""
    scratch = sum(WRITABLE_DIR_GIB[name] for name, _ in runtime.writable_dirs)
    storage = f"{delivery.fetched_gib + scratch + LOG_AND_LAYER_GIB}Gi"
    amounts = {"cpu": cpu_quantity(model.cpu), "memory": gib_quantity(model.memory_gib), "ephemeral-storage": storage}
    limits = dict(amounts)
    if model.gpus > 0:
        limits[RESOURCE_GPU] = str(model.gpus)
    return {"requests": amounts, "limits": limits}


def probes(runtime: Runtime) -> dict[str, Any]:
    """Liveness, readiness and startup probes on the runtime's real health endpoints."""

    def handler(path: str | None) -> dict[str, Any]:
        if path is None:
            return {"tcpSocket": {"port": PORT_HTTP}}
        return {"httpGet": {"path": path, "port": PORT_HTTP, "scheme": "HTTP"}}

    return {
        "startupProbe": {
            **handler(runtime.liveness_path),
            "periodSeconds": PROBE_PERIOD_S,
            "timeoutSeconds": 5,
            "failureThreshold": math.ceil(runtime.startup_seconds / PROBE_PERIOD_S),
        },
        "livenessProbe": {
            **handler(runtime.liveness_path),
            "periodSeconds": PROBE_PERIOD_S,
            "timeoutSeconds": 5,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            **handler(runtime.readiness_path),
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
    }


def _volumes(runtime: Runtime, delivery: ArtifactDelivery) -> list[dict[str, Any]]:
    volumes = list(delivery.volumes)
    for name, _ in runtime.writable_dirs:
        volumes.append({"name": name, "emptyDir": {"sizeLimit": f"{WRITABLE_DIR_GIB[name]}Gi"}})
    if runtime.shared_memory:
        volumes.append({"name": SHM_VOLUME, "emptyDir": {"medium": "Memory", "sizeLimit": SHM_SIZE}})
    return volumes
