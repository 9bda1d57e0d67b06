"""`mlinfra diff PROFILE --env A --env B`: what differs between two environments, from two offline previews."""

from __future__ import annotations

import click

from mlinfra.cli.commands.preview import check_environment, run_with_progress
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.preview.diff import diff_previews, diff_rows
from mlinfra.preview.render import short


def _cell(value) -> str:
    return "-" if value is None else short(value)


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@click.option("--env", "envs", multiple=True, required=True, help="Two environments: --env A --env B.")
@click.option("--target", default=None, help="Preview both with this target instead of the decided ones.")
@format_option(("table", "json"))
def diff(profile: str, envs: tuple[str, ...], target: str | None, fmt: str) -> None:
    """Show what differs between two environments: resources added/removed and changed inputs.

    Both environments run through the real Pulumi program under mocks (as `mlinfra preview`); environment
    names inside values are written <env> so only real differences remain (replicas, PDBs, protection,
    alert routing, instance types).
    """
    if len(envs) != 2 or envs[0] == envs[1]:
        raise click.UsageError(f"give exactly two different environments: --env A --env B (got {', '.join(envs)})")
    reports = []
    for env in envs:
        check_environment(profile, env)
        reports.append(run_with_progress(profile, env, target).as_dict())
    result = diff_previews(*reports)
    if fmt == "json":
        emit_json(result)
        return
    from rich.markup import escape
    from rich.table import Table

    a, b = result["a"], result["b"]
    table = Table(title=f"{a['environment']} ({a['target']}) -> {b['environment']} ({b['target']})", title_justify="left")
    for col in ("", "resource", "input", a["environment"], b["environment"]):
        table.add_column(col, overflow="fold")
    rows = diff_rows(result)
    for change, res, path, va, vb in rows:
        table.add_row(change, escape(res), escape(path), escape(_cell(va)), escape(_cell(vb)))
    out = console()
    out.print(table)
    out.print(
        f"{len(result['added'])} added, {len(result['removed'])} removed, {len(result['changed'])} changed "
        f"(+ only in {b['environment']}, - only in {a['environment']}; environment names shown as {result['env_token']})"
    )
