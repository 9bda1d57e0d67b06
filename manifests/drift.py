"""The drift monitor beside a model server (monitoring.drift, models[].drift, a runtime serving V2 over HTTP).

`mlinfra drift serve` runs as a second container of the model's pod: a V2 (Open Inference protocol) proxy in front of
the model server on loopback, which passes every request and response through unchanged and samples a share of them
off the request path, and a /metrics port with the drift scores. So:
- the Service's `http` port (or the gate's upstream, manifests/gate.py) leads to the monitor's proxy port, which
  forwards to the server on 127.0.0.1 - every HTTP inference request passes it; gRPC goes to the server directly
  and is not sampled;
- its config file is rendered from mlinfra.drift.config's model (so the monitor and the render agree by
  construction) into a ConfigMap, also written as drift/<model>.yaml;
- the reference sample reaches it like the model artifact: s3:// and https:// are fetched by an init container
  (the artifact's fetch images, its credentials Secret, the same restricted security context) into an emptyDir,
  pvc:// is mounted read-only from its claim;
- it runs under the restricted Pod Security Standard like the server (non-root, read-only root filesystem, no
  capabilities), with requests equal to limits, probes on /healthz and /readyz.
"""

from __future__ import annotations

import math
import posixpath
from typing import Any

from mlinfra.conventions import (
    CONTAINER_DRIFT,
    PORT_DRIFT_METRICS,
    PORT_DRIFT_PROXY,
    k8s_name,
)
from mlinfra.drift.config import (
    DEFAULT_LISTEN,
    DEFAULT_METRICS_LISTEN,
    DriftConfig,
    ModelDrift,
    split_host_port,
)
from mlinfra.files.dump import to_yaml
from mlinfra.manifests.artifacts import (
    CREDENTIALS_DIR,
    CREDENTIALS_VOLUME,
    FETCH_IMAGES,
    FETCH_RESOURCES,
    aws_cli_env,
    pvc_location,
)
from mlinfra.manifests.common import IMAGE_PULL_POLICY, container_security_context, cpu_quantity, model_metadata
from mlinfra.conventions import artifact_secret_name
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes.catalog import Runtime

DRIFT_UID = 65532  # the monitor image's non-root user (Dockerfile)
PROXY_PORT = split_host_port(DEFAULT_LISTEN)[1]  # 8090
METRICS_PORT = split_host_port(DEFAULT_METRICS_LISTEN)[1]  # 9102
CONFIG_DIR = "/etc/mlinfra-drift"
CONFIG_FILE = "config.yaml"
REFERENCE_DIR = "/var/lib/mlinfra-drift/reference"
CONFIG_VOLUME = "drift-config"
REFERENCE_VOLUME = "drift-reference"
TMP_VOLUME = "drift-tmp"
FETCH_CONTAINER = "fetch-reference"
REFERENCE_GIB = 1  # room for the fetched reference sample (a sample, not the training set)
# CPU: passing a request through costs ~0.35 ms of CPU (bench/drift.py, docs/drift.md), the drift work ~1 % of a
# core at 1,000 requests/s sampled at 10 %. So a base for the scoring and the runtime, plus 0.5 ms a request (the
# measured cost with headroom) at the replica's sized capacity.
BASE_CPU = 0.25
CPU_PER_RPS = 0.0005
MEMORY = "512Mi"  # Python, numpy, aiohttp, the reference's baselines and a window of a few thousand rows
EPHEMERAL = f"{REFERENCE_GIB * 1024 + 512}Mi"  # the fetched reference, /tmp, logs


def has_drift(model: ModelSpec) -> bool:
    return model.drift is not None


def config_name(model: ModelSpec) -> str:
    return k8s_name(model.k8s_name, "drift")


def reference_path(model: ModelSpec) -> str:
    """Where the monitor reads the reference sample inside the pod."""
    assert model.drift is not None
    return f"{REFERENCE_DIR}/{model.k8s_name}{model.drift.reference_suffix}"


def drift_config(model: ModelSpec, runtime: Runtime) -> DriftConfig:
    """The monitor's config for one model: its proxy in front of the server on loopback, its metrics port."""
    d = model.drift
    assert d is not None, f"model {model.name} has no drift monitor"
    watched = ModelDrift(
        name=model.name,
        reference=reference_path(model),
        features=d.features,
        prediction_column=d.prediction_column,
        categorical=d.categorical,
        sample_rate=d.sample_rate,
        window=d.window,
        min_samples=d.min_samples,
        bins=d.bins,
        interval_seconds=d.interval_seconds,
    )
    return DriftConfig(
        listen=DEFAULT_LISTEN,
        upstream=f"http://127.0.0.1:{runtime.http_port}",
        metrics_listen=DEFAULT_METRICS_LISTEN,
        models=(watched,),
    )


def config_text(model: ModelSpec, runtime: Runtime) -> str:
    """The config file's text (drift/<model>.yaml and the ConfigMap's config.yaml): every field set, sorted."""
    return to_yaml(drift_config(model, runtime).model_dump(mode="json", exclude_none=True))


def drift_configmap(plan: EnvironmentPlan, model: ModelSpec, runtime: Runtime, text: str | None = None) -> dict[str, Any]:
    meta = model_metadata(plan, model)
    meta["name"] = config_name(model)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
            "data": {CONFIG_FILE: text if text is not None else config_text(model, runtime)}}


