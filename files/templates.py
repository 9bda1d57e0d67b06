"""The one jinja2 environment for files people edit (the scaffold's templates, the decision record).

Strict (an unknown variable is an error), newline-exact, block tags leave no blank lines, no HTML escaping (the
output is YAML, Markdown, Python), with `gh("expr")` for GitHub Actions expressions and `|yaml_str` for YAML
strings. jinja2 is imported when an environment is built, never on import: `mlinfra decide --format json` stays lean.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import jinja2


def gh(expression: str) -> str:
    """A GitHub Actions expression, written `gh("secrets.X")` in templates so it never clashes with Jinja."""
    return "${{ " + expression + " }}"


def yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def environment(directory: str | Path, filters: Mapping[str, Callable[..., Any]] | None = None) -> jinja2.Environment:
    """An environment loading templates from `directory`, with the shared settings and any extra `filters`."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - YAML, Markdown and Python, not HTML
    )
    env.globals["gh"] = gh
    env.filters["yaml_str"] = yaml_str
    env.filters.update(filters or {})
    return env
