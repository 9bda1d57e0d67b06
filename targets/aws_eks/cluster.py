"""The EKS control plane of one environment as data, and the kubeconfig a Kubernetes provider reaches it with.

- Secrets are envelope-encrypted with the environment's KMS key; every control-plane log type goes to a
  CloudWatch log group created beforehand (encrypted, with a retention), so EKS never creates an unencrypted one.
- The API endpoint is always reachable from inside the VPC; a public endpoint exists only when
  security.exposure is public, and then only for the allow-list (never 0.0.0.0/0: without an allow-list the
  endpoint stays private).
- Access entries (authentication mode API), not the aws-auth ConfigMap: managed node groups get theirs from
  EKS, and the identity that creates the cluster is its admin.
- Standard support only: the cost model prices the standard control-plane hour, so the cluster is upgraded at
  the end of standard support instead of sliding into extended support.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mlinfra.conventions import k8s_name
from mlinfra.profiles.environments import EnvironmentSettings

KUBERNETES_VERSION = "1.35"  # in standard support until early 2027 (EKS: 14 months after release)
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
LOG_RETENTION_DAYS = {"dev": 30, "staging": 90, "prod": 365}
AUTHENTICATION_MODE = "API"
SUPPORT_TYPE = "STANDARD"
ENCRYPTED_RESOURCES = ("secrets",)
CLUSTER_NAME_MAX = 100
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    name: str  # the physical cluster name: the log group's name must be known before the cluster exists
    version: str
    endpoint_private_access: bool
    endpoint_public_access: bool
    public_access_cidrs: tuple[str, ...]
    log_types: tuple[str, ...]
    log_group: str
    log_retention_days: int
    authentication_mode: str
    support_type: str
    encrypted_resources: tuple[str, ...]


def cluster_name(profile_name: str, env: str) -> str:
    """One cluster per profile and environment (the stack), e.g. `reco-api-prod`."""
    return k8s_name(profile_name, env, max_len=CLUSTER_NAME_MAX)


def log_group_name(name: str) -> str:
    """The log group EKS writes control-plane logs to (fixed by EKS)."""
    return f"/aws/eks/{name}/cluster"


def cluster_spec(
    profile_name: str, env: EnvironmentSettings, exposure: str, public_access_cidrs: tuple[str, ...] = ()
) -> ClusterSpec:
    """The control plane of `env`; `public_access_cidrs` is the allow-list of a public endpoint."""
    name = cluster_name(profile_name, env.name)
    public = exposure == "public" and bool(public_access_cidrs)
    return ClusterSpec(
        name=name,
        version=KUBERNETES_VERSION,
        endpoint_private_access=True,
        endpoint_public_access=public,
        public_access_cidrs=tuple(public_access_cidrs) if public else (),
        log_types=LOG_TYPES,
        log_group=log_group_name(name),
        log_retention_days=LOG_RETENTION_DAYS[env.tier],
        authentication_mode=AUTHENTICATION_MODE,
        support_type=SUPPORT_TYPE,
        encrypted_resources=ENCRYPTED_RESOURCES,
    )


def kubeconfig(name: str, endpoint: str, certificate_authority: str, region: str) -> str:
    """A kubeconfig for the cluster: its endpoint and CA data, a token from `aws eks get-token` (no static
    credential in the file or in the Pulumi state)."""
    user = {
        "exec": {
            "apiVersion": EXEC_API_VERSION,
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", name, "--region", region, "--output", "json"],
            "interactiveMode": "Never",
        }
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority}}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
        "preferences": {},
    }
    return json.dumps(config, sort_keys=True)
