"""The one place that picks the target: for (profile, environment, override), used by every command and by the
Pulumi program, so `decide`, `render`, `preview`, `diff`, `init` and `pulumi up` always agree.

One target serves every environment of a profile (dev and staging test what prod runs): without an override
the decision over the whole profile picks it; an override (`--target`, config `mlinfra:target`) pins one
stack. A decided target is always deployable: a target that cannot deploy a profile is infeasible.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.decision.decide import Decision, decide
from mlinfra.profiles.environments import resolve_environment
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target
from mlinfra.targets.registry import get_target, load_targets


class NoFeasibleTarget(ValueError):
    """The decision found no target for the profile; the message carries its reasons."""

    def __init__(self, decision: Decision):
        self.decision = decision
        why = decision.reasons[0].removeprefix("no target is feasible: ")
        super().__init__(f"no target is feasible for profile '{decision.profile}': {why}")


class UnknownTarget(KeyError):
    """An override names a target that is not installed; args[0] lists the installed ones."""


@dataclass(frozen=True)
class Resolution:
    target: Target
    chosen_by: str  # "decision" or where the override came from
    decision: Decision | None  # None when an override picked the target

    @property
    def name(self) -> str:
        return self.target.name


def decision_for(profile: Profile, env: str | None = None) -> Decision:
    """The decision over every installed target (built-ins and plugins); `env` narrows the costs shown."""
    return decide(profile, load_targets(), env)


def resolve_target(
    profile: Profile, env: str | None, override: str | None = None, *, override_from: str = "--target"
) -> Resolution:
    """The target `env` deploys with (None: the profile's, as for `decide` without --env).

    Raises UnknownEnvironment, UnknownTarget (an override not installed), NoFeasibleTarget, TargetLoadError."""
    if env is not None:
        resolve_environment(profile, env)
    if override:
        try:
            return Resolution(target=get_target(override), chosen_by=override_from, decision=None)
        except KeyError as exc:
            raise UnknownTarget(exc.args[0]) from None
    decision = decision_for(profile)
    if decision.target is None:
        raise NoFeasibleTarget(decision)
    return Resolution(target=get_target(decision.target), chosen_by="decision", decision=decision)
