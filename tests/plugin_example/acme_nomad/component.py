"""Pulumi side of acme-nomad: mlinfra's Environment scope, one explicit Nomad provider, one Nomad job per model.

The Environment component carries the guardrail context (sovereignty, exposure, protection) that
`mlinfra preview` and the policy pack check the stack against; every target registers one as the parent of
everything it deploys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from mlinfra.components.environment import Environment, EnvironmentArgs
from mlinfra.guardrails.context import context_for, context_inputs
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile

from acme_nomad.jobspec import job_json, job_name

# The resource type of pulumi-nomad's `nomad.Job` (the team installs pulumi-nomad for real deployments; creating
# it through CustomResource keeps this example free of that dependency).
NOMAD_JOB = "nomad:index/job:Job"
DEFAULT_ADDRESS = "http://127.0.0.1:4646"


@dataclass(frozen=True, kw_only=True)
class NomadJobArgs:
    jobspec: str  # JSON job specification


class AcmeNomadJob(pulumi.ComponentResource):
    """A model's Nomad service job."""

    def __init__(self, name: str, args: NomadJobArgs, *, provider: pulumi.ProviderResource,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("acme:nomad:AcmeNomadJob", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.job = pulumi.CustomResource(
            NOMAD_JOB, f"{name}-job", {"jobspec": args.jobspec, "json": True, "detach": False}, child
        )
        self.register_outputs({"job": self.job.id})


def assemble_nomad(profile: Profile, plan: EnvironmentPlan, target: str) -> dict[str, Any]:
    ctx = context_for(profile, plan.environment, tier=plan.tier, protect=plan.protect, target=target)
    scope = Environment(profile.name, EnvironmentArgs(context=context_inputs(ctx)))
    address = pulumi.Config("acme-nomad").get("address") or DEFAULT_ADDRESS
    provider = pulumi.ProviderResource(
        "nomad", f"{profile.name}-nomad", {"address": address}, pulumi.ResourceOptions(parent=scope)
    )
    endpoints = {}
    for m in plan.models:
        name = job_name(plan, m)
        AcmeNomadJob(name, NomadJobArgs(jobspec=job_json(plan, m)), provider=provider,
                     opts=pulumi.ResourceOptions(parent=scope))
        endpoints[m.name] = f"http://{name}.service.consul"
    return {"endpoints": endpoints}
