"""One place that turns domain errors into click errors: exit 1 for domain problems, 2 for usage."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import click

from mlinfra.planning.plan import PlanError
from mlinfra.profiles.environments import UnknownEnvironment
from mlinfra.profiles.load import ProfileError
from mlinfra.targets.registry import TargetLoadError


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
