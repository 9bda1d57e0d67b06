"""The execution role of one model's endpoint: what SageMaker may do on its behalf, and nothing more.

It pulls the image from the stack's ECR repository, reads the model's own artifact (one object or one prefix),
writes its log streams, decrypts with the stack's key, - with data capture - writes captured requests under its
own prefix of the model store and - asynchronous - reads queued requests and writes results under its own. Nothing of other models, nothing else in the buckets.
"""

from __future__ import annotations

from typing import Any

from mlinfra.targets.aws.iam import service_trust_policy
from mlinfra.targets.aws.arns import log_group_arn
from mlinfra.targets.aws_sagemaker.endpoints import SAGEMAKER_SERVICE, EndpointSpec


def trust_policy() -> dict[str, Any]:
    """Only SageMaker may assume the role."""
    return service_trust_policy(SAGEMAKER_SERVICE)


def execution_policy(
    spec: EndpointSpec, *, partition: str, region: str, account: str, store_bucket: str, repository_arn: str,
    key_arn: str,
) -> dict[str, Any]:
    """The role's inline policy (ARNs of the stack's key, bucket and repository filled in once they exist)."""
    source = spec.artifact
    bucket = source.bucket or store_bucket
    bucket_arn = f"arn:{partition}:s3:::{bucket}"
    read = f"{bucket_arn}/{source.key}" if source.compressed else f"{bucket_arn}/{source.key}*"
    logs = log_group_arn(partition, region, account, spec.log_group)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "PullTheServingImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repository_arn,
        },
        {"Sid": "LogInToEcr", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "ReadTheModelArtifact", "Effect": "Allow", "Action": "s3:GetObject", "Resource": read},
    ]
    if not source.compressed:
        statements.append({
            "Sid": "ListTheModelArtifact",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringLike": {"s3:prefix": [f"{source.key}*"]}},
        })
    statements += [
        {
            "Sid": "WriteTheEndpointLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
            "Resource": [logs, f"{logs}:*"],
        },
        {"Sid": "PublishEndpointMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*"},
        {
            "Sid": "UseTheStackKey",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": key_arn,
        },
    ]
    if spec.mode == "async":
        prefix = f"arn:{partition}:s3:::{store_bucket}/{spec.async_prefix}"
        statements += [
            {"Sid": "ReadQueuedRequests", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{prefix}input/*"},
            {
                "Sid": "WriteResultsAndFailures",
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": [f"{prefix}output/*", f"{prefix}failures/*"],
            },
        ]
    if spec.data_capture:
        statements.append({
            "Sid": "WriteCapturedRequests",
            "Effect": "Allow",
            "Action": "s3:PutObject",
            "Resource": f"arn:{partition}:s3:::{store_bucket}/{spec.capture_prefix}*",
        })
    return {"Version": "2012-10-17", "Statement": statements}
