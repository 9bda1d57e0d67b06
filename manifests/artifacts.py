"""How a model's artifact reaches MODEL_DIR: a read-only PVC mount, or an init container that fetches it.

- pvc://<claim>/<path>: the claim is mounted read-only, <path> as subPath; nothing is copied.
- s3://<bucket>/<prefix>: `aws s3 sync` of the prefix into an emptyDir. Works with AWS S3 and S3-compatible
  stores on premise. Credentials, region and endpoint come from the optional Secret
  conventions.artifact_secret_name(model) as AWS shared files (keys `credentials` and `config`, the latter may
  set `endpoint_url` for MinIO/Ceph); on EKS, IRSA replaces the Secret (the ServiceAccount gets the role).
  The Secret is created from the secret config key `models[].artifact_credentials_secret` names (its value is
  the file CREDENTIAL_FILES names), unless the model has a workload identity for its artifact.
- oci://<registry>/<repo>:<tag>: `oras pull` of an OCI artifact into an emptyDir (registry auth: key
  `config.json` of the same Secret). An init container rather than an image volume, because image volumes
  are not in the Kubernetes 1.30 API.
- https://...: curl download into an emptyDir; .tar.gz/.tgz/.tar archives are unpacked. Optional `netrc` key.

The emptyDir is sized to the replica's memory: a model that is served from memory is no larger than that.
The serving container mounts the model read-only in every case.
"""

from __future__ import annotations

import math
import posixpath
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from mlinfra.conventions import artifact_secret_name
from mlinfra.manifests.common import IMAGE_PULL_POLICY, container_security_context, model_labels
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.profiles.model import Profile
from mlinfra.runtimes.catalog import MODEL_DIR

MODEL_VOLUME = "model"
CREDENTIALS_VOLUME = "artifact-credentials"
CREDENTIALS_DIR = "/var/run/secrets/mlinfra/artifact"
FETCH_CONTAINER = "fetch-model"

FETCH_IMAGES = {
    "s3": "amazon/aws-cli:2.32.8",
    "oci": "ghcr.io/oras-project/oras:v1.2.3",
    "https": "curlimages/curl:8.14.1",
}
FETCH_RESOURCES = {
    "requests": {"cpu": "250m", "memory": "256Mi", "ephemeral-storage": "256Mi"},
    "limits": {"cpu": "1", "memory": "1Gi", "ephemeral-storage": "1Gi"},
}
ARCHIVE_SUFFIXES = {".tar.gz": "-xzf", ".tgz": "-xzf", ".tar": "-xf"}
# the key of the artifact Secret that holds the credentials file, per artifact kind (what the fetch reads)
CREDENTIAL_FILES = {"s3": "config", "oci": "config.json", "https": "netrc"}
CREDENTIAL_FILE_TITLES = {"s3": "AWS CLI config file", "oci": "registry config.json", "https": "netrc"}


def artifact_credential_keys(profile: Profile, kinds: tuple[str, ...] = tuple(CREDENTIAL_FILES)) -> dict[str, str]:
    """{model name: secret config key} of the models whose artifact credentials become a Secret; `kinds`: the
    artifact kinds a target fetches with them (Target.artifact_credential_kinds; one whose workload identity reaches
    the artifact, as IRSA does on aws-eks, needs none)."""
    return {
        m.name: m.artifact_credentials_secret
        for m in profile.models
        if m.artifact_credentials_secret and m.artifact.split("://", 1)[0] in kinds
    }


def build_artifact_secret(plan: EnvironmentPlan, model: ModelSpec, credentials: Any) -> dict[str, Any]:
    """The model's artifact Secret: the credentials file the fetch init container mounts (a Pulumi secret)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": artifact_secret_name(model.k8s_name),
            "namespace": plan.namespace,
            "labels": model_labels(plan, model),
        },
        "stringData": {CREDENTIAL_FILES[model.artifact_kind]: credentials},
    }


@dataclass(frozen=True)
class ArtifactDelivery:
    """Volumes, init containers and the serving container's mount that put the model at MODEL_DIR."""

    volumes: list[dict[str, Any]]
    init_containers: list[dict[str, Any]]
    model_mount: dict[str, Any]
    fetched_gib: int  # size of the emptyDir the model is fetched into (0 for a PVC)
    needs_https_egress: bool  # the fetch talks to S3 / a registry / a web server on TCP 443


def model_storage_gib(model: ModelSpec) -> int:
    """Space reserved for a fetched model: the replica's memory, rounded up to whole GiB."""
    return max(1, math.ceil(model.memory_gib))


