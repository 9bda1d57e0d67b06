"""ModelStore: the S3 bucket for model artifacts and captured requests, and the ECR repository for serving images,
from targets.aws.storage's spec.

Bucket: SSE-KMS with the stack's key (bucket key on), versioning, all four public-access blocks, ACLs disabled
(bucket owner enforced), a TLS-only policy, lifecycle for old versions and captured requests. Repository: KMS
encryption, immutable tags, scan on push, untagged images expire. Both protected in production.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_MODEL_STORE, child_name
from mlinfra.targets.aws.storage import StoreSpec, tls_only_bucket_policy


@dataclass(frozen=True, kw_only=True)
class ModelStoreArgs:
    store: StoreSpec
    kms_key_arn: pulumi.Input[str]


class ModelStore(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    repository_arn: pulumi.Output[str]
    repository_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ModelStoreArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE_MODEL_STORE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        stateful = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.store.protect))
        spec = args.store

        bucket = aws.s3.Bucket(child_name(name, "bucket"), bucket_prefix=spec.bucket_prefix, force_destroy=False,
                               opts=stateful)
        blocked = aws.s3.BucketPublicAccessBlock(child_name(name, "public-access"), bucket=bucket.id,
                                                 **spec.public_access_block, opts=child)
        aws.s3.BucketOwnershipControls(child_name(name, "ownership"), bucket=bucket.id,
                                       rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            child_name(name, "encryption"), bucket=bucket.id,
            rules=[{
                "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn},
                "bucket_key_enabled": True,
            }],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(child_name(name, "versioning"), bucket=bucket.id,
                                             versioning_configuration={"status": "Enabled"}, opts=child)
        aws.s3.BucketLifecycleConfiguration(
            child_name(name, "lifecycle"), bucket=bucket.id, rules=spec.lifecycle_rules,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        aws.s3.BucketPolicy(
            child_name(name, "policy"), bucket=bucket.id,
            policy=bucket.arn.apply(lambda arn: json.dumps(tls_only_bucket_policy(arn), sort_keys=True)),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[blocked])),
        )
        repository = aws.ecr.Repository(
            child_name(name, "repository"),
            name=spec.repository, image_tag_mutability="IMMUTABLE", force_delete=False,
            image_scanning_configuration={"scan_on_push": True},
            encryption_configurations=[{"encryption_type": "KMS", "kms_key": args.kms_key_arn}],
            opts=stateful,
        )
        aws.ecr.LifecyclePolicy(
            child_name(name, "repository-lifecycle"), repository=repository.name,
            policy=json.dumps(spec.repository_lifecycle_policy, sort_keys=True), opts=child,
        )
        self.bucket_name = bucket.bucket
        self.bucket_arn = bucket.arn
        self.repository_arn = repository.arn
        self.repository_url = repository.repository_url
        self.register_outputs({
            "bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn,
            "repository_arn": self.repository_arn, "repository_url": self.repository_url,
        })
