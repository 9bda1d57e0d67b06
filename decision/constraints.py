"""Hard constraints: what makes a target infeasible for a profile, each with the reason stated in plain words.

A violation names the profile fields involved, the values found and what would make the target feasible.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import EU_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Model, Profile

ONPREM = "onprem-k8s"
EKS = "aws-eks"
SAGEMAKER = "aws-sagemaker"


# ---------------------------------------------------------------------------------------------------------
# Shared rules


def cloud_violations(profile: Profile) -> list[str]:
    """Rules every cloud target shares: sovereignty and region."""
    sov = profile.data.sovereignty
    if sov == "on_premise":
        return [
            "data.sovereignty is 'on_premise': the data may not leave your premises, so no cloud target can "
            "process it (only onprem-k8s can)"
        ]
    region = profile.region
    if sov == "eu" and region not in EU_REGIONS:
        where = "cloud.region" if profile.cloud else "the default region"
        return [f"data.sovereignty is 'eu' but {where} is '{region}'; use an EU region ({', '.join(EU_REGIONS)})"]
    return []


def gpu_demand(profile: Profile) -> list[tuple[str, str, int]]:
    """(model, environment, GPUs at peak) for every GPU model in every environment."""
    from mlinfra.planning.sizing import size_model

    return [
        (m.name, env.name, m.resources.gpus * size_model(m, env).peak_replicas)
        for env in all_environments(profile)
        for m in profile.models
        if m.resources.gpus > 0
    ]


def gpu_models(profile: Profile) -> list[Model]:
    return [m for m in profile.models if m.resources.gpus > 0]


# ---------------------------------------------------------------------------------------------------------
# Per target


def onprem_violations(profile: Profile) -> list[str]:
    """onprem-k8s needs a declared cluster with enough GPUs (of the right type) and CPU for every environment."""
    o = profile.onprem
    if o is None:
        return [
            "no `onprem` block: onprem-k8s deploys to an existing cluster; declare it with onprem.kube_context "
            "(and onprem.gpu_nodes for GPU models)"
        ]
    problems: list[str] = []
    gpus = gpu_models(profile)
    available = o.gpu_nodes * o.gpus_per_node
    if gpus and o.gpu_nodes == 0:
        names = ", ".join(f"'{m.name}' ({m.resources.gpus} per replica)" for m in gpus)
        problems.append(
            f"GPU model{'s' if len(gpus) > 1 else ''} {names} need{'' if len(gpus) > 1 else 's'} GPUs but "
            "onprem.gpu_nodes is 0; "
            "declare the cluster's GPU nodes (onprem.gpu_nodes, onprem.gpus_per_node) or serve the models on CPU"
        )
    elif gpus:
        for m in gpus:
            if m.resources.gpus > o.gpus_per_node:
                problems.append(
                    f"model '{m.name}' needs {m.resources.gpus} GPUs per replica but a GPU node has "
                    f"onprem.gpus_per_node = {o.gpus_per_node}; one replica must fit on one node"
                )
            wanted = (m.resources.gpu_type or "").lower()
            have = (o.gpu_type or "").lower()
            if wanted and have and wanted != have:
                problems.append(
                    f"model '{m.name}' asks for gpu_type '{wanted}' but the cluster's GPU nodes have "
                    f"onprem.gpu_type '{have}'; change models[].resources.gpu_type or onprem.gpu_type"
                )
        demand = gpu_demand(profile)
        needed = sum(n for _, _, n in demand)
        if needed > available:
            detail = ", ".join(f"{model} {n} in {env}" for model, env, n in demand)
            problems.append(
                f"the GPU models need {needed} GPUs at peak ({detail}) but the cluster has onprem.gpu_nodes x "
                f"onprem.gpus_per_node = {o.gpu_nodes} x {o.gpus_per_node} = {available}; add GPU nodes or lower "
                "max_replicas"
            )
    problems += _onprem_cpu(profile)
    return problems


def _onprem_cpu(profile: Profile) -> list[str]:
    from mlinfra.costs.onprem import onprem_share

    o, c = profile.onprem, profile.costs.onprem
    assert o is not None
    envs = all_environments(profile)
    used = sum(onprem_share(profile, env, len(envs)).cpu_node_equivalents for env in envs)
    if used > o.cpu_nodes:
        return [
            f"at peak the models and the monitoring stack need {used:.2f} CPU nodes of {c.node_cpu:g} cores / "
            f"{c.node_memory_gib:g} GiB (costs.onprem.node_cpu, node_memory_gib) but onprem.cpu_nodes is "
            f"{o.cpu_nodes}; add nodes or lower max_replicas"
        ]
    return []


def eks_violations(profile: Profile) -> list[str]:
    """aws-eks needs the cloud to be allowed and an EC2 instance in the price table that holds each model."""
    problems = cloud_violations(profile)
    from mlinfra.costs.nodes import allocatable, candidate_instances, fits, gpu_matches, model_pod
    from mlinfra.costs.prices import price_table

    table = price_table(profile)
    prod_like = _prod_like(profile)
    for m in profile.models:
        pool = candidate_instances(table.ec2, prod_like, m.resources.gpus > 0)
        if m.resources.gpus > 0:
            pool = [i for i in pool if gpu_matches(m, i)]
        if not any(fits(model_pod(m), i) for i in pool):
            problems.append(_no_instance(m, "EC2", pool, allocatable))
    return problems


def sagemaker_violations(profile: Profile) -> list[str]:
    """aws-sagemaker needs the cloud to be allowed and a SageMaker instance in the price table for each model."""
    problems = cloud_violations(profile)
    from mlinfra.costs.estimate import EstimateError, sagemaker_instance
    from mlinfra.costs.prices import price_table

    table = price_table(profile)
    prod_like = _prod_like(profile)
    for m in profile.models:
        try:
            sagemaker_instance(m, prod_like, table, profile.region)
        except EstimateError as exc:
            problems.append(f"{exc}; SageMaker Serverless cannot take it either" if m.resources.gpus else str(exc))
    return problems


def _prod_like(profile: Profile):
    """A non-dev environment (burstable instances excluded), to check that every model fits somewhere."""
    envs = all_environments(profile)
    return next((e for e in envs if e.tier != "dev"), envs[0])


def _no_instance(model: Model, kind: str, pool, allocatable) -> str:
    r = model.resources
    gpu = f", {r.gpus} GPU" + (f" ({r.gpu_type})" if r.gpu_type else "") if r.gpus else ""
    if pool:
        biggest = max(pool, key=lambda i: (allocatable(i)[0], allocatable(i)[1]))
        cpu, mem = allocatable(biggest)
        room = f"the largest candidate, {biggest.name}, leaves {cpu:g} CPU / {mem:g} GiB for pods"
    elif r.gpus and r.gpu_type:
        room = f"the price table has no {kind} GPU instance with gpu_type '{r.gpu_type}'"
    else:
        room = f"the price table has no {kind} instance of that kind"
    return (
        f"model '{model.name}' needs {r.cpu:g} CPU, {r.memory_gib:g} GiB{gpu} per replica and no {kind} instance in "
        f"the price table holds it ({room}); lower models[].resources (larger instances are not in the price "
        "table, costs/prices.yaml)"
    )


# ---------------------------------------------------------------------------------------------------------
# When nothing is feasible


def conflicts(profile: Profile, violations: dict[str, list[str]]) -> list[str]:
    """The conflicting requirements behind 'no target is feasible', in plain words (most specific first)."""
    out: list[str] = []
    sov = profile.data.sovereignty
    if sov == "on_premise" and profile.onprem is None:
        out.append(
            "data must stay on premise (data.sovereignty: on_premise) but no on-premise cluster is declared "
            "(no `onprem` block)"
        )
    gpus = gpu_models(profile)
    if sov == "on_premise" and gpus and profile.onprem is not None:
        available = profile.onprem.gpu_nodes * profile.onprem.gpus_per_node
        needed = sum(n for _, _, n in gpu_demand(profile))
        names = ", ".join(m.name for m in gpus)
        if available == 0:
            out.append(
                f"data must stay on premise (data.sovereignty: on_premise) and the GPU model{'s' if len(gpus) > 1 else ''} "
                f"({names}) need{'' if len(gpus) > 1 else 's'} GPUs, but the declared cluster has no GPU nodes "
                "(onprem.gpu_nodes: 0)"
            )
        elif needed > available:
            out.append(
                f"data must stay on premise (data.sovereignty: on_premise) and the GPU models "
                f"({names}) need {needed} GPUs at peak, but the cluster has {available} "
                f"(onprem.gpu_nodes: {profile.onprem.gpu_nodes})"
            )
    if not out:
        for target in sorted(violations):
            out += [f"{target}: {v}" for v in violations[target]]
    return out
