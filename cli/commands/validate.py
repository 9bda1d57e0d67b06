"""`mlinfra validate PROFILE`: check the profile only."""

from __future__ import annotations

import click

from mlinfra.cli.errors import user_errors
from mlinfra.cli.output import emit_json, format_option
from mlinfra.profiles import load_profile
from mlinfra.scaffold.context import secret_refs


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@format_option()
def validate(profile: str, fmt: str) -> None:
    """Check a requirements profile: YAML syntax, types, unknown keys and cross-field rules.

    Every problem is listed as `path: what is wrong (got X)`; exit code 1 when there is any. A valid profile's
    secret config keys are listed with what each holds: set them per stack with `pulumi config set --secret`.
    """
    with user_errors():
        loaded = load_profile(profile)
    summary = {
        "profile": profile,
        "name": loaded.name,
        "models": [m.name for m in loaded.models],
        "environments": loaded.environment_names,
        "secret_config_keys": [
            {"key": s.key, "holds": s.what, "fields": list(s.paths), "every_stack": s.every_stack}
            for s in secret_refs(loaded)
        ],
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
        click.echo("secret config keys (set with `pulumi config set --secret -s STACK KEY` in every stack that "
                   "installs a monitoring stack; those marked 'every stack' in each one):")
        for ref in summary["secret_config_keys"]:
            where = "; every stack" if ref["every_stack"] else ""
            click.echo(f"  {ref['key']}: {ref['holds']} ({', '.join(ref['fields'])}{where})")
