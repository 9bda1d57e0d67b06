"""The Pulumi program (`__main__.py` calls `main`): stack config in, one environment assembled, outputs exported.

The stack name is the environment. Stack config: `mlinfra:profile` (path to the profile, relative to the project
directory), optionally `mlinfra:target` (overrides the decision) and `mlinfra:kubeContext` (this stack's
kubeconfig context, overriding the profile's environments.<env>.kube_context / onprem.kube_context for this
environment only). The target comes from the one resolver (targets.resolve) every command uses, over the
registry (entry points `mlinfra.targets`), so plugin targets deploy exactly like the built-in ones.
Secret config is read here, once, and handed to the target's components through their Args.
`mlinfra preview` runs this same function under Pulumi's mocks.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi

from mlinfra.components.aliases import former_type_aliases
from mlinfra.components.offline import OfflineError, OfflineRun, run_mocked
from mlinfra.conventions import CONFIG_KUBE_CONTEXT_KEY, CONFIG_PROFILE_KEY, CONFIG_TARGET_KEY, PACKAGE
from mlinfra.costs.model import EstimateError
from mlinfra.costs.prices import price_table
from mlinfra.decision.decide import DecisionError
from mlinfra.guardrails.secrets import secret_config_keys
from mlinfra.planning.plan import PlanError
from mlinfra.profiles.environments import UnknownEnvironment, resolve_environment
from mlinfra.profiles.load import ProfileError, load_profile
from mlinfra.profiles.model import EnvironmentOverrides, Profile
from mlinfra.targets.base import Target
from mlinfra.targets.registry import TargetLoadError
from mlinfra.targets.resolve import NoFeasibleTarget, UnknownTarget, resolve_target


def _profile_path(configured: str) -> Path:
    path = Path(configured)
    if path.is_absolute():
        return path
    return Path(pulumi.get_root_directory() or os.getcwd()) / path


def _with_kube_context(profile: Profile, env: str, context: str | None) -> Profile:
    """A stack may deploy to its own cluster context (dev cluster, prod cluster); never the ambient one.

    The context becomes this environment's `environments.<env>.kube_context`, so the other environments keep
    theirs and the choice of who installs the cluster's monitoring stack stays right for this stack. Other
    stacks' config is invisible here: environments that move clusters are best declared in the profile."""
    if not context or profile.onprem is None or env not in profile.environment_names:
        return profile
    declared = profile.environments if isinstance(profile.environments, dict) else {}
    environments = {name: declared.get(name) for name in profile.environment_names}
    current = environments[env] or EnvironmentOverrides()
    environments[env] = current.model_copy(update={"kube_context": context})
    return profile.model_copy(update={"environments": environments})


def _secrets(profile: Profile) -> dict[str, pulumi.Output[str] | None]:
    """Every secret config key the profile names, read once here (None: not set in this stack); components take
    them through their Args, and the one that needs a key names every missing one."""
    config = pulumi.Config()
    return {key: config.get_secret(key) for key in secret_config_keys(profile)}


def monthly_cost(target: Target, profile: Profile, env: str) -> float | None:
    """The environment's monthly cost on `target`; None for a target without a cost model (the decision scores
    its cost neutral, and it deploys all the same)."""
    try:
        return target.estimate(profile, resolve_environment(profile, env), price_table(profile)).monthly_eur
    except NotImplementedError:
        return None


def run() -> dict[str, Any]:
    """Read config, resolve the target, assemble; returns the stack outputs. Domain errors become pulumi.RunError."""
    config = pulumi.Config(PACKAGE)
    env = pulumi.get_stack()
    pinned = config.get(CONFIG_TARGET_KEY)
    try:
        profile = _with_kube_context(load_profile(str(_profile_path(config.require(CONFIG_PROFILE_KEY)))), env,
                                     config.get(CONFIG_KUBE_CONTEXT_KEY))
        chosen = resolve_target(profile, env, pinned, override_from=f"config {PACKAGE}:{CONFIG_TARGET_KEY}")
        outputs = dict(chosen.target.assemble(profile, env, _secrets(profile)))
        cost = monthly_cost(chosen.target, profile, env)
    except ProfileError as exc:
        raise pulumi.RunError(exc.report()) from None
    except NoFeasibleTarget as exc:
        raise pulumi.RunError(f"stack '{env}': {exc}") from None
    except UnknownTarget as exc:
        raise pulumi.RunError(f"config {PACKAGE}:{CONFIG_TARGET_KEY}: {exc.args[0]}") from None
    except (UnknownEnvironment, PlanError, TargetLoadError, DecisionError, EstimateError) as exc:
        raise pulumi.RunError(f"stack '{env}': {exc}") from None
    except NotImplementedError as exc:  # a pinned target without components (a decided one always has them)
        raise pulumi.RunError(
            f"stack '{env}': target '{chosen.name}' ({chosen.chosen_by}) cannot be deployed: {exc}; "
            f"remove config {PACKAGE}:{CONFIG_TARGET_KEY} to deploy the decided target"
        ) from None
    outputs.update(target=chosen.name, target_chosen_by=chosen.chosen_by, environment=env, monthly_cost_eur=cost)
    return outputs


def main() -> None:
    """Entry point of `__main__.py`."""
    pulumi.runtime.register_stack_transformation(former_type_aliases())  # renamed components keep their resources
    for key, value in sorted(run().items()):
        pulumi.export(key, value)


def run_offline(
    profile_path: str | Path,
    env: str,
    *,
    target: str | None = None,
    secret_keys: list[str] | None = None,
    on_register: Callable[[int], None] | None = None,
) -> OfflineRun:
    """Run this program (`main`) for `env` (the stack name) of the profile; raises OfflineError on failure.

    `secret_keys`: secret config keys to fake (default: every key the profile names)."""
    path = Path(profile_path).resolve()
    if secret_keys is None:
        try:
            secret_keys = secret_config_keys(load_profile(str(path)))
        except ProfileError as exc:
            raise OfflineError(exc.report()) from None
    config = {f"{PACKAGE}:{CONFIG_PROFILE_KEY}": str(path)}
    if target:
        config[f"{PACKAGE}:{CONFIG_TARGET_KEY}"] = target
    return run_mocked(main, stack=env, config=config, secret_keys=secret_keys, on_register=on_register)
