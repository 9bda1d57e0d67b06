"""`mlinfra drift serve --config FILE`: the drift monitor's process (the container's entry point)."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from mlinfra.cli.errors import DomainError
from mlinfra.drift.config import DriftConfigError, load_config
from mlinfra.drift.reference import ReferenceSampleError
from mlinfra.drift.server import DriftService, ListenError, serve as run_service

LOG_LEVELS = ("debug", "info", "warning", "error")


@click.command()
@click.option("--config", "config_path", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The monitor's config file, YAML or JSON (`mlinfra render` writes one per model).")
@click.option("--log-level", type=click.Choice(LOG_LEVELS), default="info", show_default=True,
              help="debug also logs every sample that could not be read.")
def serve(config_path: str, log_level: str) -> None:
    """Run the drift monitor in front of a model server until SIGTERM.

    \b
    listen          the V2 proxy: every request goes to `upstream` and its answer comes back unchanged
                    (errors included); a share (sample_rate) of POST /v2/models/<name>/infer exchanges
                    is copied to a bounded queue and compared off the request path
    metrics_listen  GET /metrics: mlinfra_model_drift_score{model, feature} (0..1 = 1 - exp(-PSI); the
                    feature "prediction" for the outputs), _psi, _ks, _window_samples,
                    _last_computed_timestamp_seconds, _sampled_rows_total,
                    _dropped_samples_total, _decode_errors_total;
                    GET /healthz and /readyz for the probes

    Scores appear once a model's window holds min_samples rows. The format of the config file is
    described in `mlinfra.drift.config` and docs/drift.md. An unreachable model server is a 502 and a
    slow one a 504, with a JSON error naming it.
    """
    logging.basicConfig(level=log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        service = DriftService.from_config(load_config(config_path))
        asyncio.run(run_service(service))
    except DriftConfigError as exc:
        raise DomainError(exc.report()) from None
    except (ReferenceSampleError, ListenError) as exc:
        raise DomainError(f"{config_path}: {exc}") from None
