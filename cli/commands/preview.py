"""`mlinfra preview PROFILE --env ENV`: the real Pulumi program under Pulumi's mocks, offline, with guardrails."""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.preview.render import print_report
from mlinfra.preview.report import PreviewError, run_preview
from mlinfra.profiles import load_profile
from mlinfra.profiles.environments import resolve_environment


def check_environment(profile: str, env: str) -> None:
    """Fail fast (exit 2, names the declared environments) before any Pulumi work."""
    with user_errors():
        resolve_environment(load_profile(profile), env)


def run_with_progress(profile: str, env: str, target: str | None):
    """Run one offline preview with a rich status line on stderr; domain failures become exit 1."""
    from mlinfra.program import run_offline  # Pulumi's SDK: only for the commands that run the program

    status_console = console()
    status_console.stderr = True
    with status_console.status(f"Running the Pulumi program for '{env}' under mocks...") as status:

        def progress(count: int) -> None:
            status.update(f"Running the Pulumi program for '{env}' under mocks: {count} resources registered")

        try:
            return run_preview(profile, env, runner=run_offline, target=target, on_register=progress)
        except PreviewError as exc:
            raise DomainError(f"preview of '{env}' failed: {exc}") from None


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@click.option("--env", "env", required=True, help="Environment (the Pulumi stack name) to preview.")
@click.option("--target", default=None, help="Preview this target instead of the decided one (like config mlinfra:target).")
@format_option(("tree", "json"))
def preview(profile: str, env: str, target: str | None, fmt: str) -> None:
    """Run the Pulumi program offline under Pulumi's mocks and check the guardrails.

    Prints the resource tree (type, name, parent, key inputs), counts per type, stack outputs, the
    guardrail results and the go-live readiness warnings (gaps such as a prod model without an owner; they
    never change the exit code). No cloud, cluster or Pulumi CLI is needed. Exit code 1 on a program error or a
    guardrail violation.
    """
    check_environment(profile, env)
    report = run_with_progress(profile, env, target)
    if fmt == "json":
        emit_json(report.as_dict())
    else:
        print_report(report, console())
    if not report.passed:
        failed = [c.id for c in report.checks if c.status == "fail"]
        pack = [v["policy"].removeprefix("mlinfra-") for v in report.policy_pack.get("violations", [])]
        failed += sorted(set(pack) - set(failed))
        raise DomainError(f"{max(report.violations, len(pack))} guardrail violation(s) in '{env}' ({', '.join(failed)}); "
                          "see the guardrails above")
