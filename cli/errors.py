"""One place that turns domain errors into click errors: exit 1 for domain problems, 2 for usage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from mlinfra.planning.plan import PlanError
from mlinfra.profiles.environments import UnknownEnvironment
from mlinfra.profiles.load import ProfileError
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target
from mlinfra.targets.registry import TargetLoadError
from mlinfra.targets.resolve import NoFeasibleTarget, UnknownTarget, resolve_target


class DomainError(click.ClickException):
    """A problem with the user's input or environment (exit code 1), printed without a traceback."""

    exit_code = 1


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Translate library exceptions raised inside a command into click exceptions with clear messages."""
    try:
        yield
    except ProfileError as exc:
        raise DomainError(exc.report()) from None
    except UnknownEnvironment as exc:
        raise click.BadParameter(str(exc), param_hint="'--env'") from None
    except PlanError as exc:  # the profile lacks what the chosen target needs
        raise DomainError(str(exc)) from None
    except TargetLoadError as exc:  # a broken plugin is named, with its distribution and the fix
        raise DomainError(str(exc)) from None


def command_target(profile: Profile, env: str, name: str | None, verb: str) -> Target:
    """The target `env` works with for a command that `verb`s it: --target, or the one every command resolves for
    the profile; an --env or --target the profile or installation lacks is a usage error, no feasible target a
    domain error that says how to go on."""
    if env not in profile.environment_names:
        raise click.BadParameter(
            f"environment '{env}' is not in the profile; declared: {', '.join(profile.environment_names)}",
            param_hint="'--env'",
        )
    try:
        return resolve_target(profile, env, name).target
    except UnknownTarget as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="'--target'") from None
    except NoFeasibleTarget as exc:
        raise DomainError(
            f"no target is feasible for profile '{profile.name}' (see `mlinfra decide`); pass --target to {verb} anyway"
        ) from exc
