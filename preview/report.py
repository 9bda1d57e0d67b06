"""An offline preview as plain data: run the program under mocks, check the guardrails, summarise per resource.

`run_preview` gets the Pulumi side (mlinfra.program.run_offline) from its caller, so importing this module
(the CLI does) costs nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlinfra.guardrails import CheckResult, context_for, context_from_graph, run_guardrails
from mlinfra.guardrails.graph import SECRET_MARK, Resource
from mlinfra.monitoring.readiness import ReadinessFinding, readiness
from mlinfra.profiles import load_profile
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.registry import plan_for


class PreviewError(Exception):
    """The program failed under the mocks (message only, no traceback)."""


@dataclass
class PreviewReport:
    profile: str
    environment: str
    resources: list[Resource]
    outputs: dict[str, Any]
    checks: list[CheckResult]
    invokes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # the policy pack run as the engine runs it: {"pack", "passed", "violations": [...], "notes": [...]}
    policy_pack: dict[str, Any] = field(default_factory=dict)
    readiness: list[ReadinessFinding] = field(default_factory=list)  # go-live gaps: warnings, never a failure

    @property
    def target(self) -> str:
        return str(self.outputs.get("target", "?"))

    @property
    def passed(self) -> bool:
        return all(c.status != "fail" for c in self.checks) and self.policy_pack.get("passed", True)

    @property
    def violations(self) -> int:
        return sum(len(c.violations) for c in self.checks)

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(r["type"] for r in self.resources).items()))

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "environment": self.environment,
            "target": self.target,
            "resources": ordered(self.resources),
            "counts": self.counts(),
            "outputs": self.outputs,
            "guardrails": [c.as_dict() for c in self.checks],
            "policy_pack": self.policy_pack,
            "readiness": [f.as_dict() for f in self.readiness],
            "passed": self.passed,
            "invokes": self.invokes,
        }


def run_preview(
    profile: str | Path,
    env: str,
    *,
    runner: Callable[..., Any],
    target: str | None = None,
    on_register: Callable[[int], None] | None = None,
) -> PreviewReport:
    """Run the Pulumi program for `env` under mocks and check the guardrails; raises PreviewError.

    `runner`: mlinfra.program.run_offline (the program sits above this layer, so its caller hands it in)."""
    from mlinfra.components.offline import PROJECT, OfflineError  # Pulumi: only when a preview runs
    from mlinfra.components.policy_pack import analyze_stack, policy_resources

    try:
        run = runner(profile, env, target=target, on_register=on_register)
    except OfflineError as exc:
        raise PreviewError(str(exc)) from None
    ctx = context_from_graph(run.resources) or _context_from_profile(profile, env, run.outputs)
    checks = run_guardrails(run.resources, ctx.with_secrets(run.secret_values))
    # the policy pack as `pulumi preview --policy-pack` runs it: the engine's wire format, pulumi-policy's proxies,
    # the stack's secret config values in the pack's config
    config = {f"{PROJECT}:{key}": value for key, value in run.secret_values.items()}
    pack = analyze_stack(policy_resources(run.resources, run.raw_inputs), config)
    loaded = load_profile(str(profile))
    gaps = readiness(plan_for(loaded, env, str(run.outputs.get("target")))) if run.outputs.get("target") else []
    return PreviewReport(
        profile=str(profile), environment=env, resources=run.resources, outputs=run.outputs, checks=checks,
        invokes=run.invokes, seconds=run.seconds, policy_pack=pack.as_dict(), readiness=gaps,
    )


def _context_from_profile(profile: str | Path, env: str, outputs: dict[str, Any]):
    """For a plugin target whose assembly registers no environment component: the same context, from the profile."""
    loaded = load_profile(str(profile))
    settings = resolve_environment(loaded, env)
    return context_for(loaded, env, tier=settings.tier, protect=settings.protect, target=str(outputs.get("target", "")))


# ---------------------------------------------------------------------------------------------------------
# ordering and per-resource summaries


def ordered(resources: list[Resource]) -> list[Resource]:
    """Depth-first by parent, siblings by (type, name): registration order is not deterministic (threads)."""
    children: dict[str | None, list[Resource]] = {}
    urns = {r["urn"] for r in resources}
    for r in resources:
        parent = r["parent"] if r["parent"] in urns else None
        children.setdefault(parent, []).append(r)
    out: list[Resource] = []

    def visit(parent: str | None) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r["type"].startswith("mlinfra:"), r["type"], r["name"])):
            out.append(r)
            visit(r["urn"])

    visit(None)
    return out


def _ports(ports: list[dict[str, Any]]) -> str:
    return ",".join(f"{p.get('name', '')}:{p.get('port')}" for p in ports)


def key_inputs(res: Resource, by_urn: dict[str, Resource] | None = None) -> dict[str, Any]:
    """The few inputs that say what a resource is (the tree shows these; JSON has all inputs)."""
    t, i = res["type"], res["inputs"]
    kind = t.rsplit(":", 1)[-1]
    meta = i.get("metadata") or {}
    spec = i.get("spec") or {}
    out: dict[str, Any] = {}
    if t.startswith("kubernetes:") and meta.get("name"):
        out["name"] = f"{meta['namespace']}/{meta['name']}" if isinstance(meta.get("namespace"), str) else meta["name"]
    if t == "pulumi:providers:kubernetes":
        out["context"] = i.get("context") or ("kubeconfig" if i.get("kubeconfig") else "AMBIENT")
    elif t.startswith("mlinfra:environment:"):
        out.update({k: i[k] for k in ("tier", "target", "exposure", "sovereignty") if k in i})
    elif t.startswith("kubernetes:helm.sh/"):
        out.update(chart=f"{i.get('chart')}@{i.get('version')}", namespace=i.get("namespace"))
    elif kind == "Deployment":
        pod = (spec.get("template") or {}).get("spec") or {}
        out["replicas"] = spec.get("replicas", "hpa")
        for c in pod.get("containers") or []:
            res_ = c.get("resources") or {}
            out["image"] = c.get("image")
            out["requests"] = ",".join(f"{k}={v}" for k, v in sorted((res_.get("requests") or {}).items()))
            break
    elif kind == "HorizontalPodAutoscaler":
        out["replicas"] = f"{spec.get('minReplicas')}..{spec.get('maxReplicas')}"
    elif kind == "ScaledObject":
        out["replicas"] = f"{spec.get('minReplicaCount')}..{spec.get('maxReplicaCount')}"
        out["triggers"] = ",".join(str(t.get("type")) for t in spec.get("triggers") or [])
    elif kind == "PodDisruptionBudget":
        out.update({k: spec[k] for k in ("minAvailable", "maxUnavailable") if k in spec})
    elif kind == "Service":
        out.update(type=spec.get("type", "ClusterIP"), ports=_ports(spec.get("ports") or []))
    elif kind == "Ingress":
        out.update(cls=spec.get("ingressClassName"), hosts=",".join(r.get("host", "") for r in spec.get("rules") or []))
        out["tls"] = bool(spec.get("tls"))
    elif kind == "NetworkPolicy":
        out["policyTypes"] = ",".join(spec.get("policyTypes") or [])
    elif kind in ("Secret", "ConfigMap"):
        keys: list[str] = []
        for data in (i.get("data"), i.get("stringData"), i.get("binaryData")):
            keys += [SECRET_MARK] if data == SECRET_MARK else sorted(data or {})
        out["keys"] = ",".join(keys)
    elif kind == "PrometheusRule":
        groups = spec.get("groups") or []
        out.update(groups=len(groups), rules=sum(len(g.get("rules") or []) for g in groups))
    elif kind == "ServiceMonitor":
        out["endpoints"] = ",".join(str(e.get("port")) for e in spec.get("endpoints") or [])
    if res["options"]["protect"]:
        out["protect"] = True
    if by_urn is not None and res["options"]["depends_on"]:
        explicit = [by_urn[u]["name"] for u in res["options"]["depends_on"] if u in by_urn
                    and not by_urn[u]["type"].startswith("kubernetes:core/v1:Namespace")]
        if explicit:
            out["after"] = ",".join(sorted(explicit))
    return out
