"""Output helpers: rich for people, sorted JSON for machines."""

from __future__ import annotations

import json
import os
from typing import Any

import click

FORMAT_CHOICES = ("table", "json")


def format_option(choices: tuple[str, ...] = FORMAT_CHOICES, default: str | None = None):
    """`--format` with the same spelling on every command that reports."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default or choices[0],
        show_default=True,
        help="Output for people (table/tree) or for machines (json).",
    )


def console():
    """A rich Console honouring NO_COLOR and COLUMNS (imported lazily: rich costs ~40 ms)."""
    from rich.console import Console

    width = int(os.environ["COLUMNS"]) if os.environ.get("COLUMNS", "").isdigit() else None
    return Console(width=width, no_color="NO_COLOR" in os.environ, highlight=False, soft_wrap=False)


def emit_json(data: Any) -> None:
    """Print deterministic JSON (sorted keys, 2-space indent)."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
