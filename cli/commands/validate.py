"""`mlinfra validate PROFILE`: check the profile only."""

from __future__ import annotations

import click

from mlinfra.cli.errors import user_errors
from mlinfra.cli.output import emit_json, format_option
from mlinfra.profiles import load_profile


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@format_option()
def validate(profile: str, fmt: str) -> None:
    """Check a requirements profile: YAML syntax, types, unknown keys and cross-field rules.

    Every problem is listed as `path: what is wrong (got X)`; exit code 1 when there is any.
    """
    with user_errors():
        loaded = load_profile(profile)
    summary = {
        "profile": profile,
        "name": loaded.name,
        "models": [m.name for m in loaded.models],
        "environments": loaded.environment_names,
        "valid": True,
    }
    if fmt == "json":
        emit_json(summary)
    else:
        n = len(summary["models"])
        click.echo(
            f"{profile}: valid - {loaded.name}, {n} model{'s' if n != 1 else ''} "
            f"({', '.join(summary['models'])}), environments {', '.join(summary['environments'])}"
        )
