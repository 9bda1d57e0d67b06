"""`mlinfra validate PROFILE`: check the profile only."""

from __future__ import annotations

import click

from mlinfra.cli.errors import user_errors
from mlinfra.cli.output import emit_json, format_option
from mlinfra.profiles import load_profile
from mlinfra.profiles.load import Problem, ProfileError
from mlinfra.profiles.model import Profile
from mlinfra.targets.resolve import NoFeasibleTarget, UnknownTarget, resolve_target
from mlinfra.scaffold.context import secret_refs


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@format_option()
def validate(profile: str, fmt: str) -> None:
    """Check a requirements profile: YAML syntax, types, unknown keys and cross-field rules.

    Every problem is listed as `path: what is wrong (got X)`; exit code 1 when there is any - also what the
    target the profile deploys with cannot work with (an email notify without monitoring.smtp on a cluster);
    warnings (a latency SLO between bucket edges, retention under the SLO window) do not fail. A valid profile's
    secret config keys are listed with what each holds: set them per stack with `pulumi config set --secret`.
    """
    with user_errors():
        loaded = load_profile(profile)
        errors, warnings = target_checks(loaded)
        if errors:
            raise ProfileError(profile, [Problem(path, message) for path, message in errors])
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
    if warnings:
        summary["warnings"] = [{"path": path, "message": message} for path, message in warnings]
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
        for path, message in warnings:
            click.echo(f"warning: {path}: {message}")


def target_checks(profile: Profile) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Errors and warnings of the targets the profile's environments deploy with (the ones every command
    resolves); none for an environment no target can deploy (`mlinfra decide` says why)."""
    targets = {}
    for env in profile.environment_names:
        try:
            target = resolve_target(profile, env, None).target
        except (NoFeasibleTarget, UnknownTarget):
            continue
        targets.setdefault(target.name, target)
    errors: list[tuple[str, str]] = []
    warnings: list[tuple[str, str]] = []
    for target in targets.values():
        found_errors, found_warnings = target.profile_checks(profile)
        errors += [e for e in found_errors if e not in errors]
        warnings += [w for w in found_warnings if w not in warnings]
    return errors, warnings
