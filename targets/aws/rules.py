"""Rules every AWS target shares: where the data may be processed (sovereignty and region, and how that scores),
which environment to size for, and why no instance holds a model."""

from __future__ import annotations

from mlinfra.costs.model import fmt_number
from mlinfra.costs.nodes import allocatable, gpu_memory_needed
from mlinfra.costs.prices import InstanceType
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import EU_REGIONS, Model, Profile

# What a US-owned cloud region costs against the sovereignty requirement and the data's class.
SOVEREIGNTY_GAP = {"none": 0.0, "eu": 0.25, "on_premise": 1.0}
CLASS_GAP = {"public": 0.0, "internal": 0.05, "confidential": 0.1, "personal": 0.1}


def cloud_violations(profile: Profile) -> list[str]:
    """Sovereignty and region: on-premise data never goes to a cloud; EU data only to an EU region."""
    sov = profile.data.sovereignty
    if sov == "on_premise":
        return [
            "data.sovereignty is 'on_premise': the data may not leave your premises, so no cloud target can "
            "process it"
        ]
    region = profile.region
    if sov == "eu" and region not in EU_REGIONS:
        where = "cloud.region" if profile.cloud else "the default region"
        return [f"data.sovereignty is 'eu' but {where} is '{region}'; use an EU region ({', '.join(EU_REGIONS)})"]
    return []


def prod_like(profile: Profile) -> EnvironmentSettings:
    """A non-dev environment (burstable instances excluded), to check that every model fits somewhere."""
    envs = all_environments(profile)
    return next((e for e in envs if e.tier != "dev"), envs[0])


def no_instance(model: Model, kind: str, pool: list[InstanceType]) -> str:
    """Why no instance of the catalogue holds `model`, with the largest candidate's room. The remedy is a larger
    instance type (costs.instance_types), never a smaller model: the model's needs are facts, the catalogue is not."""
    r = model.resources
    need = gpu_memory_needed(model)
    gpu = f", {r.gpus} GPU" + (f" ({r.gpu_type})" if r.gpu_type else "") if r.gpus else ""
    gpu += f" with {fmt_number(need)} GiB GPU memory" if r.gpus and need else ""
    if pool:
        biggest = max(pool, key=lambda i: (i.total_gpu_memory_gib, allocatable(i)[0], allocatable(i)[1]))
        cpu, mem = allocatable(biggest)
        room = f"the largest candidate, {biggest.name}, leaves {fmt_number(cpu)} CPU / {fmt_number(mem)} GiB for pods"
        if biggest.gpus:
            room += f" and has {biggest.gpus} x {fmt_number(biggest.gpu_memory_gib)} GiB GPU memory"
    elif r.gpus and r.gpu_type:
        room = f"the catalogue has no {kind} GPU instance with gpu_type '{r.gpu_type}'"
    else:
        room = f"the catalogue has no {kind} instance of that kind"
    service = "sagemaker/ml." if kind == "SageMaker" else "ec2/"
    return (
        f"model '{model.name}' needs {r.cpu:g} CPU, {r.memory_gib:g} GiB{gpu} per replica and no {kind} instance in "
        f"the catalogue holds it ({room}); add an instance type that does with "
        f"costs.instance_types.{service}<type> (vcpu, memory_gib, gpus, gpu, gpu_memory_gib, hourly_usd)"
    )


def sovereignty(profile: Profile) -> tuple[float, str]:
    """Any AWS target: the data is processed by a US-owned provider in the profile's region."""
    sov, cls = profile.data.sovereignty, profile.data.classification
    return 1 - SOVEREIGNTY_GAP[sov] - CLASS_GAP[cls], (
        f"{cls} data processed by AWS in {profile.region}"
        + (" (an EU region, as data.sovereignty requires; a US-owned provider)" if sov == "eu" else "")
    )
