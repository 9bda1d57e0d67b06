"""The model store: an S3 bucket for model artifacts and captured requests, and an ECR repository for serving
images - encrypted with the stack's key, private, versioned, TLS only, old versions expired."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlinfra.conventions import PACKAGE, k8s_name

ARTIFACTS_PREFIX = "models/"  # artifacts not already in S3 are copied to models/<model>/
DATA_CAPTURE_PREFIX = "data-capture/"  # captured requests, data-capture/<endpoint>/
NONCURRENT_VERSION_DAYS = 90  # an overwritten or deleted artifact can be restored for this long
ABORT_MULTIPART_DAYS = 7
DATA_CAPTURE_DAYS = 30  # captured requests (model inputs and outputs) are deleted after this
UNTAGGED_IMAGE_DAYS = 14
BUCKET_PREFIX_MAX = 37  # S3 appends 26 characters to a bucket_prefix (63 in all)

# every one of the four switches: no public ACL can be set or honoured, no public bucket policy
PUBLIC_ACCESS_BLOCK = {
    "block_public_acls": True,
    "block_public_policy": True,
    "ignore_public_acls": True,
    "restrict_public_buckets": True,
}


@dataclass(frozen=True, kw_only=True)
class StoreSpec:
    bucket_prefix: str  # the bucket's name is this plus a unique suffix (bucket names are global)
    repository: str  # ECR repository name (unique per account and region)
    protect: bool  # production: bucket and repository carry protect=True

    @property
    def public_access_block(self) -> dict[str, bool]:
        return dict(PUBLIC_ACCESS_BLOCK)

    @property
    def lifecycle_rules(self) -> list[dict[str, Any]]:
        return lifecycle_rules()

    @property
    def repository_lifecycle_policy(self) -> dict[str, Any]:
        return repository_lifecycle_policy()


def store_spec(profile: str, environment: str, *, protect: bool) -> StoreSpec:
    prefix = k8s_name(profile, environment, "models", max_len=BUCKET_PREFIX_MAX - 1) + "-"
    return StoreSpec(bucket_prefix=prefix, repository=f"{PACKAGE}/{k8s_name(profile, environment)}", protect=protect)


def lifecycle_rules() -> list[dict[str, Any]]:
    """Old versions expire, unfinished uploads are aborted, captured requests are deleted after DATA_CAPTURE_DAYS."""
    return [
        {
            "id": "expire-old-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_VERSION_DAYS},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
        },
        {
            "id": "expire-captured-requests",
            "status": "Enabled",
            "filter": {"prefix": DATA_CAPTURE_PREFIX},
            "expiration": {"days": DATA_CAPTURE_DAYS},
        },
    ]


def tls_only_bucket_policy(bucket_arn: str) -> dict[str, Any]:
    """Deny every request to the bucket and its objects that does not come over TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRequestsWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def repository_lifecycle_policy() -> dict[str, Any]:
    """Untagged images (layers of failed or replaced pushes) expire; tagged images stay (tags are immutable)."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"expire untagged images after {UNTAGGED_IMAGE_DAYS} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_IMAGE_DAYS,
                },
                "action": {"type": "expire"},
            }
        ]
    }
