"""When AWS SageMaker cannot take the profile: the cloud is not allowed, no instance holds a model, or a model's
artifact is somewhere SageMaker cannot read model data from; and what it cannot deploy (the edge's gaps)."""

from __future__ import annotations

from mlinfra.costs.model import EstimateError
from mlinfra.costs.prices import price_table
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_sagemaker.choice import sagemaker_instance
from mlinfra.targets.aws_sagemaker.model_monitor import ANALYZER_ACCOUNTS, region_problem
from mlinfra.targets.aws_sagemaker.edge import edge_gaps
from mlinfra.targets.aws.rules import cloud_violations, prod_like

SERVABLE_ARTIFACTS = ("s3", "https")  # s3: read in place; https: copied into the model store


def violations(profile: Profile) -> list[str]:
    problems = cloud_violations(profile)
    if profile.monitoring.drift and profile.region not in ANALYZER_ACCOUNTS:
        problems.append(region_problem(profile.region))
    table = price_table(profile)
    env = prod_like(profile)
    for m in profile.models:
        try:
            sagemaker_instance(m, env, table, profile.region)
        except EstimateError as exc:
            problems.append(f"{exc}; SageMaker Serverless cannot take it either" if m.resources.gpus else str(exc))
        kind = m.artifact.split("://", 1)[0]
        if kind not in SERVABLE_ARTIFACTS:
            problems.append(
                f"model '{m.name}': artifact {m.artifact} is a {kind}:// artifact and SageMaker reads model data from "
                "S3 only; publish it as s3://bucket/prefix (or a .tar.gz) or https:// and set models[].artifact"
            )
    return problems


def deployment_gaps(profile: Profile) -> list[str]:
    """What the profile needs that this mlinfra does not deploy for SageMaker.

    SageMaker endpoints answer IAM-signed (SigV4) requests only. API-key callers are served by IAM access keys (a
    key pair per caller, granted sagemaker:InvokeEndpoint on the `endpoint_arns` stack output); OIDC callers and
    unauthenticated public callers get the API Gateway edge (edge.py). What remains is what the edge cannot do:
    OIDC with exposure private (an HTTP API is internet-reachable), OIDC without security.oidc, and SLOs longer
    than the edge waits."""
    return edge_gaps(profile)
