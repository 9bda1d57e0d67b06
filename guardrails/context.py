"""What the guardrails hold a stack to, taken from the profile: sovereignty, exposure, protection.

The assembly registers this context as the inputs of the environment component (conventions.TYPE_ENVIRONMENT),
so the policy pack, which only sees the resource graph, reads the same context the preview used.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mlinfra.conventions import TYPE_ENVIRONMENT
from mlinfra.guardrails.secrets import secret_config_keys
from mlinfra.profiles.model import EU_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.guardrails.graph import Resource
    from mlinfra.profiles.model import Profile


@dataclass(frozen=True, kw_only=True)
class GuardrailContext:
    profile: str
    environment: str
    tier: str
    target: str
    sovereignty: str  # none | eu | on_premise
    exposure: str  # private | internal | public
    protect_stateful: bool  # prod: stateful resources must carry protect=True
    allowed_regions: tuple[str, ...] | None  # None: any cloud region; (): no cloud region at all
    # the secret config keys the profile names (names only): the policy pack reads their values from the stack's
    # config, which the engine hands it, to tell a value from secret config from a literal in the program
    secret_keys: tuple[str, ...] = ()
    # preview only: the fake values the mock config hands out for secret keys, {config key: value}
    secret_values: tuple[tuple[str, str], ...] = ()
    secrets_marked: bool = False  # the graph keeps Pulumi secrets as SECRET_MARK (preview: yes, policy pack: no)

    def with_secrets(self, values: dict[str, str]) -> GuardrailContext:
        return replace(self, secret_values=tuple(sorted(values.items())), secrets_marked=True)


def allowed_regions_for(sovereignty: str) -> tuple[str, ...] | None:
    if sovereignty == "eu":
        return EU_REGIONS
    if sovereignty == "on_premise":
        return ()
    return None


def context_for(profile: Profile, env: str, *, tier: str, protect: bool, target: str) -> GuardrailContext:
    """The context of one environment (tier and protection as resolved for that environment)."""
    return GuardrailContext(
        profile=profile.name,
        environment=env,
        tier=tier,
        target=target,
        sovereignty=profile.data.sovereignty,
        exposure=profile.security.exposure,
        protect_stateful=protect,
        allowed_regions=allowed_regions_for(profile.data.sovereignty),
        secret_keys=tuple(secret_config_keys(profile)),
    )


def context_inputs(ctx: GuardrailContext) -> dict[str, Any]:
    """The environment component's inputs (no secret values: those never enter the graph)."""
    inputs: dict[str, Any] = {
        "profile": ctx.profile,
        "environment": ctx.environment,
        "tier": ctx.tier,
        "target": ctx.target,
        "sovereignty": ctx.sovereignty,
        "exposure": ctx.exposure,
        "protectStateful": ctx.protect_stateful,
    }
    if ctx.allowed_regions is not None:
        inputs["allowedRegions"] = list(ctx.allowed_regions)
    if ctx.secret_keys:
        inputs["secretConfigKeys"] = list(ctx.secret_keys)
    return inputs


def context_from_graph(graph: list[Resource], overrides: dict[str, Any] | None = None) -> GuardrailContext | None:
    """Read the context back from the environment component; `overrides` (policy config) win. None if absent."""
    found = next((r["inputs"] for r in graph if r["type"] == TYPE_ENVIRONMENT), None)
    values = {**(found or {}), **(overrides or {})}
    if not values:
        return None
    sovereignty = str(values.get("sovereignty", "none"))
    regions = values.get("allowedRegions")
    return GuardrailContext(
        profile=str(values.get("profile", "")),
        environment=str(values.get("environment", "")),
        tier=str(values.get("tier", "dev")),
        target=str(values.get("target", "")),
        sovereignty=sovereignty,
        exposure=str(values.get("exposure", "private")),
        protect_stateful=bool(values.get("protectStateful", False)),
        allowed_regions=tuple(regions) if regions is not None else allowed_regions_for(sovereignty),
        secret_keys=tuple(str(k) for k in values.get("secretConfigKeys") or ()),
    )
