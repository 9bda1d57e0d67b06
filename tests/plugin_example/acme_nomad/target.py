"""The `acme-nomad` target: serve the models as Nomad service jobs on Acme's on-premise Nomad clients."""

from __future__ import annotations

from typing import Any

from mlinfra.costs.model import CostEstimate, CostLine
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.files.rendered import RenderedFile
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target

from acme_nomad.jobspec import job_json, job_name

# Acme's internal price list for its Nomad platform (EUR per month), charged back to the owning team.
PLATFORM_FEE_EUR = 140.0  # per environment: Nomad servers, Consul, log shipping
VCPU_EUR = 11.5  # per reserved core
MEMORY_GIB_EUR = 1.75  # per reserved GiB
GPU_EUR = 290.0  # per reserved GPU


class AcmeNomad(Target):
    name = "acme-nomad"
    title = "Acme Nomad (on-premise HashiCorp Nomad)"
    description = "One Nomad service job per model on Acme's on-premise Nomad clients, charged back by reservation."

    # -- decision ------------------------------------------------------------------------------------------
    def feasibility(self, profile: Profile) -> list[str]:
        found = []
        if profile.onprem is None:
            found.append("acme-nomad runs on Acme's on-premise Nomad clients; the profile has no `onprem` block")
        elif any(m.resources.gpus for m in profile.models) and profile.onprem.gpu_nodes == 0:
            gpu_models = ", ".join(m.name for m in profile.models if m.resources.gpus)
            found.append(f"models {gpu_models} need GPUs but onprem.gpu_nodes is 0")
        if profile.security.exposure == "public":
            found.append("Acme's Nomad has no public ingress; security.exposure 'public' needs another target")
        return found

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        plan = self.plan(profile, env.name)
        lines = [CostLine(item=f"Acme Nomad platform fee ({env.name})", monthly_eur=PLATFORM_FEE_EUR)]
        for m in plan.models:
            n = m.min_replicas
            eur = n * (m.cpu * VCPU_EUR + m.memory_gib * MEMORY_GIB_EUR + m.gpus * GPU_EUR)
            what = f"{n} x {m.name} ({m.cpu:g} vCPU, {m.memory_gib:g} GiB" + (f", {m.gpus} GPU" if m.gpus else "") + ")"
            lines.append(CostLine(item=what, monthly_eur=round(eur, 2)))
        return CostEstimate(
            lines=tuple(lines),
            assumptions=("acme-nomad: reservations at the minimum replica count, Acme's 2026 charge-back prices",),
        )

    def criteria(self, profile: Profile) -> Criteria:
        ops = 0.8 if profile.team.kubernetes_skills != "advanced" else 0.7
        return Criteria(
            scores={"scalability": 0.55, "sovereignty": 1.0, "security": 0.7, "operations": ops},
            notes={
                "scalability": "fixed allocation counts; the Nomad autoscaler is not wired up",
                "sovereignty": "runs in Acme's own data centres",
                "security": "internal network only, Consul service mesh without mTLS policies",
                "operations": "the Acme platform team runs Nomad; the ML team only owns job specs",
            },
        )

    def components(self, profile: Profile) -> list[str]:
        return ["AcmeNomadJob"]

    # -- render --------------------------------------------------------------------------------------------
    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        plan = self.plan(profile, env)
        return [RenderedFile(f"nomad/{job_name(plan, m)}.nomad.json", job_json(plan, m)) for m in plan.models]

    # -- Pulumi --------------------------------------------------------------------------------------------
    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        from acme_nomad.component import assemble_nomad

        return assemble_nomad(profile, self.plan(profile, env), self.name)
