"""`mlinfra calibrate PROFILE --model NAME`: measure what one replica sustains within the latency SLO, on this host."""

from __future__ import annotations

import click

from mlinfra.calibration.calibrate import Calibration, calibrate as run_calibration
from mlinfra.calibration.load import concurrency_levels
from mlinfra.calibration.plot import plot_curve
from mlinfra.calibration.record import capacity_yaml, write_capacity
from mlinfra.calibration.server import CalibrationError
from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.planning.sizing import TARGET_UTILISATION
from mlinfra.profiles import load_profile


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@click.option("--model", "model", required=True, metavar="NAME", help="The model to measure (models[].name).")
@click.option(
    "--artifact", default=None, metavar="PATH", type=click.Path(path_type=str),
    help="Local directory (or file) holding the model as the runtime loads it, e.g. a directory with model.joblib; "
    "an own model-settings.json in it is used.",
)
@click.option(
    "--payload", default=None, metavar="FILE", type=click.Path(dir_okay=False, path_type=str),
    help="JSON file with the V2 inference request to send. Default: one row of zeros built from the inputs the "
    "model declares (model-settings.json).",
)
@click.option("--max-concurrency", default=64, show_default=True, type=click.IntRange(1, 1024), metavar="N",
              help="Highest number of requests in flight (steps 1, 2, 4, ... up to N).")
@click.option("--step-seconds", default=5.0, show_default=True, type=click.FloatRange(0.5, 600), metavar="S",
              help="Duration of each load step (its first fifth, at most 1 s, is warm-up and not counted).")
@click.option("--cores", default=None, type=click.IntRange(1, 1024), metavar="N",
              help="CPU cores the runtime is limited to. Default: the model's resources.cpu, rounded up.")
@click.option("--mlserver", default=None, metavar="PATH", type=click.Path(dir_okay=False, path_type=str),
              help="MLServer's `mlserver` executable. Default: the one on PATH.")
@format_option()
@click.option("--plot", "plot_file", default=None, metavar="FILE", type=click.Path(dir_okay=False, path_type=str),
              help="Also draw the latency curve and throughput into FILE (.svg or .png; needs matplotlib: "
              "pip install 'mlinfra[plot]').")
@click.option("--write", is_flag=True, help="Record the measured capacity in the profile (models[].capacity), "
              "keeping the file's comments and layout.")
@click.option("--force", is_flag=True, help="With --write: replace a capacity the model already has.")
def calibrate(
    profile: str, model: str, artifact: str | None, payload: str | None, max_concurrency: int, step_seconds: float,
    cores: int | None, mlserver: str | None, fmt: str, plot_file: str | None, write: bool, force: bool,
) -> None:
    """Measure the requests/s one replica of a model sustains within its latency SLO, on this host.

    Starts the model's runtime locally (MLServer) on the replica's cores, then runs a closed-loop load test on
    127.0.0.1: 1, 2, 4, ... requests in flight, each step for --step-seconds, until p95 latency passes the
    model's slo.latency_p95_ms or a request fails. The capacity is the highest throughput of a step within the
    SLO and without errors; --write records it, and sizing, replica counts, autoscaling targets and the decision
    then use it instead of the framework default. Exit code 1 when no step met the SLO.
    """
    if force and not write:
        raise click.UsageError("--force only applies together with --write")
    if plot_file and not plot_file.lower().endswith((".svg", ".png")):
        raise click.BadParameter(f"'{plot_file}' is neither .svg nor .png; use a file ending in one of them",
                                 param_hint="--plot")
    with user_errors():
        loaded = load_profile(profile)
    text = _read_text(profile) if write else ""
    if write and not force:
        current = next((m for m in loaded.models if m.name == model), None)
        if current is not None and current.capacity is not None:  # refuse before minutes of measuring
            raise DomainError(f"--write: model '{model}' already has a capacity (measured "
                              f"{current.capacity.measured_on.isoformat()}); pass --force to replace it")
    try:
        result = _run(loaded, model, artifact, payload, max_concurrency, step_seconds, cores, mlserver)
    except CalibrationError as exc:
        raise DomainError(f"{profile}: {exc}") from None
    if plot_file:
        try:
            plot_curve(result, plot_file)
        except CalibrationError as exc:
            raise DomainError(str(exc)) from None
        except OSError as exc:
            raise DomainError(f"--plot: cannot write '{plot_file}': {exc.strerror or exc}") from None
    written = None
    if write and result.capacity is not None:
        try:
            replaced = write_capacity(profile, text, model, result.capacity, force=force)
        except CalibrationError as exc:
            raise DomainError(f"{profile}: {exc}") from None
        except OSError as exc:
            raise DomainError(f"--write: cannot write {profile}: {exc.strerror or exc}") from None
        written = "replaced" if replaced else "added"
    if fmt == "json":
        emit_json({**result.to_dict(), "written": written})
    else:
        print_result(result, profile if written else None)
    if result.capacity is None:
        first = result.curve.steps[0] if result.curve.steps else None
        found = f"p95 {first.p95_ms:g} ms with 1 request in flight" if first else "no step ran"
        raise DomainError(
            f"{profile}: model '{model}' met its slo.latency_p95_ms {result.curve.slo_p95_ms:g} ms at no load "
            f"step ({found}; {result.curve.stopped}); nothing to record - a faster runtime or more cores "
            "(resources.cpu) may, or the SLO is tighter than the model can serve"
        )


