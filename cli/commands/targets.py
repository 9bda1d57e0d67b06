"""`mlinfra targets`: the installed deployment targets (built-in and plugins) and where each comes from."""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.targets.registry import GROUP, TargetLoadError, installed


@click.command()
@format_option()
def targets(fmt: str) -> None:
    """List the installed targets: name, title, distribution and entry point.

    \b
    Plugins register targets in the `mlinfra.targets` entry-point group (see docs/extending.md);
    a plugin target named like a built-in replaces it. Exit code 1 when a plugin is broken.
    """
    found, problems = installed()
    if fmt == "json":
        emit_json({"group": GROUP, "targets": [t.to_dict() for t in found], "broken": [p.to_dict() for p in problems]})
    else:
        from rich.table import Table

        table = Table(title=f"Installed targets (entry-point group {GROUP})", title_justify="left")
        for column in ("target", "title", "distribution", "entry point", "notes"):
            table.add_column(column, overflow="fold")
        for t in found:
            notes = f"replaces {t.replaces}" if t.replaces else ("built-in" if t.builtin else "plugin")
            table.add_row(t.name, t.title, f"{t.distribution} {t.version}", t.source, notes)
        for p in problems:
            table.add_row(p.entry_point, "-", f"{p.distribution} {p.version}", p.source, f"BROKEN: {p.message}")
        console().print(table)
    if problems:
        raise DomainError(str(TargetLoadError(problems)))
