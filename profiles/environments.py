"""Resolve one environment of a profile into concrete settings (tier defaults + the profile's overrides)."""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.profiles.model import Profile, Tier

# Share of the profile's (production) traffic an environment sees by default, per tier. Only prod's traffic is
# continuous by default; dev and staging see occasional requests (cost planning uses the share, silence there
# is no fault). An explicit environments.<env>.traffic_share overrides both.
TRAFFIC_SHARE: dict[str, float] = {"dev": 0.05, "staging": 0.2, "prod": 1.0}

_PROD = {"prod", "production", "prd", "live"}
_STAGING = {"staging", "stage", "stg", "preprod", "pre-prod", "qa", "uat", "test", "testing"}


@dataclass(frozen=True, kw_only=True)
class EnvironmentSettings:
    """What an environment means for sizing, alerting and protection."""

    name: str
    tier: Tier
    min_replicas: int  # floor for every model in this environment
    max_replicas: int | None  # ceiling from the profile; None = derived from peak traffic
    alerts_page: bool  # critical alerts page a human (otherwise they are routed as tickets)
    retention_days: int
    high_availability: bool  # >= 2 replicas, PDB, topology spread
    protect: bool  # protect=True on stateful resources
    kube_context: str | None  # the cluster's kubeconfig context: the override, else onprem.kube_context (None: no onprem)
    traffic_share: float = 1.0  # share of the models' production traffic this environment serves
    traffic_expected: bool = True  # that traffic is continuous: silence is a fault (no-traffic alert)


class UnknownEnvironment(ValueError):
    """The requested environment is not declared in the profile."""

    def __init__(self, env: str, known: list[str]):
        self.env, self.known = env, known
        super().__init__(f"environment '{env}' is not in the profile; declared: {', '.join(known)}")


def tier_for(name: str) -> Tier:
    """Default tier from an environment's name."""
    if name in _PROD:
        return "prod"
    if name in _STAGING:
        return "staging"
    return "dev"


def resolve_environment(profile: Profile, env: str) -> EnvironmentSettings:
    """Settings of `env` in `profile`; raises UnknownEnvironment for an undeclared name."""
    names = profile.environment_names
    if env not in names:
        raise UnknownEnvironment(env, names)
    overrides = profile.environments.get(env) if isinstance(profile.environments, dict) else None
    tier: Tier = (overrides.tier if overrides and overrides.tier else None) or tier_for(env)
    prod = tier == "prod"
    max_replicas = overrides.max_replicas if overrides else None
    if overrides and overrides.min_replicas:
        min_replicas = overrides.min_replicas
    else:  # tier default, never above an explicit ceiling
        min_replicas = min(2 if prod else 1, max_replicas or 2)
    alerts_page = overrides.alerts_page if overrides and overrides.alerts_page is not None else prod
    retention = (
        overrides.retention_days
        if overrides and overrides.retention_days
        else (profile.monitoring.retention_days if tier != "dev" else min(profile.monitoring.retention_days, 7))
    )
    explicit_share = overrides.traffic_share if overrides else None
    share = TRAFFIC_SHARE[tier] if explicit_share is None else explicit_share
    return EnvironmentSettings(
        name=env,
        tier=tier,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        alerts_page=alerts_page,
        retention_days=retention,
        high_availability=min_replicas >= 2,
        protect=prod,
        kube_context=(overrides.kube_context if overrides else None)
        or (profile.onprem.kube_context if profile.onprem else None),
        traffic_share=share,
        traffic_expected=share > 0 and (explicit_share is not None or prod),
    )


def all_environments(profile: Profile) -> list[EnvironmentSettings]:
    return [resolve_environment(profile, e) for e in profile.environment_names]
