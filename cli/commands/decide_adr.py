"""`mlinfra decide --adr DIR`: the decision as an architecture decision record.

Apart from decide.py, which names it with targets.base.deferred: the record's template, the writer and the
scaffold's dashboard names load only when a record is written, never for a plain `decide`.
"""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError
from mlinfra.decision.adr import render_adr, write_adr
from mlinfra.decision.decide import Decision
from mlinfra.files.writer import WriteError
from mlinfra.profiles.model import Profile
from mlinfra.scaffold.context import dashboard_of
from mlinfra.targets.registry import get_target


def write_record(decision: Decision, profile: Profile, adr_dir: str, force: bool) -> None:
    """Write DIR/0001-deployment-target.md (never over an edited record without `force`) and say so on stderr."""
    try:
        target = get_target(decision.target) if decision.target else None
        text = render_adr(decision, profile, dashboard_of=dashboard_of(profile, target))
        path, what = write_adr(adr_dir, text, force=force)
    except WriteError as exc:
        raise DomainError(str(exc)) from None
    except OSError as exc:
        raise DomainError(f"--adr {adr_dir}: cannot write the record: {exc.strerror}") from None
    click.echo(f"ADR {what}: {path}", err=True)
