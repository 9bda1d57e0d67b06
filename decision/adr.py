"""The decision as an architecture decision record (Markdown), rendered from an editable jinja2 template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlinfra.costs.model import fmt_number, money
from mlinfra.decision.criteria import burstiness
from mlinfra.decision.sensitivity import no_break_even_text, peak_text
from mlinfra.files.templates import environment
from mlinfra.files.writer import write
from mlinfra.monitoring.operations import DashboardOf, operations

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.decision.decide import Decision, Option
    from mlinfra.profiles.model import Profile

TEMPLATE = Path(__file__).with_name("adr.md.j2")
ADR_FILE = "0001-deployment-target.md"
ADR_MANIFEST = ".mlinfra/adr.json"
_OUTCOME = {"create": "written", "update": "updated", "overwrite": "overwritten", "unchanged": "unchanged"}


def _eur(value: float) -> str:
    return money(value, cents=True)


def _cost(option: Option) -> str:
    return money(option.monthly_cost_eur, estimated=option.estimated, cents=True)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def sensitivity(decision: Decision, profile: Profile) -> list[str]:
    """Where the cheapest option changes with traffic and with the peak ratio, one sentence each; what the sweep
    found when nothing changes; nothing when fewer than two options have a cost."""
    if not decision.cost_curves:
        return []
    found = [b.text(decision.average_rps) for b in decision.break_even]
    found += [peak_text(b, burstiness(profile)) for b in decision.peak_break_even]
    if found:
        return found
    return [no_break_even_text(decision.cost_curves, decision.average_rps)]


def render_adr(
    decision: Decision, profile: Profile, template: Path = TEMPLATE, dashboard_of: DashboardOf | None = None
) -> str:
    """The ADR text; deterministic (no dates or clocks: the price table's version dates the figures).

    `dashboard_of`: where the chosen target puts a model's dashboard (Target.dashboard), for the Operations section."""
    env = environment(template.parent, filters={"num": fmt_number, "eur": _eur, "cost": _cost, "cell": _cell})
    return env.get_template(template.name).render(d=decision, profile=profile,
                                                  sensitivity=sensitivity(decision, profile),
                                                  operations=operations(profile, dashboard_of))


def write_adr(directory: str | Path, text: str, force: bool = False) -> tuple[Path, str]:
    """Write DIR/0001-deployment-target.md through the one safe writer (its manifest: DIR/.mlinfra/adr.json).

    Returns (path, 'written' | 'updated' | 'overwritten' | 'unchanged'); a record edited since mlinfra wrote it,
    or one mlinfra never wrote, is refused (WriteError naming it) unless `force`."""
    planned = write(directory, [(ADR_FILE, text.encode("utf-8"))], manifest=ADR_MANIFEST,
                    generator="mlinfra decide --adr", force=force, on_conflict="refuse")
    return Path(directory) / ADR_FILE, _OUTCOME[planned.steps[0].action]
