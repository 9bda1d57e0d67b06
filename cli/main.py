"""Entry point: the `mlinfra` click group. Subcommands are imported lazily so `decide` never pays for Pulumi."""

from __future__ import annotations

import gc
import importlib
import os
import sys

import click

from mlinfra import __version__

# name -> "module:function"; one module per command in mlinfra.cli.commands
COMMANDS: dict[str, str] = {
    "validate": "mlinfra.cli.commands.validate:validate",
    "schema": "mlinfra.cli.commands.schema:schema",
    "decide": "mlinfra.cli.commands.decide:decide",
    "prices": "mlinfra.cli.commands.prices:prices",
    "init": "mlinfra.cli.commands.init:init",
    "targets": "mlinfra.cli.commands.targets:targets",
    "render": "mlinfra.cli.commands.render:render",
    "preview": "mlinfra.cli.commands.preview:preview",
    "diff": "mlinfra.cli.commands.diff:diff",
    "drill": "mlinfra.cli.commands.drill:drill",
    "calibrate": "mlinfra.cli.commands.calibrate:calibrate",
    "drift": "mlinfra.cli.commands.drift:drift",
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that subcommand runs (or help lists it)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        _settle_imports()
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="mlinfra")
def cli() -> None:
    """Decide where ML models should run, deploy them with Pulumi, and monitor them.

    \b
    Typical flow:
      mlinfra validate profile.yaml        check the requirements profile
      mlinfra decide profile.yaml          SageMaker, EKS or on-prem Kubernetes? with reasons and costs
      mlinfra render profile.yaml --env prod --out out/
                                           manifests, alert rules, dashboards (no Pulumi needed)
    """


# Set by main() while the collector waits for the command's imports (see main).
_COLLECT_AFTER_IMPORTS = False


def _settle_imports() -> None:
    """Move what the imports built (classes, functions, pydantic's schemas and validators: ~35,000 objects that live
    as long as the process) out of the collector's way (gc.freeze) and collect as usual from here on."""
    global _COLLECT_AFTER_IMPORTS
    if _COLLECT_AFTER_IMPORTS:
        _COLLECT_AFTER_IMPORTS = False
        gc.freeze()
        gc.enable()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: click handles usage and domain errors; anything else is reported, not dumped."""
    # mlinfra uses no pydantic plugins; looking for them scans every installed distribution (~20 ms a run)
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    # Importing a command creates tens of thousands of objects that live as long as the process and hardly any
    # garbage; with the collector on, it traverses them again and again while they are made and once more at exit
    # (~50 ms of a ~0.3 s `decide`). So the collector waits until the command is imported; those objects are then
    # frozen (never scanned again) and the command runs with the collector on.
    global _COLLECT_AFTER_IMPORTS
    if gc.isenabled():
        _COLLECT_AFTER_IMPORTS = True
        gc.disable()
    try:
        cli.main(args=argv, prog_name="mlinfra", standalone_mode=True)
    except (SystemExit, KeyboardInterrupt):
        raise
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback reaches a user
        if os.environ.get("MLINFRA_DEBUG"):
            raise
        click.echo(
            f"mlinfra: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in mlinfra; re-run with MLINFRA_DEBUG=1 for the traceback and report it.",
            err=True,
        )
        sys.exit(70)
    finally:
        _settle_imports()  # when no command was imported (--help, --version, a usage error)
