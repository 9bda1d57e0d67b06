"""What a target is: feasibility rules, cost model, criteria scores, component set, render and assembly.

A target is a plain object (no Pulumi import at module level). Built-in targets and plugin targets are both
registered through the `mlinfra.targets` entry-point group, so a platform team adds one without forking.
`assemble` is the only method that touches Pulumi, and it imports Pulumi inside the method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from mlinfra.files.rendered import RenderedFile

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.environments import EnvironmentSettings
    from mlinfra.profiles.model import Profile

CRITERIA = ("cost", "scalability", "sovereignty", "security", "operations")


@dataclass(frozen=True)
class CostLine:
    """One line of a monthly cost estimate."""

    item: str  # what is paid for, e.g. "2 x m6i.large worker nodes"
    monthly_eur: float
    price_keys: tuple[str, ...] = ()  # price-table entries used (shows where a figure came from)
    note: str = ""  # e.g. "unconfirmed price (U)"


@dataclass(frozen=True)
class CostEstimate:
    """Monthly cost of a target for one environment (or all), with a per-line breakdown."""

    lines: tuple[CostLine, ...]
    assumptions: tuple[str, ...] = ()

    @property
    def monthly_eur(self) -> float:
        return round(sum(line.monthly_eur for line in self.lines), 2)


class Target:
    """Base class for a deployment target. Subclasses set `name`/`title` and override what applies."""

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    description: ClassVar[str] = ""

    # -- decision (pure) ---------------------------------------------------------------------------------
    def violations(self, profile: Profile) -> list[str]:
        """Hard constraints this profile breaks on this target; empty when feasible."""
        return []

    def estimate(self, profile: Profile, env: EnvironmentSettings) -> CostEstimate:
        """Monthly cost estimate for one environment."""
        raise NotImplementedError(f"target {self.name} has no cost model")

    def criteria(self, profile: Profile) -> dict[str, float]:
        """Scores 0..1 for scalability, sovereignty, security, operations (cost is scored by the ranking)."""
        return {}

    def components(self, profile: Profile) -> list[str]:
        """Names of the component set this target deploys, e.g. ['KubernetesModelServer', 'MonitoringStack']."""
        return []

    # -- render (pure) -------------------------------------------------------------------------------------
    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        """Files `mlinfra render` writes for this target (no Pulumi)."""
        raise NotImplementedError(f"target {self.name} cannot be rendered")

    # -- Pulumi (imports Pulumi lazily) -------------------------------------------------------------------
    def assemble(self, profile: Profile, env: str) -> dict[str, Any]:
        """Create this target's components in the running Pulumi program; returns stack outputs."""
        raise NotImplementedError(f"target {self.name} cannot be deployed yet")


@dataclass(frozen=True)
class TargetInfo:
    """Where a target came from (for `mlinfra targets`)."""

    name: str
    title: str
    source: str  # entry point "module:attr"
    distribution: str
    notes: list[str] = field(default_factory=list)
