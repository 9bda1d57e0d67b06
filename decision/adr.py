"""The decision as an architecture decision record (Markdown), rendered from an editable jinja2 template."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.decision.decide import Decision, Option
    from mlinfra.profiles.model import Profile

TEMPLATE = Path(__file__).with_name("adr.md.j2")
ADR_FILE = "0001-deployment-target.md"


def _num(value: float) -> str:
    return f"{value:g}"


def _eur(value: float) -> str:
    return f"{value:,.2f}"


def _cost(option: Option) -> str:
    if option.monthly_cost_eur is None:
        return "-"
    return ("≈ " if option.estimated else "") + _eur(option.monthly_cost_eur)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_adr(decision: Decision, profile: Profile, template: Path = TEMPLATE) -> str:
    """The ADR text; deterministic (no dates or clocks: the price table's version dates the figures)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template.parent)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - Markdown, not HTML
    )
    env.filters.update(num=_num, eur=_eur, cost=_cost, cell=_cell)
    return env.get_template(template.name).render(d=decision, profile=profile)


class AdrExists(Exception):
    """The ADR file exists with different content and overwriting was not forced."""


def write_adr(directory: str | Path, text: str, force: bool = False) -> tuple[Path, str]:
    """Write DIR/0001-deployment-target.md; returns (path, 'written' | 'unchanged' | 'overwritten')."""
    path = Path(directory) / ADR_FILE
    if path.exists():
        if path.read_text(encoding="utf-8") == text:
            return path, "unchanged"
        if not force:
            raise AdrExists(
                f"{path} exists with different content (edited by hand, or an older decision); "
                "review it and pass --force to overwrite"
            )
        path.write_text(text, encoding="utf-8")
        return path, "overwritten"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path, "written"
