"""The Pulumi program (`__main__.py` calls `main`): stack config in, one environment assembled, outputs exported.

The stack name is the environment. Stack config: `mlinfra:profile` (path to the profile, relative to the project
directory), optionally `mlinfra:target` (overrides the decision) and `mlinfra:kubeContext` (this stack's
kubeconfig context, overriding the profile's environments.<env>.kube_context / onprem.kube_context for this
environment only). The target is resolved through the one
registry (entry points `mlinfra.targets`), so plugin targets deploy exactly like the built-in ones.
`mlinfra preview` runs this same function under Pulumi's mocks.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pulumi

from mlinfra.conventions import CONFIG_KUBE_CONTEXT_KEY, CONFIG_PROFILE_KEY, CONFIG_TARGET_KEY, PACKAGE


def _profile_path(configured: str) -> Path:
    path = Path(configured)
    if path.is_absolute():
        return path
    return Path(pulumi.get_root_directory() or os.getcwd()) / path


def _with_kube_context(profile: Any, env: str, context: str | None) -> Any:
    """A stack may deploy to its own cluster context (dev cluster, prod cluster); never the ambient one.

    The context becomes this environment's `environments.<env>.kube_context`, so the other environments keep
    theirs and the choice of who installs the cluster's monitoring stack stays right for this stack. Other
    stacks' config is invisible here: environments that move clusters are best declared in the profile."""
    from mlinfra.profiles.model import EnvironmentOverrides

    if not context or profile.onprem is None or env not in profile.environment_names:
        return profile
    declared = profile.environments if isinstance(profile.environments, dict) else {}
    environments = {name: declared.get(name) for name in profile.environment_names}
    current = environments[env] or EnvironmentOverrides()
    environments[env] = current.model_copy(update={"kube_context": context})
    return profile.model_copy(update={"environments": environments})


def _monthly_cost(target: Any, profile: Any, env: str) -> float | None:
    from mlinfra.profiles.environments import resolve_environment

    try:
        return target.estimate(profile, resolve_environment(profile, env)).monthly_eur
    except NotImplementedError:
        return None


def run() -> dict[str, Any]:
    """Read config, decide, assemble; returns the stack outputs. Domain errors become pulumi.RunError (no trace)."""
    from mlinfra.decision.decide import DecisionError, decide
    from mlinfra.planning.plan import PlanError
    from mlinfra.profiles.environments import UnknownEnvironment
    from mlinfra.profiles.load import ProfileError, load_profile
    from mlinfra.targets.registry import TargetLoadError, get_target

    config = pulumi.Config(PACKAGE)
    env = pulumi.get_stack()
    try:
        profile = _with_kube_context(load_profile(str(_profile_path(config.require(CONFIG_PROFILE_KEY)))), env,
                                     config.get(CONFIG_KUBE_CONTEXT_KEY))
        chosen = config.get(CONFIG_TARGET_KEY)
        decided_by = "config mlinfra:target" if chosen else "decision"
        if chosen:
            target_name = chosen
        else:
            decision = decide(profile, env)
            if decision.target is None:  # nothing feasible: say which requirements conflict
                raise pulumi.RunError(
                    f"stack '{env}': no target is feasible for this profile: " + "; ".join(decision.reasons)
                )
            target_name = decision.target
        target = get_target(target_name)
        outputs = dict(target.assemble(profile, env))
    except ProfileError as exc:
        raise pulumi.RunError(exc.report()) from None
    except (UnknownEnvironment, PlanError, TargetLoadError, DecisionError) as exc:
        raise pulumi.RunError(f"stack '{env}': {exc}") from None
    except NotImplementedError as exc:  # a target whose components come later (or a plugin without assembly)
        raise pulumi.RunError(
            f"stack '{env}': target '{target_name}' ({decided_by}) cannot be deployed: {exc}; "
            f"set config {PACKAGE}:{CONFIG_TARGET_KEY} (mlinfra preview --target) to a deployable target"
        ) from None
    except KeyError as exc:  # unknown target name from config
        raise pulumi.RunError(f"config mlinfra:target: {exc.args[0]}") from None
    outputs.update(
        target=target_name,
        target_chosen_by=decided_by,
        environment=env,
        monthly_cost_eur=_monthly_cost(target, profile, env),
    )
    return outputs


def main() -> None:
    """Entry point of `__main__.py`."""
    for key, value in sorted(run().items()):
        pulumi.export(key, value)