def _read_text(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DomainError(f"--write: cannot read {path} ({getattr(exc, 'strerror', None) or exc})") from None


def _run(profile, model, artifact, payload, max_concurrency, step_seconds, cores, mlserver) -> Calibration:
    """The calibration with a status line on stderr: the server starting, then each load step as it runs."""
    status_console = console()
    status_console.stderr = True
    levels = concurrency_levels(max_concurrency)
    with status_console.status(f"Starting the runtime of '{model}'...") as status:

        def on_event(what, concurrency, step) -> None:
            if what == "ready":
                status.update("Runtime ready; load test starting...")
            elif what == "step" and step is None:
                status.update(f"Load step {levels.index(concurrency) + 1}/{len(levels)}: {concurrency} in flight "
                              f"for {step_seconds:g} s...")
            elif what == "step":
                status_console.print(
                    f"  {concurrency:>4} in flight: {step.rps:>9.1f} req/s, p95 {step.p95_ms:.1f} ms"
                    + (f", {step.errors} errors" if step.errors else ""), markup=False, highlight=False)

        return run_calibration(
            profile, model, artifact=artifact, payload=payload, max_concurrency=max_concurrency,
            step_seconds=step_seconds, cores=cores, mlserver=mlserver, on_event=on_event,
        )


def print_result(result: Calibration, written_to: str | None) -> None:
    from rich.table import Table

    out = console()
    curve = result.curve
    best = curve.best
    table = Table(title=f"{result.model}: {result.runtime} on {result.cores} core{'s' if result.cores != 1 else ''} "
                  f"of {result.cpu} (SLO p95 {curve.slo_p95_ms:g} ms)", title_justify="left")
    for name in ("in flight", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "runtime cores", "req/CPU-s",
                 "within SLO"):
        table.add_column(name, justify="right")
    for s in curve.steps:
        mark = "capacity" if best is not None and s is best else ("yes" if s.within(curve.slo_p95_ms) else "no")
        per_cpu = s.requests_per_cpu_second
        table.add_row(str(s.concurrency), f"{s.rps:.1f}", f"{s.p50_ms:.1f}", f"{s.p95_ms:.1f}", f"{s.p99_ms:.1f}",
                      str(s.errors), "-" if s.server_cpu is None else f"{s.server_cpu:.2f}",
                      "-" if per_cpu is None else f"{per_cpu:.0f}", mark)
    out.print(table)
    out.print(f"stopped: {curve.stopped}", markup=False)
    if best is not None:
        out.print(f"capacity: {best.rps:g} req/s per replica at {best.concurrency} in flight (p95 {best.p95_ms:g} ms); "
                  f"sizing plans {best.rps * TARGET_UTILISATION:.4g} req/s per replica ({TARGET_UTILISATION:.0%}), the "
                  f"framework default gave {result.default_rps_per_replica:g}", markup=False)
        if written_to:
            out.print(f"recorded in {written_to}: models[{result.model}].capacity", markup=False)
        else:
            out.print(f"to record it: --write, or add to the model:\n  capacity: {capacity_yaml(result.capacity)}",
                      markup=False)
    load = ", ".join(f"{x:g}" for x in result.load_average)
    out.print(f"took {result.seconds:.1f} s ({result.startup_seconds:.1f} s starting the runtime); request: "
              f"{result.payload}; load average {load}", markup=False)
    for note in result.notes:
        out.print(f"note: {note}", markup=False)
