"""`mlinfra drift check`: a sample file's drift against a reference, offline (the statistics the monitor exports)."""

from __future__ import annotations

import time

import click
from pydantic import ValidationError

from mlinfra.cli.errors import DomainError
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.drift.config import DriftConfigError, ModelDrift, load_config
from mlinfra.drift.monitor import compare_table
from mlinfra.drift.reference import ReferenceSampleError, load_reference, read_table
from mlinfra.drift.score import psi_to_score
from mlinfra.profiles.load import problems_from

DEFAULT_WARN_PSI = 0.1
DEFAULT_PAGE_PSI = 0.25


def _model(config_path: str | None, name: str | None, reference: str | None, prediction_column: str | None,
           categorical: tuple[str, ...], bins: int | None) -> ModelDrift:
    """The model to check: from the config file (--config, --model) or from the options (--reference ...)."""
    if config_path:
        if reference or prediction_column or categorical or bins:
            raise click.UsageError("--config names the reference and its settings; drop --reference, "
                                   "--prediction-column, --categorical and --bins, or drop --config")
        try:
            config = load_config(config_path)
        except DriftConfigError as exc:
            raise DomainError(exc.report()) from None
        names = [m.name for m in config.models]
        if name is None and len(names) > 1:
            raise click.BadParameter(f"the config watches {len(names)} models ({', '.join(names)}); name one",
                                     param_hint="'--model'")
        found = config.model(name) if name else config.models[0]
        if found is None:
            raise click.BadParameter(f"{config_path} watches no model '{name}'; it watches {', '.join(names)}",
                                     param_hint="'--model'")
        return found
    if not reference:
        raise click.UsageError("pass --config FILE (the monitor's config) or --reference FILE (a .csv or .parquet "
                               "reference sample)")
    settings = {"name": name or "model", "reference": reference, "prediction_column": prediction_column,
                "categorical": list(categorical), **({"bins": bins} if bins else {})}
    try:
        return ModelDrift.model_validate(settings)
    except ValidationError as exc:
        problem = problems_from(exc, settings, ModelDrift)[0]
        raise click.BadParameter(f"{problem.message}", param_hint=f"'--{problem.path.replace('_', '-') or 'model'}'")


@click.command()
@click.option("--sample", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="Recent inputs (and optionally predictions), .csv or .parquet, columns named as in the reference.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str),
              help="The monitor's config file: the reference and its settings come from it.")
@click.option("--model", "name", help="Which model of --config (needed when it watches several).")
@click.option("--reference", type=click.Path(dir_okay=False, path_type=str),
              help="Without --config: the reference sample, .csv or .parquet.")
@click.option("--prediction-column", help="Without --config: the reference's (and the sample's) prediction column.")
@click.option("--categorical", multiple=True, help="Without --config: a column compared as categories (repeatable).")
@click.option("--bins", type=int, help="Without --config: quantile bins per numeric feature [default: 10].")
@click.option("--warn-psi", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_WARN_PSI, show_default=True,
              help="PSI from which a feature is marked 'warn' (the profile's models[].drift.warn_psi).")
@click.option("--page-psi", type=click.FloatRange(min=0, min_open=True), default=DEFAULT_PAGE_PSI, show_default=True,
              help="PSI from which a feature is marked 'page' (models[].drift.page_psi).")
@format_option()
def check(sample: str, config_path: str | None, name: str | None, reference: str | None,
          prediction_column: str | None, categorical: tuple[str, ...], bins: int | None, warn_psi: float,
          page_psi: float, fmt: str) -> None:
    """Compare a sample of recent inputs with the reference: PSI, score and KS per feature.

    \b
    The numbers are the ones `mlinfra drift serve` exports for a window holding the sample's rows:
      psi    population stability index over the reference's quantile bins (categories for a
             categorical feature; categories the reference lacks share one bin)
      score  1 - exp(-psi), the 0..1 value of mlinfra_model_drift_score (PSI 0.1 -> 0.095, 0.25 -> 0.221)
      ks     two-sample Kolmogorov-Smirnov statistic (numeric features)
    A feature is 'warn' from --warn-psi and 'page' from --page-psi. Exit code 0 whatever the drift.
    """
    if page_psi < warn_psi:
        raise click.BadParameter(f"{page_psi:g} is below --warn-psi {warn_psi:g}; the page threshold is the higher "
                                 "one", param_hint="'--page-psi'")
    model = _model(config_path, name, reference, prediction_column, categorical, bins)
    try:
        ref = load_reference(model)
        table = read_table(sample)
    except ReferenceSampleError as exc:
        raise DomainError(str(exc)) from None
    if not table or not len(next(iter(table.values()))):
        raise DomainError(f"{sample}: no rows; pass a sample of recent inputs")
    known = {f.column for f in ref.features} | ({ref.prediction.column} if ref.prediction else set())
    if not known & set(table):
        raise DomainError(f"{sample}: no column of the reference ({', '.join(sorted(known))}); the file has "
                          f"{', '.join(table)}")
    scores = compare_table(ref, table, time.time())
    kinds = {f.name: ("categorical" if f.categorical else "numeric")
             for f in (*ref.features, *([ref.prediction] if ref.prediction else []))}
    rows = []
    for feature in scores.features:
        level = "page" if feature.psi >= page_psi else "warn" if feature.psi >= warn_psi else "ok"
        rows.append({"feature": feature.feature, "kind": kinds[feature.feature], "psi": round(feature.psi, 6),
                     "score": round(feature.score, 6), "ks": None if feature.ks is None else round(feature.ks, 6),
                     "level": level})
    missing = sorted(set(kinds) - {r["feature"] for r in rows})
    report = {
        "model": model.name, "reference": model.reference, "reference_rows": ref.rows, "sample": sample,
        "sample_rows": scores.window_samples, "min_samples": model.min_samples,
        "enough_samples": scores.window_samples >= model.min_samples, "features": rows,
        "not_in_sample": missing, "max_score": max((r["score"] for r in rows), default=0.0),
        "thresholds": {"warn_psi": warn_psi, "page_psi": page_psi, "warn_score": round(psi_to_score(warn_psi), 6),
                       "page_score": round(psi_to_score(page_psi), 6)},
    }
    if fmt == "json":
        emit_json(report)
        return
    _table(report)


def _table(report: dict) -> None:
    from rich.table import Table

    out = console()
    out.print(f"{report['model']}: {report['sample']} ({report['sample_rows']} rows) against {report['reference']} "
              f"({report['reference_rows']} rows)", overflow="fold")
    table = Table()
    for column in ("feature", "kind", "psi", "score", "ks", "level"):
        table.add_column(column, justify="right" if column in ("psi", "score", "ks") else "left")
    for row in report["features"]:
        ks = "-" if row["ks"] is None else f"{row['ks']:.3f}"
        table.add_row(row["feature"], row["kind"], f"{row['psi']:.3f}", f"{row['score']:.3f}", ks, row["level"])
    out.print(table)
    if report["not_in_sample"]:
        out.print(f"not in the sample: {', '.join(report['not_in_sample'])}")
    if not report["enough_samples"]:
        out.print(f"note: {report['sample_rows']} rows is below min_samples ({report['min_samples']}); the monitor "
                  "would export no score yet")
