"""`mlinfra drift ...`: the drift monitor. Its subcommands load numpy/aiohttp (the drift extra) only when they run."""

from __future__ import annotations

import importlib

import click

from mlinfra.cli.errors import DomainError

# name -> "module:function"; the modules import the drift monitor's runtime dependencies
SUBCOMMANDS: dict[str, str] = {
    "serve": "mlinfra.cli.commands.drift_serve:serve",
    "check": "mlinfra.cli.commands.drift_check:check",
}
DRIFT_EXTRA = ("numpy", "aiohttp", "prometheus_client")  # pyproject [project.optional-dependencies] drift


class DriftGroup(click.Group):
    """Subcommands imported when they run or help lists them; a missing drift extra is named, with the fix."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        try:
            return getattr(importlib.import_module(module), attr)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in DRIFT_EXTRA:
                raise
            raise DomainError(f"mlinfra drift {name} needs the drift extra ({exc.name} is not installed): "
                              "pip install 'mlinfra[drift]'") from None


@click.group(cls=DriftGroup)
def drift() -> None:
    """The drift monitor: compare a model's live inputs and predictions with a reference sample.

    \b
    mlinfra drift serve --config drift.yaml
        run the monitor beside a model server: a V2 (Open Inference protocol) proxy that passes
        every request through unchanged, samples a share of the inference requests and exports
        mlinfra_model_drift_score{model, feature} (0..1 = 1 - exp(-PSI)) on /metrics
    mlinfra drift check --reference ref.csv --sample recent.csv
        the same statistics for a file of recent inputs, offline
    """
