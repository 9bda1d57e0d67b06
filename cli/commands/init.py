"""`mlinfra init PROFILE --dir DIR`: scaffold a ready-to-use infrastructure repository for a team."""

from __future__ import annotations

from pathlib import Path

import click

from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.files.writer import WriteError
from mlinfra.profiles import load_profile
from mlinfra.scaffold import MANIFEST, generate, write_scaffold

_STYLE = {
    "create": "green", "update": "cyan", "overwrite": "yellow", "skip": "red", "remove": "magenta", "keep": "dim",
    "unchanged": "dim",
}


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--dir",
    "directory",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository directory to scaffold (created when missing).",
)
@click.option("--force", is_flag=True, help="Overwrite files edited since mlinfra init wrote them, or that it never wrote.")
@click.option("--dry-run", is_flag=True, help="List what would be written, kept or overwritten; write nothing.")
@format_option()
def init(profile: Path, directory: Path, force: bool, dry_run: bool, fmt: str) -> None:
    """Scaffold an infrastructure repository for PROFILE in DIR.

    \b
    Writes Pulumi.yaml, __main__.py, requirements.txt, stacks/Pulumi.<env>.yaml per environment, the profile,
    GitHub workflows (PR previews with the decision table, deployments per environment), the decision
    record docs/decisions/0001-target.md and a README. Re-running refreshes generated files; a file edited
    since it was generated, or one mlinfra never wrote, is kept (listed as skip) unless --force. A file an
    earlier run generated and this one does not is removed when unedited.
    """
    with user_errors():
        loaded = load_profile(str(profile))
        files = generate(profile, loaded)
    try:
        steps = write_scaffold(directory, files, force=force, dry_run=dry_run)
    except WriteError as exc:
        raise DomainError(str(exc)) from None

    counts = {a: sum(1 for s in steps if s.action == a) for a in _STYLE}
    if fmt == "json":
        emit_json(
            {
                "dir": str(directory),
                "dry_run": dry_run,
                "manifest": MANIFEST,
                "files": [s.to_dict() for s in steps],
                "counts": counts,
            }
        )
        return
    from rich.table import Table

    verb = "would be" if dry_run else "were"
    table = Table(title=f"mlinfra init {profile} --dir {directory}{' (dry run)' if dry_run else ''}",
                  title_justify="left")
    for column in ("action", "file", "what", "why"):
        table.add_column(column, overflow="fold")
    for s in steps:
        table.add_row(f"[{_STYLE[s.action]}]{s.action}[/]", s.path, s.about, s.reason)
    out = console()
    out.print(table)
    summary = ", ".join(f"{n} {a}" for a, n in counts.items() if n)
    out.print(f"{summary} ({'nothing written' if dry_run else f'manifest {MANIFEST}'})")
    if counts["skip"]:
        out.print(f"{counts['skip']} file(s) {verb} kept because they were edited; --force overwrites them.")
    if not dry_run:
        out.print(f"Next: read {directory / 'README.md'} (pulumi login, stack init, secrets, preview, up).")
