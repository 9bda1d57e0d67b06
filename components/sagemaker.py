"""SageMakerEndpoint: one model's endpoint from targets.aws_sagemaker.endpoints' spec - its execution role, log
group, model (in the environment's VPC where the spec says so), endpoint configuration (real-time or Serverless, as priced), endpoint and, for real-time variants,
the autoscaling target and target-tracking policy."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_SAGEMAKER_ENDPOINT, child_name
from mlinfra.targets.aws.arns import account_of, partition_of
from mlinfra.targets.aws_sagemaker.endpoints import EndpointSpec
from mlinfra.targets.aws_sagemaker.iam import execution_policy, trust_policy


@dataclass(frozen=True, kw_only=True)
class SageMakerEndpointArgs:
    endpoint: EndpointSpec
    region: str
    kms_key_arn: pulumi.Input[str]
    bucket_name: pulumi.Input[str]  # the model store's
    repository_arn: pulumi.Input[str]
    repository_url: pulumi.Input[str]
    protect: bool = False  # production: the log group carries protect=True
    # the environment's SageMakerNetwork, for an endpoint in a VPC (spec.in_vpc)
    subnet_ids: tuple[pulumi.Input[str], ...] = ()
    security_group_id: pulumi.Input[str] | None = None


def model_container(spec: EndpointSpec, image: pulumi.Input[str], bucket: pulumi.Input[str]) -> dict[str, Any]:
    """The primary container: a .tar.gz as ModelDataUrl (SageMaker unpacks it), a prefix as uncompressed data."""
    uri = pulumi.Output.from_input(bucket).apply(spec.artifact.uri)
    if spec.artifact.compressed:
        return {"image": image, "model_data_url": uri}
    source = {"s3_uri": uri, "s3_data_type": spec.artifact.s3_data_type, "compression_type": spec.artifact.compression_type}
    return {"image": image, "model_data_source": {"s3_data_sources": [source]}}


def _with_key(config: dict[str, Any] | None, key_arn: str) -> dict[str, Any] | None:
    """An asynchronous endpoint's results and failures are encrypted with the stack's key."""
    if config is None:
        return None
    return {**config, "output_config": {**config["output_config"], "kms_key_id": key_arn}}


class SageMakerEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    role_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: SageMakerEndpointArgs, *, provider: aws.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_SAGEMAKER_ENDPOINT, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        spec, region, tags = args.endpoint, args.region, dict(args.endpoint.tags)

        logs = aws.cloudwatch.LogGroup(
            child_name(name, "logs"),
            name=spec.log_group, retention_in_days=spec.log_retention_days, kms_key_id=args.kms_key_arn, tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect)),
        )
        role = aws.iam.Role(child_name(name, "role"), assume_role_policy=json.dumps(trust_policy(), sort_keys=True),
                            tags=tags, opts=child)

        def policy(values: list[str]) -> str:
            key_arn, bucket, repository_arn = values
            return json.dumps(execution_policy(
                spec, partition=partition_of(key_arn), region=region, account=account_of(key_arn),
                store_bucket=bucket, repository_arn=repository_arn, key_arn=key_arn,
            ), sort_keys=True)

        role_policy = aws.iam.RolePolicy(
            child_name(name, "role-policy"), role=role.id,
            policy=pulumi.Output.all(args.kms_key_arn, args.bucket_name, args.repository_arn).apply(policy), opts=child,
        )
        image = pulumi.Output.concat(args.repository_url, ":", spec.image_tag)
        model = aws.sagemaker.Model(
            child_name(name, "model"),
            execution_role_arn=role.arn, primary_container=model_container(spec, image, args.bucket_name),
            enable_network_isolation=spec.network_isolation, tags=tags,
            vpc_config={"subnets": list(args.subnet_ids), "security_group_ids": [args.security_group_id]}
            if spec.in_vpc else None,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[role_policy])),
        )
        capture = None
        if spec.data_capture:
            capture = pulumi.Output.all(args.bucket_name, args.kms_key_arn).apply(
                lambda values: {**spec.data_capture_config(values[0]), "kms_key_id": values[1]}  # type: ignore[dict-item]
            )
        async_config = None
        if spec.mode == "async":
            async_config = pulumi.Output.all(args.bucket_name, args.kms_key_arn).apply(
                lambda values: _with_key(spec.async_inference_config(values[0]), values[1])
            )
        config = aws.sagemaker.EndpointConfiguration(
            child_name(name, "config"),
            production_variants=[{**spec.production_variant(), "model_name": model.name}],
            data_capture_config=capture,
            async_inference_config=async_config,
            kms_key_arn=args.kms_key_arn if spec.encrypt_volume else None,
            tags=tags, opts=child,
        )
        endpoint = aws.sagemaker.Endpoint(
            child_name(name, "endpoint"), name=spec.endpoint_name, endpoint_config_name=config.name, tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[logs])),
        )
        if spec.autoscaled:
            after_endpoint = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[endpoint]))
            target = aws.appautoscaling.Target(child_name(name, "scaling-target"), **spec.scalable_target(),
                                               opts=after_endpoint)
            aws.appautoscaling.Policy(
                child_name(name, "scaling-policy"), name=f"{spec.endpoint_name}-invocations", **spec.scaling_policy(),
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[target])),
            )
        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.role_arn = role.arn
        self.register_outputs({"endpoint_name": self.endpoint_name, "endpoint_arn": self.endpoint_arn,
                               "role_arn": self.role_arn})
