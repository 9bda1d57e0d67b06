"""`mlinfra schema`: print the profile's JSON Schema (for editors and CI checks)."""

from __future__ import annotations

import click

from mlinfra.cli.output import emit_json
from mlinfra.profiles.schema import profile_json_schema


@click.command()
def schema() -> None:
    """Print the JSON Schema of the requirements profile.

    \b
    Editors complete and check profiles with it, e.g. in VS Code (YAML extension):
      mlinfra schema > profile.schema.json
      # yaml-language-server: $schema=./profile.schema.json   (first line of the profile)
    """
    emit_json(profile_json_schema())
