"""The requirements profile (contract v1): what a team states about its models and constraints.

pydantic v2, strict: unknown keys are errors, every field is documented, enumerations are Literals so a
typo lists the allowed values. Cross-field rules name the fields, the values found and the fix.
Validators never touch the network.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from typing import Annotated, Literal, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from mlinfra.conventions import (
    DEFAULT_GRAFANA_ADMIN_PASSWORD_SECRET,
    DRIFT_IMAGE,
    RFC1123_LABEL_PATTERN,
    RUNBOOK_URL,
    monitoring_namespace,
    namespace_name,
)
from mlinfra.profiles.scaling import Autoscaling, RemoteWrite

# ---------------------------------------------------------------------------------------------------------
# Shared types

Rfc1123Label = Annotated[
    str,
    Field(
        pattern=RFC1123_LABEL_PATTERN,
        min_length=1,
        max_length=40,
        description="RFC 1123 label: lower-case letters, digits and '-', starting and ending alphanumeric.",
    ),
]
SecretKey = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z][A-Za-z0-9_-]*$",
        description=(
            "Name of a Pulumi secret config key (set with `pulumi config set --secret KEY VALUE`), "
            "never the secret value itself."
        ),
    ),
]

Framework = Literal[
    "sklearn", "xgboost", "lightgbm", "onnx", "pytorch", "tensorflow", "huggingface", "llm", "custom"
]
Sovereignty = Literal["none", "eu", "on_premise"]
Classification = Literal["public", "internal", "confidential", "personal"]
Exposure = Literal["private", "internal", "public"]
Authentication = Literal["none", "api_key", "oidc"]
Skills = Literal["none", "basic", "advanced"]
Tier = Literal["dev", "staging", "prod"]
TargetName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="A target name, e.g. aws-eks.")]

# AWS regions whose data stays inside the European Union. eu-west-2 (London) and eu-central-2 (Zurich) are in
# Europe but not in the EU, so they do not satisfy `sovereignty: eu`.
EU_REGIONS = (
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-3",
    "eusc-de-east-1",
)
NON_EU_EUROPEAN_REGIONS = ("eu-central-2", "eu-west-2")
DEFAULT_REGION = "eu-central-1"

_ARTIFACT = re.compile(r"^(s3|pvc|oci|https)://[A-Za-z0-9][^\s\x00-\x1f\x7f]*$")  # never `--...` after the scheme
_RUNBOOK_BASE = re.compile(r"^https?://[^\s#/]+[^\s#]*$")
_S3_PREFIX = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^\s]*)?$")  # bucket rules, then any key prefix
_PVC = re.compile(r"^pvc://(?P<claim>[a-z0-9]([-a-z0-9]*[a-z0-9])?)(/(?P<path>[^\s]*))?$")
_HTTPS_ISSUER = re.compile(r"^https://[^\s/?#]+(/[^\s?#]*)?$")
_SUBNET_ID = re.compile(r"^subnet-([0-9a-f]{8}|[0-9a-f]{17})$")
# Values that reach the API server, a command line or a template: what each accepts, nothing that changes meaning
GPU_TYPE_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$"  # part of a node-label value (NVIDIA-<TYPE>)
RFC1123_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"  # class names
MODEL_NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"  # RFC 1035: the model's Service is named after it
# distribution/reference's grammar: [registry[:port]/]path[:tag][@digest]
IMAGE_PATTERN = (
    r"^((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
KUBE_CONTEXT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,252}$"  # kubeconfig context names (EKS ARNs, user@cluster)
SLACK_CHANNEL_PATTERN = r"^[#@]?[A-Za-z0-9._-]{1,80}$"
# an owner's name is a part of Alertmanager receiver names (<owner>-page), a label value, an SNS topic name and a
# Pulumi child name: lower case, digits and '-', starting with a letter; `mlinfra` is the platform's
OWNER_NAME_PATTERN = r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$"
RESERVED_OWNER_NAMES = ("mlinfra",)
_TEMPLATE = re.compile(r"\{\{|\}\}|\{%|%\}")  # Go template delimiters (Alertmanager renders these fields)


def _no_template(value: str | None) -> str | None:
    if value is not None and _TEMPLATE.search(value):
        raise ValueError("contains template syntax ({{ }}), which Alertmanager would evaluate; give the plain value")
    return value


NoTemplate = AfterValidator(_no_template)
_EKS_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")  # EKS CreateCluster's rule


class Strict(BaseModel):
    """Base for every profile section: frozen, unknown keys rejected."""

    # strict: no coercion (true is not 1, 0x10 is not a name), and .inf/.nan are no numbers
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------------------------------------
# Models


class Resources(Strict):
    cpu: float = Field(1.0, gt=0, le=192, description="CPU cores requested per replica (fractions allowed).")
    memory_gib: float = Field(2.0, gt=0, le=2048, description="Memory per replica in GiB.")
    gpus: int = Field(0, ge=0, le=16, description="GPUs per replica; 0 for CPU-only models.")
    gpu_type: str | None = Field(
        None, pattern=GPU_TYPE_PATTERN, max_length=32,
        description="GPU model wanted, e.g. l4, a10g, t4 (lower case). Ignored when gpus is 0.",
    )
    gpu_memory_gib: float | None = Field(
        None, gt=0, le=2048,
        description="GPU memory one replica needs over all its GPUs, in GiB (weights, KV cache, activations); an "
        "instance qualifies when gpus x its memory per GPU holds it. Unset: estimated from parameters_b for framework "
        "llm, not checked otherwise.",
    )
    parameters_b: float | None = Field(
        None, gt=0, le=2000,
        description="Model size in billions of parameters. For framework llm without gpu_memory_gib, the GPU memory "
        "needed is estimated as weights (parameters_b x bytes of precision) + 20 % for the KV cache + 1 GiB runtime.",
    )
    precision: Literal["fp32", "bf16", "fp16", "fp8", "int8", "int4"] = Field(
        "bf16", description="Numeric precision of the served weights (4, 2, 2, 1, 1, 0.5 bytes per parameter)."
    )


class Traffic(Strict):
    average_rps: float = Field(..., ge=0, le=1_000_000, description="Average requests per second over a day.")
    peak_rps: float = Field(..., ge=0, le=1_000_000, description="Peak requests per second the service must absorb.")

    @model_validator(mode="after")
    def _peak_not_below_average(self) -> Traffic:
        if self.peak_rps < self.average_rps:
            raise ValueError(
                f"peak_rps ({_num(self.peak_rps)}) is below average_rps ({_num(self.average_rps)}); "
                "peak_rps must be at least average_rps"
            )
        return self


class Slo(Strict):
    latency_p95_ms: float = Field(
        ..., gt=0, le=600_000, description="95th-percentile request latency objective in milliseconds."
    )
    availability: float = Field(
        ..., gt=0.9, lt=1, description="Availability objective as a ratio of successful requests, e.g. 0.995."
    )


# The drift monitor's per-model settings (models[].drift). The defaults equal the monitor's own
# (mlinfra.drift.config; tests/unit/test_profile_drift.py holds them equal).
_REFERENCE = re.compile(r"^(s3|https|pvc)://[A-Za-z0-9][^\s\x00-\x1f\x7f]*$")
REFERENCE_SUFFIXES = (".csv", ".parquet")
ColumnName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]


class ModelDrift(Strict):
    reference: str = Field(
        ...,
        description="The reference sample the recent traffic is compared with: one .csv (header row) or .parquet file "
        "with the model's input columns (and optionally its predictions), e.g. the training or validation set. "
        "s3://bucket/key.parquet (AWS S3, or an S3-compatible store such as MinIO, Ceph or Google Cloud Storage's "
        "XML API through the endpoint_url of the credentials file), https://host/path.csv or pvc://<claim>/<path>. "
        "Fetched into the pod like the artifact: with models[].artifact_credentials_secret's file when the "
        "artifact is fetched the same way (s3:// or https://), with the workload identity on aws-eks.",
    )
    features: list[ColumnName] | None = Field(
        None, min_length=1,
        description="The model's input columns, in the order of the columns of a single 2-D input tensor (named 1-D "
        "inputs are matched by name). Default: every column of the reference except prediction_column.",
    )
    prediction_column: ColumnName | None = Field(
        None,
        description="The reference column holding the model's predictions; set, the model's first output is "
        "compared with it too (feature 'prediction').",
    )
    categorical: list[ColumnName] = Field(
        default_factory=list,
        description="Columns compared as categories (PSI over the categories; a category the reference never saw "
        "counts as drift). Non-numeric reference columns are categorical anyway.",
    )
    sample_rate: float = Field(
        0.1, gt=0, le=1,
        description="Share of the inference requests whose inputs are sampled (each replica samples its own). "
        "Sampling never delays or fails a request.",
    )
    window: int = Field(
        2000, ge=10, le=1_000_000,
        description="Sampled rows in the sliding window compared with the reference; at sample_rate x the requests/s "
        "a replica serves, the window spans window / (that rate) seconds, which is how long a shift takes to "
        "show fully.",
    )
    min_samples: int = Field(
        500, ge=1,
        description="Below this many rows in the window no score is exported, so no drift alert fires. 500: the alert "
        "reads the highest PSI of all features, and an unchanged feature's PSI is about (bins - 1) / rows by chance "
        "(0.018 at 500 rows with 10 bins): the highest of 20 such features stays under the 0.1 warning, which at 200 "
        "rows chance alone passes in about 40 % of windows.",
    )
    bins: int = Field(10, ge=2, le=100, description="Quantile bins of the reference for a numeric feature's PSI.")
    interval_seconds: float = Field(
        15.0, ge=0.1, le=3600, description="How often the monitor recomputes the scores, in seconds."
    )
    warn_psi: float = Field(
        0.1, gt=0, le=10,
        description="PSI (population stability index) of the most drifted feature or the prediction above which a "
        "ticket is opened (MLModelDriftHigh, warning). 0.1 is the usual 'watch' level.",
    )
    page_psi: float = Field(
        0.25, gt=0, le=10,
        description="PSI above which the drift alert is critical (MLModelDriftSevere): it pages where the "
        "environment pages (prod by default), a ticket elsewhere. 0.25 is the usual 'act' level.",
    )

    @field_validator("reference")
    @classmethod
    def _reference_file(cls, value: str) -> str:
        if not _REFERENCE.match(value):
            raise ValueError(
                "must start with s3://, https:// or pvc:// followed by a letter or digit and contain no spaces or "
                "control characters, e.g. s3://ml-data/churn/reference.parquet"
            )
        if not value.split("?", 1)[0].lower().endswith(REFERENCE_SUFFIXES):
            raise ValueError("must name one .csv or .parquet file, e.g. s3://ml-data/churn/reference.parquet")
        if value.startswith("pvc://") and not _PVC.match(value):
            raise ValueError("a pvc:// reference is pvc://<claim>/<path> with an RFC 1123 claim name")
        return value

    @field_validator("features", "categorical")
    @classmethod
    def _unique_columns(cls, value: list[str] | None) -> list[str] | None:
        if value:
            dupes = sorted({v for v in value if value.count(v) > 1})
            if dupes:
                raise ValueError(f"names each column once; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelDrift:
        if self.min_samples > self.window:
            raise ValueError(
                f"min_samples ({self.min_samples}) is larger than window ({self.window}): the window never holds enough "
                "rows for a score; lower min_samples or raise window"
            )
        if self.page_psi < self.warn_psi:
            raise ValueError(
                f"page_psi ({_num(self.page_psi)}) is below warn_psi ({_num(self.warn_psi)}); the page threshold is "
                "the higher one"
            )
        if self.prediction_column and self.features and self.prediction_column in self.features:
            raise ValueError(
                f"prediction_column '{self.prediction_column}' is also in features; a column is an input or the "
                "prediction"
            )
        if self.prediction_column and self.features and "prediction" in self.features:
            raise ValueError(
                "a feature named 'prediction' would share its series with the prediction drift; rename the column or "
                "drop prediction_column"
            )
        return self

    @property
    def reference_kind(self) -> str:
        return self.reference.split("://", 1)[0]

    @property
    def reference_suffix(self) -> str:
        return ".parquet" if self.reference.split("?", 1)[0].lower().endswith(".parquet") else ".csv"


class Capacity(Strict):
    """What one replica sustains, measured by `mlinfra calibrate` (or stated from a load test of your own)."""

    rps_per_replica: float = Field(
        ..., gt=0, le=1_000_000,
        description="Requests/s one replica sustained with p95 latency within the SLO and no errors: the highest "
        "throughput of a closed-loop load test of rising concurrency. Sizing plans each replica at "
        "TARGET_UTILISATION (60 %) of it, so the autoscaler has room to react.",
    )
    concurrency: int = Field(
        ..., ge=1, le=100_000, description="Requests in flight at the load step that reached rps_per_replica."
    )
    p95_ms: float = Field(
        ..., gt=0, le=600_000,
        description="p95 latency at that step in milliseconds; at most the model's slo.latency_p95_ms.",
    )
    measured_on: date = Field(..., strict=False, description="Day of the measurement (YYYY-MM-DD).")
    cpu: str = Field(
        ..., min_length=1, max_length=200,
        description="The CPU model it ran on (as /proc/cpuinfo names it); capacity moves with the CPU.",
    )
    cores: int = Field(
        ..., ge=1, le=1024,
        description="CPU cores the runtime was limited to. When resources.cpu differs, sizing scales the figure "
        "linearly by resources.cpu / cores and says so in the decision's assumptions; real runtimes scale less "
        "than linearly (one event loop, the GIL), so measure at the replica's own cores.",
    )
    runtime: str = Field(
        ..., pattern=r"^[a-z][a-z0-9-]*( [A-Za-z0-9.+_-]+)?$", max_length=80,
        description="The serving runtime and its version, e.g. 'mlserver 1.7.1'.",
    )


class Model(Strict):
    name: str = Field(
        ..., pattern=MODEL_NAME_PATTERN, min_length=1, max_length=40,
        description="Model name, unique in the profile: lower-case letters, digits and '-', starting with a letter "
        "(its Service is named after it) and ending with a letter or digit.",
    )
    framework: Framework = Field(..., description="Model framework; decides the serving runtime.")
    artifact: str = Field(
        ...,
        description="Where the model lives: s3://bucket/prefix, pvc://<claim>/<path>, oci://image, https://url.",
    )
    image: str | None = Field(
        None, pattern=IMAGE_PATTERN, max_length=255,
        description="Container image ([registry/]repository[:tag][@sha256:digest]); required for framework custom, "
        "optional override otherwise.",
    )
    artifact_credentials_secret: SecretKey | None = Field(
        None,
        description="Secret config key holding the file the fetch init container reads to get the artifact: for "
        "s3:// an AWS CLI config file ([default] with aws_access_key_id, aws_secret_access_key, optionally region "
        "and endpoint_url for MinIO/Ceph), for oci:// a registry config.json, for https:// a netrc. Kubernetes "
        "targets put it in the model's Secret; where the target gives the model a workload identity (aws-eks for "
        "s3://) it is not needed. Not for pvc:// artifacts.",
    )
    resources: Resources = Field(default_factory=Resources, description="Per-replica resources.")
    traffic: Traffic = Field(..., description="Expected request load.")
    slo: Slo = Field(..., description="Service level objectives that alerts are derived from.")
    capacity: Capacity | None = Field(
        None,
        description="Measured throughput of one replica (`mlinfra calibrate --write` records it). Unset: sizing "
        "assumes the framework's default requests/s per core or GPU, and the decision says so.",
    )
    drift_baseline: str | None = Field(
        None,
        description="With monitoring.drift on aws-sagemaker: the s3:// prefix holding constraints.json and "
        "statistics.json as a SageMaker Model Monitor baselining job writes them (DefaultModelMonitor."
        "suggest_baseline on a reference sample); captured requests are compared with it. Default: "
        "model-monitor/<model>/baseline/ in the stack's model store.",
    )
    drift: ModelDrift | None = Field(
        None,
        description="With monitoring.drift on the Kubernetes targets: the drift monitor beside the model server - its "
        "reference sample, sampling, window and PSI thresholds. Required there for every model served over the "
        "Open Inference (V2) protocol (MLServer, Triton); not for vLLM, TGI or custom images, whose APIs it does "
        "not read. aws-sagemaker reads drift_baseline instead.",
    )
    owner: str | None = Field(
        None, pattern=OWNER_NAME_PATTERN, max_length=32,
        description="The owner (a key of `owners`) who answers for this model: its SLO, latency, no-traffic, "
        "model-down and drift alerts go to that owner's receivers (critical ones where the environment pages also "
        "to monitoring.notify's). Required for every model once `owners` is used.",
    )

    @field_validator("drift_baseline")
    @classmethod
    def _s3_baseline(cls, value: str | None) -> str | None:
        if value is not None and not _S3_PREFIX.match(value):
            raise ValueError(
                "must be an s3:// prefix holding constraints.json and statistics.json, e.g. "
                "s3://ml-baselines/scorer/v3/"
            )
        return value

    @field_validator("artifact")
    @classmethod
    def _artifact_scheme(cls, value: str) -> str:
        if not _ARTIFACT.match(value):
            raise ValueError(
                "artifact must start with s3://, pvc://, oci:// or https:// followed by a letter or digit, and "
                "contain no spaces or control characters"
            )
        if value.startswith("pvc://") and not _PVC.match(value):
            raise ValueError("a pvc:// artifact is pvc://<claim>/<path> with an RFC 1123 claim name")
        return value

    @model_validator(mode="after")
    def _credentials_need_a_fetch(self) -> Model:
        if self.artifact_credentials_secret and self.artifact.startswith("pvc://"):
            raise ValueError(
                f"model '{self.name}': artifact_credentials_secret '{self.artifact_credentials_secret}' is set but the "
                f"artifact {self.artifact} is mounted from its claim and reads no credentials; remove it (it applies "
                "to s3://, oci:// and https:// artifacts)"
            )
        return self

    @model_validator(mode="after")
    def _capacity_within_slo(self) -> Model:
        if self.capacity is not None and self.capacity.p95_ms > self.slo.latency_p95_ms:
            raise ValueError(
                f"model '{self.name}': capacity.p95_ms ({_num(self.capacity.p95_ms)}) is above slo.latency_p95_ms "
                f"({_num(self.slo.latency_p95_ms)}): the capacity was measured at a latency the SLO does not allow; "
                f"measure again (`mlinfra calibrate PROFILE --model {self.name} --write --force`) or remove "
                "capacity"
            )
        return self

    @model_validator(mode="after")
    def _custom_needs_image(self) -> Model:
        if self.framework == "custom" and not self.image:
            raise ValueError(
                f"model '{self.name}': framework 'custom' needs an image; set models[].image to the serving image"
            )
        return self

    @property
    def pvc_claim(self) -> str | None:
        match = _PVC.match(self.artifact)
        return match.group("claim") if match else None

    @property
    def pvc_path(self) -> str:
        match = _PVC.match(self.artifact)
        return (match.group("path") or "") if match else ""


# ---------------------------------------------------------------------------------------------------------
# Data, security, budget, team


class Data(Strict):
    sovereignty: Sovereignty = Field("none", description="Where data may be processed: none, eu or on_premise.")
    classification: Classification = Field("internal", description="Most sensitive data the models see.")


class Oidc(Strict):
    issuer: str = Field(
        ...,
        description="The identity provider's issuer URL, exactly as its tokens' `iss` claim states it (https; "
        "its /.well-known/openid-configuration must be reachable), e.g. https://login.example.com/realms/ml.",
    )
    audience: list[Annotated[str, Field(min_length=1, pattern=r"^\S+$")]] = Field(
        ..., min_length=1, description="Accepted `aud` values: a token must name at least one (client IDs or API identifiers)."
    )

    @field_validator("issuer")
    @classmethod
    def _https_issuer(cls, value: str) -> str:
        if not _HTTPS_ISSUER.match(value):
            raise ValueError(
                "must be an https:// URL without spaces, query or #fragment, exactly as the tokens' iss claim "
                "states it, e.g. https://login.example.com/realms/ml"
            )
        return value


# Namespaces a cluster or its common add-ons own (a profile's default-deny NetworkPolicy there breaks them);
# every kube-* namespace too
RESERVED_NAMESPACES = (
    "default", monitoring_namespace(), "ingress-nginx",
    "cert-manager", "gatekeeper-system", "istio-system", "traefik", "traefik-system", "calico-system",
    "tigera-operator", "kyverno", "argocd", "flux-system", "karpenter", "longhorn-system", "gpu-operator",
    "metallb-system", "amazon-cloudwatch", "local-path-storage",
)
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
MAX_ALLOWED_CIDRS = 64
DEFAULT_API_KEYS_SECRET = "modelApiKeys"


def _cidr_block(cidr: str, example: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """A CIDR block as written (a bare address is its /32 or /128); the error says what is wrong with it."""
    try:
        return ipaddress.ip_network(cidr.strip())
    except ValueError:
        try:
            ipaddress.ip_network(cidr.strip(), strict=False)
            hint = " (host bits are set: use the network address)"
        except ValueError:
            hint = ""
        raise ValueError(f"not a CIDR block{hint}; e.g. {example}") from None


def _allowed_cidr(cidr: str) -> str:
    """One entry of security.allowed_cidrs: a CIDR block (IPv4 or IPv6), returned canonical."""
    network = _cidr_block(cidr, "10.20.0.0/16")
    if network.prefixlen == 0:
        raise ValueError(
            "0.0.0.0/0 and ::/0 allow every address, which is exposure public; list the ranges that may call the "
            "models, or set security.exposure to public"
        )
    return str(network)


class Security(Strict):
    exposure: Exposure = Field(
        "internal", description="Who can reach the endpoints: private (cluster only), internal, public."
    )
    authentication: Authentication = Field("oidc", description="How callers authenticate.")
    domain: str | None = Field(
        None,
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}$",
        description="DNS suffix for ingress hosts; a model's host is <model>.<env>.<domain>. Default <name>.internal.",
    )
    tls_secret_name: str | None = Field(
        None,
        pattern=RFC1123_LABEL_PATTERN,
        description="Existing TLS Secret for the ingress hosts; default: one per namespace named <namespace>-tls.",
    )
    oidc: Oidc | None = Field(
        None,
        description="The OIDC identity provider whose tokens callers present when authentication is oidc "
        "(aws-sagemaker checks them at its API Gateway edge, the Kubernetes targets in the gate in front of each "
        "model, which needs it). Only with authentication: oidc.",
    )
    allowed_cidrs: list[Annotated[str, AfterValidator(_allowed_cidr)]] = Field(
        default_factory=lambda: list(PRIVATE_RANGES),
        min_length=1,
        max_length=MAX_ALLOWED_CIDRS,
        description="With exposure internal: the only addresses (CIDR blocks, e.g. 10.20.0.0/16) that may call "
        "the models - your cluster, VPC, office and VPN ranges. Every target enforces them where the model is "
        "exposed (the gate in front of each model and the ALB on Kubernetes, the edge on aws-sagemaker). "
        "Default: the private ranges 10.0.0.0/8, 172.16.0.0/12 and 192.168.0.0/16. 0.0.0.0/0 is refused.",
    )
    api_keys_secret: SecretKey | None = Field(
        None,
        description="With authentication api_key: the secret config key holding the accepted API keys, one per "
        f"line (each 32 to 128 letters, digits, '-' or '_'); callers send one in the X-API-Key header. Default "
        f"{DEFAULT_API_KEYS_SECRET}.",
    )

    @property
    def api_keys_key(self) -> str | None:
        """The secret config key of the API keys when callers present keys (api_key, exposed), else None."""
        if self.authentication != "api_key" or self.exposure == "private":
            return None
        return self.api_keys_secret or DEFAULT_API_KEYS_SECRET

    @model_validator(mode="after")
    def _oidc_only_with_oidc(self) -> Security:
        if self.oidc is not None and self.authentication != "oidc":
            raise ValueError(
                f"security.oidc is set but security.authentication is '{self.authentication}'; set "
                "security.authentication to oidc, or remove security.oidc"
            )
        return self


class Budget(Strict):
    monthly_eur: float | None = Field(None, gt=0, description="Monthly spending cap in EUR; over-budget options are flagged.")


class Team(Strict):
    name: str | None = Field(None, description="Owning team's name (may also be given as `team: <name>`).")
    kubernetes_skills: Skills = Field("basic", description="The team's Kubernetes experience.")
    ops_fte: float = Field(0.5, ge=0, le=100, description="People-time available for operations, in full-time equivalents.")


class Onprem(Strict):
    kube_context: str = Field(
        ..., pattern=KUBE_CONTEXT_PATTERN,
        description="kubeconfig context of the existing cluster (letters, digits and . _ : @ / + -).",
    )
    gpu_nodes: int = Field(0, ge=0, description="Number of GPU nodes available to ML serving.")
    gpus_per_node: int = Field(1, ge=1, le=16, description="GPUs per GPU node.")
    gpu_type: str | None = Field(
        None, pattern=GPU_TYPE_PATTERN, max_length=32, description="GPU model in the GPU nodes, e.g. l4, a10g."
    )
    gpu_memory_gib: float | None = Field(
        None, gt=0, le=1024, description="Memory of one GPU in the GPU nodes in GiB (e.g. 24 for an L4); with it a "
        "model's GPU memory (models[].resources.gpu_memory_gib, or the llm estimate) is checked against "
        "resources.gpus x this.",
    )
    cpu_nodes: int = Field(3, ge=1, description="CPU worker nodes available to ML serving.")
    purchase: bool = Field(
        False, description="The hardware the models need is still to be bought: totals over decision.horizon_years "
        "pay its share up front (costs.onprem.server_price_usd, gpu_server_price_usd) and again every "
        "costs.onprem.amortisation_years, instead of the monthly amortisation of hardware already owned.",
    )
    storage_class: str = Field(
        "standard", pattern=RFC1123_SUBDOMAIN_PATTERN, max_length=253,
        description="StorageClass for Prometheus and Grafana volumes (an object name: lower case, digits, '-', '.').",
    )
    ingress_class: str = Field(
        "nginx", pattern=RFC1123_SUBDOMAIN_PATTERN, max_length=253,
        description="IngressClass of the cluster's ingress controller (an object name: lower case, digits, '-', '.').",
    )
    ingress_namespace: Rfc1123Label = Field(
        "ingress-nginx", description="Namespace of the ingress controller (allowed through the NetworkPolicy)."
    )


def _public_cidr(cidr: str) -> str:
    """One entry of cloud.api_access_cidrs: a public IPv4 block, returned canonical (203.0.113.5 -> 203.0.113.5/32)."""
    network = _cidr_block(cidr, "203.0.113.0/24")
    if network.prefixlen == 0:
        raise ValueError(
            "0.0.0.0/0 and ::/0 open the API endpoint to the whole internet; list the addresses that run kubectl and "
            "`pulumi up` (office, VPN, CI runners), or leave cloud.api_access_cidrs empty for a private endpoint"
        )
    if network.version == 6:
        raise ValueError("IPv6 is not allowed: the EKS clusters mlinfra creates are IPv4, whose endpoint allow-list "
                         "takes IPv4 blocks only")
    if not network.is_global:
        raise ValueError("a private or reserved range; the allow-list is for internet addresses (the private "
                         "endpoint already serves the VPC)")
    return str(network)


def _subnet_id(value: str) -> str:
    if not _SUBNET_ID.match(value):
        raise ValueError("a subnet ID is subnet- and 8 or 17 hex digits, e.g. subnet-0a1b2c3d4e5f60718")
    return value


class Cloud(Strict):
    provider: Literal["aws"] = Field("aws", description="Cloud provider; only aws today.")
    region: str = Field(
        DEFAULT_REGION, pattern=r"^[a-z]{2,4}(-[a-z]+)+-\d$", description="AWS region, e.g. eu-central-1."
    )
    api_access_cidrs: list[Annotated[str, AfterValidator(_public_cidr)]] = Field(
        default_factory=list,
        description="Internet addresses (IPv4 CIDR blocks, e.g. 203.0.113.0/24) allowed to reach the API endpoint of "
        "an EKS cluster mlinfra creates. The endpoint is public only when security.exposure is public and this list "
        "is not empty; otherwise it is private (reachable from inside the VPC only). 0.0.0.0/0 is refused.",
    )
    eks_cluster: str | None = Field(
        None,
        description="Name of an existing EKS cluster (in cloud.region) to deploy into instead of creating a VPC and "
        "a cluster per environment; every environment deploys into it. Its owners keep its network, control plane, "
        "access entries and cluster-wide add-ons; mlinfra adds node groups (in cloud.eks_node_subnets), IRSA roles "
        "and the workloads.",
    )
    eks_node_subnets: list[Annotated[str, AfterValidator(_subnet_id)]] = Field(
        default_factory=list,
        description="Subnet IDs (subnet-...) of the existing cluster's VPC the node groups launch in; required with "
        "cloud.eks_cluster. Private subnets with a route out (NAT or VPC endpoints), one per availability zone "
        "for highly available environments.",
    )
    shared_cluster: bool = Field(
        False,
        description="One EKS cluster mlinfra creates for every environment instead of one each: the highest tier's "
        "stack (prod) creates the network, the control plane and the add-ons; the other environments deploy their "
        "node groups, IRSA roles and workloads into it, as into cloud.eks_cluster, and pay no control plane, NAT "
        "or cluster operations time of their own. Deploy that environment first; the other stacks' identity needs "
        "an access entry on the cluster.",
    )

    @field_validator("eks_cluster")
    @classmethod
    def _cluster_name(cls, value: str | None) -> str | None:
        if value is not None and not _EKS_CLUSTER_NAME.match(value):
            raise ValueError(
                "an EKS cluster name has 1 to 100 letters, digits, '-' and '_', starting with a letter or digit"
            )
        return value

    @field_validator("api_access_cidrs", "eks_node_subnets")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        dupes = sorted({v for v in value if value.count(v) > 1})
        if dupes:
            raise ValueError(f"entries must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _existing_cluster_fields(self) -> Cloud:
        if self.eks_cluster and not self.eks_node_subnets:
            raise ValueError(
                f"cloud.eks_cluster is '{self.eks_cluster}' but cloud.eks_node_subnets is empty; list the subnet IDs "
                "of that cluster's VPC the node groups launch in, e.g. [subnet-0a1b2c3d4e5f60718, subnet-0f1e2d3c4b5a69788]"
            )
        if self.eks_node_subnets and not self.eks_cluster:
            raise ValueError(
                "cloud.eks_node_subnets is set but cloud.eks_cluster is not; node subnets are for an existing cluster "
                "(a cluster mlinfra creates gets its own VPC): set cloud.eks_cluster or remove cloud.eks_node_subnets"
            )
        if self.eks_cluster and self.shared_cluster:
            raise ValueError(
                f"cloud.shared_cluster is true but cloud.eks_cluster is '{self.eks_cluster}': every environment already "
                "shares the existing cluster; shared_cluster is for a cluster mlinfra creates: remove one of them"
            )
        if self.eks_cluster and self.api_access_cidrs:
            raise ValueError(
                f"cloud.api_access_cidrs is set but cloud.eks_cluster is '{self.eks_cluster}': the allow-list is for "
                "the API endpoint of a cluster mlinfra creates; an existing cluster's endpoint access is its owners' "
                "setting: remove cloud.api_access_cidrs"
            )
        return self



# ---------------------------------------------------------------------------------------------------------
# Monitoring


class EmailNotify(Strict):
    type: Literal["email"]
    to: Annotated[str, NoTemplate] = Field(
        ..., pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="Recipient address."
    )


class SlackNotify(Strict):
    type: Literal["slack"]
    webhook_secret: SecretKey = Field(..., description="Secret config key holding the Slack incoming-webhook URL.")
    channel: str | None = Field(
        None, pattern=SLACK_CHANNEL_PATTERN, description="Channel override, e.g. #ml-alerts (no webhook URL)."
    )


class MsTeamsNotify(Strict):
    type: Literal["msteams"]
    webhook_secret: SecretKey = Field(..., description="Secret config key holding the Teams webhook URL.")


class WebhookNotify(Strict):
    type: Literal["webhook"]
    url_secret: SecretKey = Field(..., description="Secret config key holding the webhook URL.")


class PagerDutyNotify(Strict):
    type: Literal["pagerduty"]
    routing_key_secret: SecretKey = Field(
        ..., description="Secret config key holding the PagerDuty Events API v2 routing key."
    )


Notify = Annotated[
    Union[EmailNotify, SlackNotify, MsTeamsNotify, WebhookNotify, PagerDutyNotify],
    Field(discriminator="type"),
]


_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")


class Smtp(Strict):
    smarthost: str = Field(
        ...,
        pattern=r"^[^\s:]+:\d+$",
        description="The mail relay Alertmanager sends through, as host:port, e.g. smtp.example.com:587 "
        "(not localhost: nothing listens there inside Alertmanager's pod).",
    )
    from_address: Annotated[str, NoTemplate] = Field(
        ..., pattern=r"^[^@\s]+@[^@\s]+$", description="Sender address of alert emails, e.g. alerts@example.com."
    )
    auth_username: Annotated[str | None, NoTemplate] = Field(None, description="SMTP user, when the relay needs a login (with auth_password_secret).")
    auth_password_secret: SecretKey | None = Field(
        None, description="Secret config key of the SMTP password, when the relay needs a login (with auth_username)."
    )
    require_tls: bool = Field(True, description="Require STARTTLS to the relay (set false only for a relay without TLS).")

    @field_validator("smarthost")
    @classmethod
    def _not_local(cls, value: str) -> str:
        if value.rsplit(":", 1)[0].lower() in _LOCAL_HOSTS:
            raise ValueError(
                "is the Alertmanager pod itself, where no mail server runs; name your mail relay, "
                "e.g. smtp.example.com:587"
            )
        return value

    @model_validator(mode="after")
    def _login_pair(self) -> Smtp:
        if (self.auth_username is None) != (self.auth_password_secret is None):
            given, missing = (
                ("auth_username", "auth_password_secret") if self.auth_username else ("auth_password_secret", "auth_username")
            )
            raise ValueError(
                f"monitoring.smtp.{given} is set but monitoring.smtp.{missing} is not; a login needs both "
                "(the user, and the secret config key of its password), or neither for a relay without login"
            )
        return self


class Monitoring(Strict):
    retention_days: int = Field(
        30, ge=1, le=3650,
        description="Prometheus retention in days; 30 or more holds the whole 30-day SLO window (dev keeps at most 7).",
    )
    storage_gib: int = Field(
        50, ge=1, le=100_000,
        description="Prometheus volume size in GiB, at least: a larger volume when the stack's series estimate needs "
        "one for the retention (`mlinfra render` shows both).",
    )
    notify: list[Notify] = Field(default_factory=list, description="Who is told when an alert fires.")
    smtp: Smtp | None = Field(
        None,
        description="The SMTP relay Alertmanager sends alert emails through; required with an email notify on "
        "the Kubernetes targets (aws-sagemaker mails through SNS and ignores it).",
    )
    grafana_admin_password_secret: SecretKey = Field(
        DEFAULT_GRAFANA_ADMIN_PASSWORD_SECRET,
        description="Secret config key holding the Grafana admin password (user `admin`; Kubernetes targets).",
    )
    runbook_url: str = Field(
        RUNBOOK_URL,
        description="Base URL of your runbooks page (no #fragment); every alert links <runbook_url>#<alert name "
        "in lower case>, e.g. #mlmodellatencyhigh - the headings of docs/runbooks.md.",
    )
    remote_write: RemoteWrite | None = Field(
        None,
        description="Long-term store the monitoring stack's Prometheus writes every series to (Thanos Receive or "
        "Grafana Mimir). Required when the stack's estimated active series exceed what one Prometheus should "
        "hold (`mlinfra render` and `decide` show the estimate).",
    )
    drift: bool = Field(
        False,
        description="Watch the models' inputs and predictions for drift: on the Kubernetes targets a drift monitor "
        "beside each model server compares sampled traffic with models[].drift.reference (PSI per feature) and "
        "alerts above models[].drift.warn_psi / page_psi; on aws-sagemaker a Model Monitor schedule compares "
        "captured requests with models[].drift_baseline.",
    )
    drift_image: str = Field(
        DRIFT_IMAGE, pattern=IMAGE_PATTERN, max_length=255,
        description="Image of the drift monitor (Kubernetes targets): mlinfra with its drift extra, entry point "
        "`mlinfra drift serve` - build it from mlinfra's Dockerfile and push it to your registry (mlinfra publishes "
        f"none). Default {DRIFT_IMAGE}.",
    )

    @model_validator(mode="before")
    @classmethod
    def _drift_threshold_moved(cls, data):
        if isinstance(data, dict) and "drift_threshold" in data:
            raise ValueError(
                f"monitoring.drift_threshold is no longer read (got {data['drift_threshold']!r}): drift thresholds are "
                "per model and in PSI - models[].drift.warn_psi (ticket, default 0.1) and page_psi (page in prod, "
                "default 0.25). A former score threshold s is the PSI -ln(1 - s) (0.3 -> 0.357); remove "
                "monitoring.drift_threshold"
            )
        return data

    @field_validator("runbook_url")
    @classmethod
    def _runbook_base(cls, value: str) -> str:
        if not _RUNBOOK_BASE.match(value):
            raise ValueError(
                "must be an http(s) URL without spaces or a #fragment (each alert appends #<alert>), "
                "e.g. https://wiki.example.com/ml/runbooks"
            )
        return value


# ---------------------------------------------------------------------------------------------------------
# Environments


class EnvironmentOverrides(Strict):
    tier: Tier | None = Field(
        None,
        description="dev (minimal), staging or prod (highly available, pages). Default: from the name "
        "(prod/production -> prod, staging/stage/qa/uat/test/preprod -> staging, otherwise dev).",
    )
    min_replicas: int | None = Field(None, ge=1, le=1000, description="Minimum replicas per model.")
    max_replicas: int | None = Field(None, ge=1, le=1000, description="Maximum replicas per model (HPA).")
    alerts_page: bool | None = Field(None, description="Whether critical alerts page someone (prod default: true).")
    retention_days: int | None = Field(None, ge=1, le=3650, description="Prometheus retention for this environment.")
    traffic_share: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of the models' production traffic (models[].traffic) this environment serves: it sizes "
        "the environment's replicas (average and peak), usage-priced costs and the no-traffic alert. Set, and above "
        "0, it also says the traffic is continuous "
        "(a load generator, mirrored requests), so silence there is a fault. Default: prod 1.0 (continuous), "
        "staging 0.2 and dev 0.05 (occasional: an idle dev or staging never alerts on silence). 0: no traffic.",
    )
    kube_context: str | None = Field(
        None,
        pattern=KUBE_CONTEXT_PATTERN,
        description="kubeconfig context of the cluster this environment deploys to (onprem-k8s); default "
        "onprem.kube_context. Environments on the same cluster share one monitoring stack (kube-prometheus-stack), "
        "installed by the highest tier among them (prod > staging > dev; on a tie the first declared).",
    )

    @model_validator(mode="after")
    def _min_le_max(self) -> EnvironmentOverrides:
        if self.min_replicas is not None and self.max_replicas is not None and self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas}); "
                "set min_replicas <= max_replicas"
            )
        return self


# ---------------------------------------------------------------------------------------------------------
# Decision weights and cost assumptions


class Weights(Strict):
    cost: float = Field(0.30, ge=0, description="Weight of the estimated monthly cost.")
    scalability: float = Field(0.20, ge=0, description="Weight of how well the target absorbs bursts and load.")
    sovereignty: float = Field(0.15, ge=0, description="Weight of keeping data close (on premise > EU cloud).")
    security: float = Field(0.15, ge=0, description="Weight of isolation and attack surface for the data class.")
    operations: float = Field(0.20, ge=0, description="Weight of operating effort against the team's skills.")

    @model_validator(mode="after")
    def _not_all_zero(self) -> Weights:
        if sum(self.model_dump().values()) <= 0:
            raise ValueError("all weights are 0; give at least one criterion a positive weight")
        return self


class DecisionSettings(Strict):
    weights: Weights = Field(default_factory=Weights, description="Ranking weights; normalised to sum to 1.")
    targets: list[TargetName] | None = Field(
        None, description="Restrict the decision to these targets (default: every installed target)."
    )
    horizon_years: int = Field(
        3, ge=1, le=10, description="Years the totals cover: every option's cost over them on demand and with each "
        "savings plan that fits, and with onprem.purchase the hardware bought up front and refreshed.",
    )


class OnpremCosts(Strict):
    server_price_usd: float = Field(12_000, ge=0, description="Purchase price of one CPU node.")
    gpu_server_price_usd: float = Field(30_000, ge=0, description="Purchase price of one GPU node.")
    amortisation_years: float = Field(4, gt=0, le=10, description="Economic life of the hardware.")
    server_power_w: float = Field(450, ge=0, description="Average draw of one node incl. cooling, in watts.")
    gpu_power_w: float = Field(350, ge=0, description="Additional draw per GPU, in watts.")
    electricity_eur_per_kwh: float = Field(
        0.28, ge=0, description="Electricity price per kWh. Default: a German SME's commercial tariff (25-31 ct/kWh; "
        "BDEW 2024: 30.52 ct for 50 MWh a year), not the industrial average (16.77 ct, smard.de 2024) only large "
        "consumers pay.",
    )
    ops_hours_per_node_month: float = Field(4, ge=0, description="Operations time per node and month.")
    ops_hourly_rate_eur: float = Field(
        60, ge=0, description="Fully loaded cost of one hour of an employed engineer's operations work. Default: 60-90k "
        "EUR gross + ~21 % employer contributions over ~1,600 productive hours a year (45-70 EUR/h; German salary "
        "surveys, second-hand); a contractor's day rate runs 85-120 EUR/h.",
    )
    colocation_eur_per_kw_month: float = Field(0, ge=0, description="Rack/colocation cost per kW and month (0 = own DC).")
    node_cpu: float = Field(32, gt=0, description="CPU cores of one on-premise node (sizes the share of the cluster used).")
    node_memory_gib: float = Field(128, gt=0, description="Memory of one on-premise node in GiB.")
    base_node_equivalents: float = Field(
        0.1, ge=0, le=100, description="Per environment: its share of the cluster's fixed parts, whatever its size "
        "(control-plane nodes, ingress, storage, the spare node for failover), in node-equivalents priced like a CPU "
        "node (hardware, power, operations time). 0 when the cluster's owners carry them.",
    )


_INSTANCE_KEY = re.compile(r"^(ec2/[a-z0-9][a-z0-9-]*\.[a-z0-9-]+|sagemaker/ml\.[a-z0-9][a-z0-9-]*\.[a-z0-9-]+)$")


def _instance_key(key: str) -> str:
    if not _INSTANCE_KEY.match(key):
        raise ValueError(
            f"instance type key '{key}' is not ec2/<family>.<size> or sagemaker/ml.<family>.<size> "
            "(e.g. ec2/r7i.4xlarge, sagemaker/ml.g5.4xlarge)"
        )
    return key


class InstanceTypeSpec(Strict):
    vcpu: float = Field(..., gt=0, le=1024, description="vCPUs of the instance type.")
    memory_gib: float = Field(..., gt=0, le=32768, description="Memory in GiB.")
    gpus: int = Field(0, ge=0, le=16, description="GPUs of the instance type.")
    gpu: str | None = Field(None, description="GPU model in lower case (matched against models[].resources.gpu_type).")
    gpu_memory_gib: float = Field(0, ge=0, le=1024, description="Memory of one GPU in GiB.")
    burstable: bool = Field(False, description="CPU credits (T family): only used for dev environments.")
    hourly_usd: float | None = Field(
        None, ge=0, description="On-demand price per hour in USD in the profile's region; required for a type the "
        "catalogue does not price there."
    )

    @model_validator(mode="after")
    def _gpu_fields(self) -> InstanceTypeSpec:
        if self.gpus and not self.gpu_memory_gib:
            raise ValueError(f"gpus is {self.gpus} but gpu_memory_gib is not set; give the memory of one GPU in GiB")
        if not self.gpus and (self.gpu or self.gpu_memory_gib):
            raise ValueError("gpu or gpu_memory_gib is set but gpus is 0; set gpus or remove them")
        return self


class Costs(Strict):
    usd_to_eur: float | None = Field(None, gt=0, description="Exchange rate override (default: the price table's dated rate).")
    prices: dict[str, float] = Field(
        default_factory=dict, description="Overrides of price-table entries by key, in USD (see `mlinfra prices`)."
    )
    onprem: OnpremCosts = Field(default_factory=OnpremCosts, description="On-premise TCO assumptions.")
    eks_ops_hours_per_cluster_month: float = Field(
        8, ge=0, description="Operations time per EKS cluster and month (a minor version upgrade every ~4 months, "
        "add-ons, IAM, the shared ingress and monitoring), at onprem.ops_hourly_rate_eur."
    )
    eks_ops_hours_per_node_month: float = Field(
        1, ge=0, description="Operations time per EKS worker node and month (AMI updates, node groups)."
    )
    peak_share_of_month: float = Field(
        0.15, ge=0, le=1, description="Share of the month autoscaled targets run at their peak replica count (they pay "
        "the peak only then; fixed hardware holds it all month). Bursty cases turn on it: measure it if you can.",
    )
    payload_kb_per_request: float = Field(
        10, ge=0, le=1_000_000, description="KB a request carries, request and response (priced as data processed "
        "and load balancer capacity).",
    )
    log_kb_per_request: float = Field(
        1, ge=0, le=1_000_000, description="KB of endpoint logs a request writes (priced as log ingestion).",
    )
    nat_gb_per_node_month: float = Field(
        20, ge=0, le=100_000,
        description="GB each worker node of an EKS cluster mlinfra creates fetches through its NAT gateways a month "
        "(priced at the NAT data-processing rate): container images from public registries (serving runtimes, the "
        "monitoring stack, add-ons; a GPU runtime image alone is ~10 GB, pulled again on every new node), https:// "
        "model artifacts, updates. S3 and the ECR layers stored in it use the VPC's S3 gateway endpoint and are not "
        "counted.",
    )
    ops_hours_per_model_month: float = Field(
        1, ge=0, description="Operations time per model and environment a month on every target (rollouts, alerts "
        "and their follow-up, model updates); with the targets' platform hours it is both the billed operations time "
        "and the FTE the operations score compares with team.ops_fte (133 productive hours a month per FTE).",
    )
    instance_types: dict[Annotated[str, AfterValidator(_instance_key)], InstanceTypeSpec] = Field(
        default_factory=dict,
        description="Instance types to add to the catalogue or override, keyed ec2/<type> or sagemaker/ml.<type> "
        "(e.g. `ec2/r7i.4xlarge: {vcpu: 16, memory_gib: 128, hourly_usd: 1.06}`); `mlinfra prices` lists the catalogue.",
    )


# ---------------------------------------------------------------------------------------------------------
# Owners


def _owner_name(name: str) -> str:
    if not re.match(OWNER_NAME_PATTERN, name):
        raise ValueError(
            f"owner name '{name}' is not 1 to 32 lower-case letters, digits and '-', starting with a letter and "
            "ending with a letter or digit (it names Alertmanager receivers and SNS topics), e.g. fraud-ds"
        )
    if name in RESERVED_OWNER_NAMES:
        raise ValueError(
            f"owner name '{name}' is the platform's (its receivers are {name}-page and {name}-ticket, fed by "
            "monitoring.notify); name the owning team, e.g. fraud-ds"
        )
    return name


class Owner(Strict):
    contact: str = Field(
        ..., min_length=1, max_length=200,
        description="How people reach the owner outside alerts: a team, a channel, an address, e.g. "
        "'Fraud data science, #fraud-ds, fraud-ds@example.com' (shown in the decision record and README).",
    )
    notify: list[Notify] = Field(
        default_factory=list,
        description="Who is told when one of the owner's models alerts, in the form of monitoring.notify (PagerDuty, "
        "Slack and Teams page; email, webhook, Slack and Teams make tickets). At least one.",
    )


# ---------------------------------------------------------------------------------------------------------
# The profile


class Profile(Strict):
    version: Literal[1] = Field(..., description="Profile format version; 1.")
    name: Rfc1123Label = Field(..., description="Name of the ML service (RFC 1123 label).")
    environments: list[Rfc1123Label] | dict[Rfc1123Label, EnvironmentOverrides | None] = Field(
        default_factory=lambda: ["dev", "staging", "prod"],
        description="Environment names, or a mapping name -> overrides.",
    )
    models: list[Model] = Field(..., min_length=1, description="The models to serve (at least one).")
    owners: dict[Annotated[str, AfterValidator(_owner_name)], Owner] = Field(
        default_factory=dict,
        description="Who answers for which model: owner name -> its receivers (`notify`, as monitoring.notify) and "
        "`contact`; models[].owner names one. monitoring.notify stays the platform's (cluster and infrastructure "
        "alerts). Once used, every model needs an owner.",
    )
    data: Data = Field(default_factory=Data, description="Data sovereignty and classification.")
    security: Security = Field(default_factory=Security, description="Exposure and authentication.")
    budget: Budget = Field(default_factory=Budget, description="Spending cap.")
    team: Team = Field(
        default_factory=Team,
        description="Owning team: a name (`team: data-platform`) or {name, kubernetes_skills, ops_fte}.",
    )
    onprem: Onprem | None = Field(None, description="An existing on-premise Kubernetes cluster, if any.")
    cloud: Cloud | None = Field(None, description="An AWS account, if any.")
    monitoring: Monitoring = Field(default_factory=Monitoring, description="Metrics retention, alert receivers, drift.")
    autoscaling: Autoscaling = Field(
        default_factory=Autoscaling, description="How the Kubernetes targets scale model replicas (requests or CPU)."
    )
    decision: DecisionSettings = Field(default_factory=DecisionSettings, description="Ranking weights and target filter.")
    costs: Costs = Field(default_factory=Costs, description="Exchange rate, price overrides and on-premise assumptions.")

    # -- cross-field rules -------------------------------------------------------------------------------

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_a_number(cls, value):
        if isinstance(value, bool):  # a Literal[1] would take true as 1
            raise ValueError("must be the number 1 (found a boolean)")
        return value

    @field_validator("team", mode="before")
    @classmethod
    def _team_name_shorthand(cls, value):
        return {"name": value} if isinstance(value, str) else value

    @field_validator("environments")
    @classmethod
    def _environments_not_empty(cls, value):
        if len(value) == 0:
            raise ValueError("at least one environment is needed, e.g. [dev, prod]")
        if isinstance(value, list) and len(set(value)) != len(value):
            dupes = sorted({v for v in value if value.count(v) > 1})
            raise ValueError(f"environment names must be unique; repeated: {', '.join(dupes)}")
        return value

    @field_validator("models")
    @classmethod
    def _unique_model_names(cls, value: list[Model]) -> list[Model]:
        names = [m.name for m in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"model names must be unique; repeated: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _owners_known_and_reachable(self) -> Profile:
        known = sorted(self.owners)
        for name, owner in self.owners.items():
            if not owner.notify:
                raise ValueError(
                    f"owners.{name}.notify is empty: owner '{name}' has no receivers, so its models' alerts reach "
                    "nobody; list at least one (e.g. {type: email, to: team@example.com}), as in monitoring.notify"
                )
        for i, model in enumerate(self.models):
            if model.owner is None and known:
                raise ValueError(
                    f"models[{i}].owner is not set for model '{model.name}', but owners is used; every model then "
                    f"names its owner, one of: {', '.join(known)}"
                )
            if model.owner is not None and model.owner not in self.owners:
                allowed = f"one of: {', '.join(known)}" if known else "none is declared: add it under owners"
                raise ValueError(
                    f"models[{i}].owner is '{model.owner}' (model '{model.name}'), which is not an owner; {allowed}"
                )
        return self

    @model_validator(mode="after")
    def _sovereignty_matches_region(self) -> Profile:
        if self.data.sovereignty == "eu" and self.cloud is not None and self.cloud.region not in EU_REGIONS:
            hint = " (in Europe but outside the EU)" if self.cloud.region in NON_EU_EUROPEAN_REGIONS else ""
            raise ValueError(
                f"data.sovereignty is 'eu' but cloud.region is '{self.cloud.region}'{hint}; "
                f"use an EU region ({', '.join(EU_REGIONS)}) or change data.sovereignty"
            )
        return self

    @model_validator(mode="after")
    def _namespaces_are_ours(self) -> Profile:
        """A serving namespace (<name>-<env>) never lands in one the cluster or its add-ons own: default-deny there
        breaks DNS or ingress."""
        taken = set(RESERVED_NAMESPACES) | ({self.onprem.ingress_namespace} if self.onprem else set())
        for env in self.environment_names:
            namespace = namespace_name(self.name, env)
            if namespace in taken or namespace.startswith("kube-"):
                raise ValueError(
                    f"name '{self.name}' and environment '{env}' make the serving namespace '{namespace}', which "
                    "belongs to the cluster or one of its add-ons (reserved: kube-*, "
                    f"{', '.join(sorted(taken))}); rename the profile or the environment"
                )
        return self

    @model_validator(mode="after")
    def _public_sensitive_needs_auth(self) -> Profile:
        s, d = self.security, self.data
        if s.exposure == "public" and d.classification in ("personal", "confidential") and s.authentication == "none":
            raise ValueError(
                f"security.exposure is 'public' and data.classification is '{d.classification}' but "
                "security.authentication is 'none'; set security.authentication to api_key or oidc, "
                "or lower the exposure to internal/private"
            )
        return self

    # -- conveniences --------------------------------------------------------------------------------------

    @property
    def environment_names(self) -> list[str]:
        return list(self.environments)

    @property
    def region(self) -> str:
        """AWS region used by cloud targets (default eu-central-1 when no cloud block is given)."""
        return self.cloud.region if self.cloud else DEFAULT_REGION


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
