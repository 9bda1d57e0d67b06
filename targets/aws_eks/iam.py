"""IAM of one EKS environment as data: trust policies, managed policies per role, IRSA roles and their policies.

- The cluster role: AmazonEKSClusterPolicy, and the stack's KMS key for Secrets. The node role: the three policies a managed node group needs (kubelet,
  image pulls, the VPC CNI); nothing that reads the models.
- IRSA (IAM roles for service accounts): a model server's ServiceAccount gets a role of its own that can only list
  and read its own model prefix (s3://bucket/prefix) and decrypt through S3 with the environment's KMS key;
  the EBS CSI driver's controller gets the AWS-managed driver policy.
The IRSA trust policy names the cluster's OIDC provider, so it is built from that provider's outputs: the
components call `irsa_trust_policy` with the resolved values (a pure function inside `apply`, no resources).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlinfra.targets.aws.iam import POLICY_VERSION
from mlinfra.planning.specs import EnvironmentPlan

STS_AUDIENCE = "sts.amazonaws.com"
CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryReadOnly", "AmazonEKS_CNI_Policy")
EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_NAMESPACE = "kube-system"
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"  # the add-on's controller ServiceAccount


def partition(region: str) -> str:
    """The ARN partition of a region (China and GovCloud have their own)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def managed_policy_arn(region: str, name: str) -> str:
    return f"arn:{partition(region)}:iam::aws:policy/{name}"


def cluster_key_policy(key_arn: str) -> dict[str, Any]:
    """The cluster role's use of the stack's KMS key for Secrets envelope encryption (the key policy delegates to
    IAM; AmazonEKSClusterPolicy grants no customer-managed key)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "EnvelopeEncryptionOfSecrets",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"],
                "Resource": key_arn,
            },
            {
                "Sid": "GrantsForTheControlPlane",
                "Effect": "Allow",
                "Action": "kms:CreateGrant",
                "Resource": key_arn,
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ],
    }


def issuer_host(issuer_url: str) -> str:
    """The OIDC issuer without its scheme, as IAM condition keys spell it."""
    return issuer_url.removeprefix("https://")


def irsa_trust_policy(provider_arn: str, issuer_url: str, namespace: str, service_account: str) -> dict[str, Any]:
    """Only the one ServiceAccount, through the cluster's OIDC provider, may assume the role."""
    host = issuer_host(issuer_url)
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{host}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                        f"{host}:aud": STS_AUDIENCE,
                    }
                },
            }
        ],
    }


@dataclass(frozen=True, kw_only=True)
class ArtifactAccess:
    """One model server's IRSA role: who assumes it and the one S3 prefix it reads."""

    role: str  # child-name role, e.g. "artifacts-ranker"
    model: str
    namespace: str
    service_account: str
    bucket: str
    prefix: str  # without leading or trailing slash; "" = the whole bucket (the artifact named the bucket)


def s3_location(uri: str) -> tuple[str, str]:
    """Bucket and prefix of an s3:// URI."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    return bucket, prefix.strip("/")


def artifact_access(plan: EnvironmentPlan) -> tuple[ArtifactAccess, ...]:
    """An IRSA role per model whose artifact is in S3 (the others fetch without AWS credentials)."""
    found = []
    for model in plan.models:
        if model.artifact_kind != "s3":
            continue
        bucket, prefix = s3_location(model.artifact)
        found.append(
            ArtifactAccess(
                role=f"artifacts-{model.k8s_name}", model=model.name, namespace=plan.namespace,
                service_account=model.k8s_name, bucket=bucket, prefix=prefix,
            )
        )
    return tuple(found)


def artifact_read_policy(region: str, access: ArtifactAccess, kms_key_arn: str | None = None) -> dict[str, Any]:
    """List the prefix and read objects under it, nothing else; decrypt with the key only through S3."""
    bucket_arn = f"arn:{partition(region)}:s3:::{access.bucket}"
    objects = f"{bucket_arn}/{access.prefix}/*" if access.prefix else f"{bucket_arn}/*"
    listing: dict[str, Any] = {"Sid": "ListModelPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
                               "Resource": bucket_arn}
    if access.prefix:
        listing["Condition"] = {"StringLike": {"s3:prefix": [access.prefix, f"{access.prefix}/*"]}}
    statements = [listing, {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": objects}]
    if kms_key_arn:
        statements.append(
            {
                "Sid": "DecryptModelObjects",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": kms_key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return {"Version": POLICY_VERSION, "Statement": statements}
