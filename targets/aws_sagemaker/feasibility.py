"""When AWS SageMaker cannot take the profile: the cloud is not allowed, or no instance holds a model."""

from __future__ import annotations

from mlinfra.costs.model import EstimateError
from mlinfra.costs.prices import price_table
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws_sagemaker.cost import sagemaker_instance
from mlinfra.targets.cloud import cloud_violations, prod_like


def violations(profile: Profile) -> list[str]:
    problems = cloud_violations(profile)
    table = price_table(profile)
    env = prod_like(profile)
    for m in profile.models:
        try:
            sagemaker_instance(m, env, table, profile.region)
        except EstimateError as exc:
            problems.append(f"{exc}; SageMaker Serverless cannot take it either" if m.resources.gpus else str(exc))
    return problems