def artifact_delivery(model: ModelSpec, uid: int, tmp_volume: str) -> ArtifactDelivery:
    """How `model.artifact` gets to MODEL_DIR; init containers run as `uid` and use `tmp_volume` for /tmp."""
    if model.artifact_kind == "pvc":
        return _pvc(model)
    size = model_storage_gib(model)
    fetch = {
        "s3": _s3_fetch,
        "oci": _oci_fetch,
        "https": _https_fetch,
    }[model.artifact_kind](model)
    container = {
        "name": FETCH_CONTAINER,
        "image": FETCH_IMAGES[model.artifact_kind],
        "imagePullPolicy": IMAGE_PULL_POLICY,
        **fetch,
        "resources": {
            "requests": dict(FETCH_RESOURCES["requests"]),
            "limits": dict(FETCH_RESOURCES["limits"]),
        },
        "securityContext": container_security_context(uid),
        "volumeMounts": [
            {"name": MODEL_VOLUME, "mountPath": MODEL_DIR},
            {"name": tmp_volume, "mountPath": "/tmp"},
            {"name": CREDENTIALS_VOLUME, "mountPath": CREDENTIALS_DIR, "readOnly": True},
        ],
    }
    volumes = [
        {"name": MODEL_VOLUME, "emptyDir": {"sizeLimit": f"{size}Gi"}},
        {
            "name": CREDENTIALS_VOLUME,
            "secret": {"secretName": artifact_secret_name(model.k8s_name), "optional": True, "defaultMode": 0o440},
        },
    ]
    return ArtifactDelivery(
        volumes=volumes,
        init_containers=[container],
        model_mount={"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True},
        fetched_gib=size,
        needs_https_egress=True,
    )


def pvc_location(artifact: str) -> tuple[str, str]:
    """pvc://claim/some/path -> ("claim", "some/path")."""
    claim, _, path = artifact.removeprefix("pvc://").partition("/")
    return claim, path.strip("/")


def _pvc(model: ModelSpec) -> ArtifactDelivery:
    claim, path = pvc_location(model.artifact)
    mount: dict[str, Any] = {"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True}
    if path:
        mount["subPath"] = path
    return ArtifactDelivery(
        volumes=[{"name": MODEL_VOLUME, "persistentVolumeClaim": {"claimName": claim, "readOnly": True}}],
        init_containers=[],
        model_mount=mount,
        fetched_gib=0,
        needs_https_egress=False,
    )


def aws_cli_env() -> list[dict[str, str]]:
    """The AWS CLI's environment in a fetch container: a writable HOME and the mounted credential files.
    Missing files (no Secret: IRSA or instance credentials) are ignored by the AWS CLI."""
    return [
        {"name": "HOME", "value": "/tmp"},
        {"name": "AWS_SHARED_CREDENTIALS_FILE", "value": f"{CREDENTIALS_DIR}/credentials"},
        {"name": "AWS_CONFIG_FILE", "value": f"{CREDENTIALS_DIR}/config"},
    ]


def _s3_fetch(model: ModelSpec) -> dict[str, Any]:
    return {
        "command": ["aws"],
        "args": ["s3", "sync", "--no-progress", "--only-show-errors", model.artifact, MODEL_DIR],
        "env": aws_cli_env(),
    }


def _oci_fetch(model: ModelSpec) -> dict[str, Any]:
    reference = model.artifact.removeprefix("oci://")
    return {
        "command": ["oras"],
        "args": ["pull", "--output", MODEL_DIR, reference],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "DOCKER_CONFIG", "value": CREDENTIALS_DIR}],
    }


def _https_fetch(model: ModelSpec) -> dict[str, Any]:
    """curl into MODEL_DIR; the URL is passed in the environment, never spliced into the shell script."""
    name = posixpath.basename(urlsplit(model.artifact).path)
    flag = next((f for suffix, f in ARCHIVE_SUFFIXES.items() if name.endswith(suffix)), None)
    auth = f'if [ -f {CREDENTIALS_DIR}/netrc ]; then set -- --netrc-file {CREDENTIALS_DIR}/netrc; fi'
    if flag:
        get = f'curl -fsSL --retry 5 "$@" "$ARTIFACT_URL" | tar {flag} - -C {MODEL_DIR}'
    else:
        get = f'cd {MODEL_DIR} && curl -fsSL --retry 5 "$@" -O "$ARTIFACT_URL"'
    return {
        "command": ["sh", "-c"],
        "args": [f"set -euo pipefail; {auth}; {get}"],
        "env": [{"name": "HOME", "value": "/tmp"}, {"name": "ARTIFACT_URL", "value": model.artifact}],
    }
