"""When AWS EKS cannot take the profile: the cloud is not allowed, or no EC2 instance holds a model."""

from __future__ import annotations

from mlinfra.costs.nodes import candidate_instances, fits, gpu_matches, model_pod
from mlinfra.costs.prices import price_table
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.rules import cloud_violations, no_instance, prod_like


def violations(profile: Profile) -> list[str]:
    problems = cloud_violations(profile)
    table = price_table(profile)
    env = prod_like(profile)
    for m in profile.models:
        pool = candidate_instances(table.ec2, env, m.resources.gpus > 0)
        wanted = (m.resources.gpu_type or "").lower()
        if m.resources.gpus > 0 and wanted:
            pool = [i for i in pool if i.gpu == wanted]
        if not any(fits(model_pod(m), i) and (not m.resources.gpus or gpu_matches(m, i)) for i in pool):
            problems.append(no_instance(m, "EC2", pool))
    return problems
