"""The AWS pieces every AWS target deploys on: the explicit provider (region, default tags), the stack's KMS key,
the model store (S3 bucket and ECR repository) and the alert topics (SNS). They map targets/aws's pure specs onto
resources; aws-sagemaker and aws-eks both use them."""

from mlinfra.components.aws.kms import EncryptionKey, EncryptionKeyArgs
from mlinfra.components.aws.model_store import ModelStore, ModelStoreArgs
from mlinfra.components.aws.notifications import AlertTopics, AlertTopicsArgs
from mlinfra.components.aws.provider import aws_provider

__all__ = [
    "AlertTopics",
    "AlertTopicsArgs",
    "EncryptionKey",
    "EncryptionKeyArgs",
    "ModelStore",
    "ModelStoreArgs",
    "aws_provider",
]
