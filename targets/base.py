"""What a target is: feasibility rules, cost model, criteria scores, planning hooks, component set, render, assembly.

A target is a plain object (no Pulumi import at module level). Built-in targets and plugin targets are both
registered through the `mlinfra.targets` entry-point group, so a platform team adds one without forking, and
a plugin can do everything a built-in does: rule itself out, price, score, shape the plan (`cluster`), render
and deploy. `assemble` is the only method that touches Pulumi; it imports its components when called.

`decide` imports every installed target, so a target's modules import what the decision runs (feasibility, cost
model, criteria, planning hooks) and name what only `render`, `drill` or `assemble` runs with `deferred`: those
modules load when that code first runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from mlinfra.costs.model import CostEstimate
from mlinfra.costs.prices import PriceTable
from mlinfra.decision.criteria import Criteria
from mlinfra.files.rendered import RenderedFile
from mlinfra.planning.plan import plan_environment
from mlinfra.planning.specs import ClusterSettings, EnvironmentPlan
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile


def deferred(ref: str) -> Callable[..., Any]:
    """The function `ref` ("package.module:function") names, its module imported on the first call.

    For render-, drill- and deployment-only code a target names at module level, so that `decide` (which imports
    every target) does not import it, like the CLI's subcommands (cli/main.py). The layer rules still hold for
    the named module's own imports; tests/unit/test_decide_imports.py resolves every reference."""
    module, _, name = ref.partition(":")
    if not module or not name:
        raise ValueError(f"deferred({ref!r}): expected 'package.module:function'")
    found: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not found:
            found.append(getattr(importlib.import_module(module), name))
        return found[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"{ref}, imported when first called"
    call.ref = ref  # type: ignore[attr-defined]
    return call


class Target:
    """Base class for a deployment target. Subclasses set `name`/`title` and override what applies."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""
    # A file `render` adds from an offline run of the deployment (the resource graph the components register,
    # rendering/resources.py); None: the target's own render describes everything it deploys.
    graph_file: ClassVar[str | None] = None
    # Profile fields naming secret config keys this target never reads (`mlinfra init` does not ask for them).
    ignores_secret_fields: ClassVar[tuple[str, ...]] = ()
    # Artifact kinds (s3, oci, https) whose fetch reads models[].artifact_credentials_secret; a target whose
    # workload identity reaches the artifact (IRSA on aws-eks, SageMaker's execution role) reads none.
    artifact_credential_kinds: ClassVar[tuple[str, ...]] = ()

    # -- decision (pure) ---------------------------------------------------------------------------------
    def feasibility(self, profile: Profile) -> list[str]:
        """Hard constraints this profile breaks on this target, each naming the fields and the fix."""
        return []

    def environment_feasibility(self, profile: Profile, env: EnvironmentSettings) -> list[str]:
        """Hard constraints one environment breaks on this target, checked on that environment's own traffic and
        sizing (its traffic_share of the profile's figures), never on the sum of all environments."""
        return []

    def deployment_gaps(self, profile: Profile) -> list[str]:
        """What this installation lacks to deploy the profile on this target (empty: `pulumi up` can)."""
        if type(self).assemble is Target.assemble:
            return [f"target {self.name} has no Pulumi components (it does not implement assemble)"]
        return []

    def profile_checks(self, profile: Profile) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(errors, warnings) about the profile on this target, each (profile path, what was found and what is
        allowed): `validate` and `render` report both and refuse on errors."""
        return [], []

    def violations(self, profile: Profile) -> list[str]:
        """Everything that rules this target out; a target that cannot deploy is never an option to pick."""
        return [
            *self.feasibility(profile),
            *(f"in {env.name}: {v}" for env in all_environments(profile) for v in self.environment_feasibility(profile, env)),
            *(f"cannot be deployed: {gap}" for gap in self.deployment_gaps(profile)),
        ]

    def estimate(self, profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostEstimate:
        """Monthly cost estimate for one environment."""
        raise NotImplementedError(f"target {self.name} has no cost model")

    def cost_function(
        self, profile: Profile, envs: Sequence[EnvironmentSettings], table: PriceTable
    ) -> Callable[[Profile], float]:
        """Monthly cost over `envs` of a variant of `profile` that differs only in its models' traffic (the points of
        the break-even sweep, decision/sensitivity.py): the sum of each environment's `estimate` (raises as it does).
        A target whose estimate builds more than its figures need returns a cheaper function equal to it, with what
        traffic does not change worked out once, here."""

        def monthly(variant: Profile) -> float:
            return sum(self.estimate(variant, env, table).monthly_eur for env in envs)

        return monthly

    def criteria(self, profile: Profile) -> Criteria:
        """Scores 0..1 with a sentence each for scalability, sovereignty, security, operations (cost is scored by
        the ranking); a criterion left out scores neutral."""
        return Criteria()

    def components(self, profile: Profile) -> list[str]:
        """Names of the component set this target deploys, e.g. ['KubernetesModelServer', 'MonitoringStack']."""
        return []

    def consequences(self, profile: Profile) -> list[str]:
        """What choosing this target means for the team, one sentence each (the decision record lists them)."""
        return []

    # -- planning (pure) -----------------------------------------------------------------------------------
    def cluster(self, profile: Profile, env: EnvironmentSettings) -> ClusterSettings:
        """Where an environment runs: kube context, ingress and storage classes, GPU type of the nodes."""
        return ClusterSettings()

    def plan(self, profile: Profile, env: str) -> EnvironmentPlan:
        """The plan every builder and component of this target works from (raises UnknownEnvironment)."""
        clusters = {e.name: self.cluster(profile, e) for e in all_environments(profile)}
        return plan_environment(profile, env, self.name, clusters)

    # -- render (pure) -------------------------------------------------------------------------------------
    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """Files `mlinfra render` writes for this target (no Pulumi)."""
        raise NotImplementedError(f"target {self.name} has no render")

    def dashboard(self, profile: Profile, env: str, model: str) -> str | None:
        """Where a model's dashboard of an environment is, in words (the Operations section of the decision record
        and README); None: the target does not say."""
        return None

    # -- fire drill (pure) ---------------------------------------------------------------------------------
    def notification_drill(self, profile: Profile, env: str) -> Any:
        """What `mlinfra drill` sends through this target's alerting for an environment, as data: an
        monitoring.drill.AlertmanagerDrill (test alerts per route) or a targets.aws.drill.SnsDrill (a test message
        per topic). The drill package sends it; a plugin returning either gets the same drill."""
        raise NotImplementedError(f"target {self.name} has no fire drill")

    # -- Pulumi (imports Pulumi lazily) -------------------------------------------------------------------
    def assemble(self, profile: Profile, env: str, secrets: dict[str, Any]) -> dict[str, Any]:
        """Create this target's components in the running Pulumi program; returns stack outputs.

        `secrets`: secret config key -> value (a Pulumi secret Output), every key the profile names."""
        raise NotImplementedError(f"target {self.name} has no Pulumi components")
