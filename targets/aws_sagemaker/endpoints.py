"""Everything one aws-sagemaker environment deploys, as one plain spec (`sagemaker_plan`).

Per model: the endpoint (mode, instance type and counts, or Serverless memory and concurrency, provisioned where
priced - exactly what choice.choose_endpoint priced; an asynchronous endpoint's output and failure prefixes), where its model data and image come from, data capture, its log group and
autoscaling. Per environment: the region and default tags, the KMS key, the model store, the alert topics.
The components map this onto resources and decide nothing; `render` writes it to aws/sagemaker.yaml.

Where the model comes from (SageMaker reads model data from S3 and images from ECR only):
- an `s3://` artifact is read where it is (the execution role may read that object or prefix only);
- an `https://` artifact is copied by your CI into the model store, `models/<model>/<file name>`, before the
  endpoint is created (the `artifact_uploads` stack output lists the copies; the role reads that prefix only);
- the serving image is pulled from the stack's ECR repository at the tag `image_tag` names: push a build of the
  model's runtime that answers SageMaker's container contract (GET /ping, POST /invocations on port 8080) there.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from mlinfra.conventions import k8s_name
from mlinfra.costs.prices import PriceTable, price_table
from mlinfra.planning.plan import PlanError
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.profiles.environments import resolve_environment
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.arns import split_s3_uri
from mlinfra.targets.aws.kms import key_alias
from mlinfra.targets.aws.logs import log_retention_days
from mlinfra.targets.aws.notifications import NotificationPlan, notification_plan
from mlinfra.targets.aws.storage import ARTIFACTS_PREFIX, DATA_CAPTURE_PREFIX, StoreSpec, store_spec
from mlinfra.targets.aws.tags import model_tags, stack_tags
from mlinfra.targets.aws_sagemaker.choice import EndpointChoice, choose_endpoint
from mlinfra.targets.aws_sagemaker.network import EndpointNetwork, endpoint_network

TARGET = "aws-sagemaker"
VARIANT = "AllTraffic"  # the one production variant of every endpoint
LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints/"  # where SageMaker writes an endpoint's container logs
DATA_CAPTURE_SAMPLING_PERCENT = 10  # of the requests, captured for the drift monitor
SCALE_OUT_COOLDOWN = 60  # seconds
SCALE_IN_COOLDOWN = 300
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"  # invocations per instance and minute
# Asynchronous endpoints publish no Invocations: they scale on the queue, requests waiting per instance
# (AWS/SageMaker ApproximateBacklogSizePerInstance{EndpointName}, as AWS's async autoscaling example does).
BACKLOG_METRIC = "ApproximateBacklogSizePerInstance"
ASYNC_PREFIX = "async/"  # async/<endpoint>/input/ (callers put requests), output/ and failures/ (SageMaker writes)
ASYNC_BACKLOG_MINUTES = 1  # scale so one minute of work waits per instance
SAGEMAKER_SERVICE = "sagemaker.amazonaws.com"
# Instance families with local NVMe storage: SageMaker rejects a volume KMS key for them (the instance store is
# encrypted by the hardware); every other real-time variant's volume is encrypted with the stack's key.
NVME_FAMILIES = ("c5d", "c6id", "g4dn", "g5", "g6", "g6e", "inf1", "m5d", "m6id", "p3dn", "p4d", "p4de", "p5", "r5d", "trn1")


@dataclass(frozen=True, kw_only=True)
class ArtifactSource:
    """Where SageMaker downloads the model data from."""

    origin: str  # the profile's artifact
    bucket: str | None  # its own bucket (s3://), None: the model store's (known once it exists)
    key: str  # object key, or a prefix ending in '/'

    @property
    def staged(self) -> bool:
        """Copied into the model store by CI (an https:// artifact)."""
        return self.bucket is None

    @property
    def compressed(self) -> bool:
        """One .tar.gz (SageMaker unpacks it) rather than a prefix of files."""
        return self.key.endswith(".tar.gz")

    @property
    def s3_data_type(self) -> str:
        return "S3Object" if self.compressed else "S3Prefix"

    @property
    def compression_type(self) -> str:
        return "Gzip" if self.compressed else "None"

    def uri(self, store_bucket: str) -> str:
        return f"s3://{self.bucket or store_bucket}/{self.key}"


@dataclass(frozen=True, kw_only=True)
class EndpointSpec:
    """One model's endpoint in one environment."""

    model: str  # the profile's model name
    endpoint_name: str  # SageMaker endpoint name (unique per account and region; alarms and dashboards name it)
    choice: EndpointChoice
    image_tag: str  # tag in the stack's ECR repository
    artifact: ArtifactSource
    data_capture: bool  # monitoring.drift: requests and responses captured to the model store
    log_group: str
    log_retention_days: int
    invocations_per_instance: float  # autoscaling target: invocations per instance and minute
    concurrency_per_instance: int = 1  # asynchronous: requests one instance works on at once
    tags: dict[str, str] = field(default_factory=dict)
    in_vpc: bool = False  # the model's containers run in the environment's VPC (network.py): VpcConfig on the model

    @property
    def mode(self) -> Literal["serverless", "realtime", "async"]:
        return self.choice.mode

    @property
    def autoscaled(self) -> bool:
        """A variant on instances (real-time, asynchronous) gets an autoscaling target; Serverless scales itself."""
        return self.choice.instances

    @property
    def encrypt_volume(self) -> bool:
        """Whether the endpoint configuration names the stack's key for the instances' storage volume (real-time,
        not on NVMe instance storage; Serverless storage is AWS's)."""
        if not self.choice.instances or not self.choice.instance_type:
            return False
        family = self.choice.instance_type.removeprefix("ml.").split(".", 1)[0]
        return family not in NVME_FAMILIES

    @property
    def network_isolation(self) -> bool:
        """The container gets no network (SageMaker downloads the model before it starts); Serverless endpoints
        do not support isolation."""
        return self.choice.instances

    @property
    def async_prefix(self) -> str:
        return f"{ASYNC_PREFIX}{self.endpoint_name}/"

    @property
    def capture_prefix(self) -> str:
        return f"{DATA_CAPTURE_PREFIX}{self.endpoint_name}/"

    @property
    def resource_id(self) -> str:
        """Application Auto Scaling's name of the variant."""
        return f"endpoint/{self.endpoint_name}/variant/{VARIANT}"

    def production_variant(self) -> dict[str, Any]:
        """The endpoint configuration's variant (without model_name: the model's name is known once it exists)."""
        c = self.choice
        if c.mode == "serverless":
            config = {"memory_size_in_mb": c.memory_mb, "max_concurrency": c.max_concurrency}
            if c.provisioned_concurrency:
                config["provisioned_concurrency"] = c.provisioned_concurrency
            return {"variant_name": VARIANT, "serverless_config": config}
        return {
            "variant_name": VARIANT,
            "instance_type": c.instance_type,
            "initial_instance_count": c.min_instances,
            "initial_variant_weight": 1,
        }

    def data_capture_config(self, store_bucket: str) -> dict[str, Any] | None:
        """Requests and responses of a sample, to the model store (None without monitoring.drift)."""
        if not self.data_capture:
            return None
        return {
            "enable_capture": True,
            "initial_sampling_percentage": DATA_CAPTURE_SAMPLING_PERCENT,
            "destination_s3_uri": f"s3://{store_bucket}/{self.capture_prefix}",
            "capture_options": [{"capture_mode": "Input"}, {"capture_mode": "Output"}],
        }

    def async_inference_config(self, store_bucket: str) -> dict[str, Any] | None:
        """Where an asynchronous endpoint writes results and failures (None for the other modes); the component
        adds the stack's key. Callers put requests under `input/` and call InvokeEndpointAsync with its URI."""
        if self.mode != "async":
            return None
        base = f"s3://{store_bucket}/{self.async_prefix}"
        return {
            "output_config": {"s3_output_path": f"{base}output/", "s3_failure_path": f"{base}failures/"},
            "client_config": {"max_concurrent_invocations_per_instance": self.concurrency_per_instance},
        }

    def scalable_target(self) -> dict[str, Any]:
        return {
            "service_namespace": "sagemaker",
            "scalable_dimension": SCALABLE_DIMENSION,
            "resource_id": self.resource_id,
            "min_capacity": self.choice.min_instances,
            "max_capacity": self.choice.max_instances,
        }

    def scaling_policy(self) -> dict[str, Any]:
        """Target tracking on invocations per instance: each instance serves its sized throughput (asynchronous:
        on the backlog per instance, a minute of its throughput)."""
        if self.mode == "async":
            target = max(1.0, round(self.invocations_per_instance * ASYNC_BACKLOG_MINUTES, 2))
            metric: dict[str, Any] = {"customized_metric_specification": {
                "metric_name": BACKLOG_METRIC, "namespace": "AWS/SageMaker", "statistic": "Average",
                "dimensions": [{"name": "EndpointName", "value": self.endpoint_name}],
            }}
        else:
            target = self.invocations_per_instance
            metric = {"predefined_metric_specification": {"predefined_metric_type": SCALING_METRIC}}
        return {
            "policy_type": "TargetTrackingScaling",
            "service_namespace": "sagemaker",
            "scalable_dimension": SCALABLE_DIMENSION,
            "resource_id": self.resource_id,
            "target_tracking_scaling_policy_configuration": {
                "target_value": target,
                **metric,
                "scale_in_cooldown": SCALE_IN_COOLDOWN,
                "scale_out_cooldown": SCALE_OUT_COOLDOWN,
            },
        }


@dataclass(frozen=True, kw_only=True)
class SageMakerPlan:
    """One environment of aws-sagemaker."""

    plan: EnvironmentPlan  # the generic plan: SLOs, receivers, paging, protection
    region: str
    tags: dict[str, str]  # the provider's default tags
    key_alias: str
    store: StoreSpec
    notifications: NotificationPlan
    endpoints: tuple[EndpointSpec, ...]
    # model -> models[].drift_baseline (s3:// prefix) where the profile names one (model_monitor.py reads it)
    drift_baselines: dict[str, str] = field(default_factory=dict)
    network: EndpointNetwork | None = None  # the VPC of the instance-backed endpoints of an isolated profile

    @property
    def models(self) -> dict[str, ModelSpec]:
        return {m.name: m for m in self.plan.models}


def sagemaker_plan(profile: Profile, plan: EnvironmentPlan, table: PriceTable | None = None) -> SageMakerPlan:
    """The spec of `plan`'s environment, each endpoint as `table` (default: the profile's) prices it
    (raises EstimateError when no instance holds a model, PlanError for an artifact SageMaker cannot read)."""
    env = resolve_environment(profile, plan.environment)
    table = table or price_table(profile)
    specs = {m.name: m for m in plan.models}
    network = endpoint_network(profile, env)
    endpoints = tuple(
        endpoint_spec(plan, specs[m.name], choose_endpoint(profile, m, env, table), network is not None)
        for m in profile.models
    )
    return SageMakerPlan(
        plan=plan,
        region=profile.region,
        tags=stack_tags(plan.profile_name, plan.environment),
        key_alias=key_alias(plan.profile_name, plan.environment),
        store=store_spec(plan.profile_name, plan.environment, protect=plan.protect),
        notifications=notification_plan(
            plan.profile_name, plan.environment, plan.monitoring.receivers, pages=plan.monitoring.alerts_page,
            owners=plan.monitoring.owners,
        ),
        endpoints=endpoints,
        drift_baselines={m.name: m.drift_baseline for m in profile.models if m.drift_baseline},
        network=network if any(e.in_vpc for e in endpoints) else None,
    )


def endpoint_name(profile: str, environment: str, model: str) -> str:
    """SageMaker endpoint names are 63 characters of [a-zA-Z0-9-]: an RFC 1123 label fits."""
    return k8s_name(profile, environment, model)


def endpoint_spec(
    plan: EnvironmentPlan, model: ModelSpec, choice: EndpointChoice, isolated: bool = False
) -> EndpointSpec:
    """`isolated`: the environment has a VPC for its endpoints; those on instances run in it (Serverless cannot)."""
    name = endpoint_name(plan.profile_name, plan.environment, model.name)
    return EndpointSpec(
        model=model.name,
        endpoint_name=name,
        choice=choice,
        image_tag=image_tag(model.image),
        artifact=artifact_source(model),
        data_capture=plan.monitoring.drift,
        log_group=f"{LOG_GROUP_PREFIX}{name}",
        log_retention_days=log_retention_days(plan.monitoring.retention_days),
        invocations_per_instance=round(model.capacity_rps_per_replica * 60, 2),
        concurrency_per_instance=max(1, math.ceil(model.gpus or model.cpu)),  # a request per core (per GPU)
        tags=model_tags(model.name),
        in_vpc=isolated and choice.instances,
    )


def artifact_source(model: ModelSpec) -> ArtifactSource:
    """s3:// as it is; https:// staged in the model store under models/<model>/ (raises PlanError otherwise)."""
    if model.artifact_kind == "s3":
        bucket, key = split_s3_uri(model.artifact)
        if not key.endswith(".tar.gz") and not key.endswith("/"):
            key += "/"  # a prefix: SageMaker copies every object under it
        return ArtifactSource(origin=model.artifact, bucket=bucket, key=key)
    if model.artifact_kind == "https":
        file = model.artifact.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1] or "model"
        return ArtifactSource(origin=model.artifact, bucket=None, key=f"{ARTIFACTS_PREFIX}{model.name}/{file}")
    raise PlanError(
        f"model '{model.name}': SageMaker reads model data from S3 only; artifact {model.artifact} cannot be served: "
        "publish it as s3://bucket/prefix (or a .tar.gz) or https:// and set models[].artifact"
    )


def image_tag(image: str) -> str:
    """ECR tag of a runtime image: `seldonio/mlserver:1.7.1` -> `mlserver-1.7.1` (tags are immutable in the
    repository, so a new runtime version is a new tag)."""
    name = image.rsplit("/", 1)[-1]
    name, _, digest = name.partition("@")
    name, _, version = name.partition(":")
    version = version or (digest.replace(":", "-")[:71] if digest else "latest")
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{name}-{version}")[:128]