def cpu(model: ModelSpec) -> str:
    """The monitor's CPU (request = limit): the base plus the proxy's cost at the replica's sized capacity, in 50m."""
    cores = BASE_CPU + CPU_PER_RPS * model.capacity_rps_per_replica
    return cpu_quantity(math.ceil(cores * 20) / 20)


def drift_container(model: ModelSpec) -> dict[str, Any]:
    assert model.drift is not None
    amounts = {"cpu": cpu(model), "memory": MEMORY, "ephemeral-storage": EPHEMERAL}
    probe = {"periodSeconds": 10, "timeoutSeconds": 3}
    return {
        "name": CONTAINER_DRIFT,
        "image": model.drift.image,
        "imagePullPolicy": IMAGE_PULL_POLICY,
        "command": ["mlinfra", "drift", "serve", "--config", f"{CONFIG_DIR}/{CONFIG_FILE}"],
        "env": [{"name": "HOME", "value": "/tmp"}],
        "ports": [
            {"name": PORT_DRIFT_PROXY, "containerPort": PROXY_PORT, "protocol": "TCP"},
            {"name": PORT_DRIFT_METRICS, "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": dict(amounts), "limits": dict(amounts)},
        "securityContext": container_security_context(DRIFT_UID),
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": PORT_DRIFT_METRICS, "scheme": "HTTP"},
                          **probe, "failureThreshold": 3},
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": PORT_DRIFT_METRICS, "scheme": "HTTP"},
                           "periodSeconds": 5, "timeoutSeconds": 3, "failureThreshold": 3},
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
            _reference_mount(model),
            {"name": TMP_VOLUME, "mountPath": "/tmp"},
        ],
    }


def _reference_mount(model: ModelSpec) -> dict[str, Any]:
    assert model.drift is not None
    if model.drift.reference_kind == "pvc":  # the one file, read-only from its claim
        _claim, path = pvc_location(model.drift.reference)
        return {"name": REFERENCE_VOLUME, "mountPath": reference_path(model), "subPath": path, "readOnly": True}
    return {"name": REFERENCE_VOLUME, "mountPath": REFERENCE_DIR, "readOnly": True}


def drift_volumes(model: ModelSpec, existing: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The monitor's volumes; the artifact's credentials volume only when the pod has none yet."""
    assert model.drift is not None
    volumes: list[dict[str, Any]] = [
        {"name": CONFIG_VOLUME, "configMap": {"name": config_name(model)}},
        {"name": TMP_VOLUME, "emptyDir": {"sizeLimit": "256Mi"}},
    ]
    if model.drift.reference_kind == "pvc":
        claim, _path = pvc_location(model.drift.reference)
        volumes.append({"name": REFERENCE_VOLUME, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}})
    else:
        volumes.append({"name": REFERENCE_VOLUME, "emptyDir": {"sizeLimit": f"{REFERENCE_GIB}Gi"}})
        if not any(v["name"] == CREDENTIALS_VOLUME for v in existing):
            volumes.append({
                "name": CREDENTIALS_VOLUME,
                "secret": {"secretName": artifact_secret_name(model.k8s_name), "optional": True, "defaultMode": 0o440},
            })
    return volumes


def reference_fetch(model: ModelSpec, uid: int, tmp_volume: str) -> list[dict[str, Any]]:
    """The init container fetching an s3:// or https:// reference (none for pvc://), as the artifact's fetch."""
    d = model.drift
    assert d is not None
    if d.reference_kind == "pvc":
        return []
    target = f"{REFERENCE_DIR}/{posixpath.basename(reference_path(model))}"
    if d.reference_kind == "s3":
        fetch = {
            "command": ["aws"],
            "args": ["s3", "cp", "--no-progress", "--only-show-errors", d.reference, target],
            "env": aws_cli_env(),
        }
    else:  # https: the URL in the environment, never spliced into the script
        auth = f"if [ -f {CREDENTIALS_DIR}/netrc ]; then set -- --netrc-file {CREDENTIALS_DIR}/netrc; fi"
        fetch = {
            "command": ["sh", "-c"],
            "args": [f'set -eu; {auth}; curl -fsSL --retry 5 "$@" -o {target} "$REFERENCE_URL"'],
            "env": [{"name": "HOME", "value": "/tmp"}, {"name": "REFERENCE_URL", "value": d.reference}],
        }
    return [{
        "name": FETCH_CONTAINER,
        "image": FETCH_IMAGES[d.reference_kind],
        "imagePullPolicy": IMAGE_PULL_POLICY,
        **fetch,
        "resources": {"requests": dict(FETCH_RESOURCES["requests"]), "limits": dict(FETCH_RESOURCES["limits"])},
        "securityContext": container_security_context(uid),
        "volumeMounts": [
            {"name": REFERENCE_VOLUME, "mountPath": REFERENCE_DIR},
            {"name": tmp_volume, "mountPath": "/tmp"},
            {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_DIR, "readOnly": True},
        ],
    }]


def fetches_over_https(model: ModelSpec) -> bool:
    """Whether the reference fetch needs HTTPS egress (S3 or a web server)."""
    return model.drift is not None and model.drift.reference_kind != "pvc"
