"""A model's reference sample: read from CSV (stdlib) or Parquet (pyarrow, when installed) and turned into the
baselines the window is compared with. Object-store references are fetched by the init container, not here."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlinfra.drift.config import PREDICTION_FEATURE, ModelDrift
from mlinfra.drift.stats import CategoricalBaseline, NumericBaseline

MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none"})  # CSV cells read as a missing number
MAX_REFERENCE_ROWS = 1_000_000  # more is slow to load and adds nothing to a quantile estimate


class ReferenceSampleError(Exception):
    """A reference sample cannot be used; the message names the file (and the config field) and the fix."""


@dataclass(frozen=True)
class Feature:
    """One compared column: its label in the metrics, where its values come from, its kind and its baseline."""

    name: str  # the `feature` label: the column name, or "prediction"
    column: str  # the reference column and the V2 input (or output) name
    categorical: bool
    baseline: NumericBaseline | CategoricalBaseline


@dataclass(frozen=True)
class Reference:
    """A model's baselines: its input features (in the order of a 2-D input tensor's columns), its prediction."""

    source: str
    rows: int
    features: tuple[Feature, ...]
    prediction: Feature | None

    @property
    def numeric(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if not f.categorical)

    @property
    def categorical(self) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.categorical)


def category(value: Any) -> str:
    """The one spelling of a categorical value on both sides (reference cells, V2 request data): numbers by value
    (`1`, `1.0` and "1" are one category), booleans as true/false, missing values as ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
    elif isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
    else:
        return str(value)
    if math.isnan(number):
        return ""
    return str(int(number)) if number.is_integer() and abs(number) < 2**63 else repr(number)


def as_number(value: Any) -> float:
    """A numeric cell or V2 value as float; missing or unreadable values are NaN."""
    if value is None or isinstance(value, bool):
        return float(value) if isinstance(value, bool) else math.nan
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def read_table(path: str) -> dict[str, list[Any]]:
    """The columns of a .csv (header row, comma-separated) or .parquet file, as lists of cell values."""
    if path.lower().endswith(".parquet"):
        return _read_parquet(path)
    return _read_csv(path)


def _read_csv(path: str) -> dict[str, list[Any]]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                raise ReferenceSampleError(f"{path}: empty; a reference CSV starts with a header row of column names")
            header = [h.strip() for h in header]
            repeated = sorted({h for h in header if header.count(h) > 1})
            if repeated or "" in header:
                what = f"repeats {', '.join(repeated)}" if repeated else "has an empty column name"
                raise ReferenceSampleError(f"{path}: the header row {what}; name each column once")
            columns: list[list[str]] = [[] for _ in header]
            for row in reader:
                if not row:
                    continue
                if len(row) != len(header):
                    raise ReferenceSampleError(f"{path}: line {reader.line_num} has {len(row)} fields, the header "
                                         f"{len(header)}")
                if len(columns[0]) >= MAX_REFERENCE_ROWS:
                    raise ReferenceSampleError(f"{path}: more than {MAX_REFERENCE_ROWS:,} rows; a random sample of "
                                         "10,000-100,000 rows is a better reference")
                for column, cell in zip(columns, row):
                    column.append(cell)
    except FileNotFoundError:
        raise ReferenceSampleError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ReferenceSampleError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise ReferenceSampleError(f"{path}: not a CSV file ({exc})") from None
    except OSError as exc:
        raise ReferenceSampleError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    return dict(zip(header, columns))


def _read_parquet(path: str) -> dict[str, list[Any]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ReferenceSampleError(f"{path}: reading Parquet needs pyarrow, which is not installed; install "
                             "`mlinfra[parquet]` (pip install pyarrow) or give the reference as CSV") from None
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise ReferenceSampleError(f"{path}: file not found") from None
    except (OSError, ValueError) as exc:  # pyarrow.ArrowInvalid is a ValueError
        raise ReferenceSampleError(f"{path}: not a readable Parquet file ({exc})") from None
    if table.num_rows > MAX_REFERENCE_ROWS:
        raise ReferenceSampleError(f"{path}: more than {MAX_REFERENCE_ROWS:,} rows; a random sample of "
                             "10,000-100,000 rows is a better reference")
    return table.to_pydict()


def _is_numeric(values: list[Any]) -> bool:
    """True when every present value of a column is a number (CSV text that parses as one)."""
    for value in values:
        if value is None or isinstance(value, bool):
            if isinstance(value, bool):
                return False
            continue
        if isinstance(value, (int, float)):
            continue
        if not isinstance(value, str):
            return False
        if value.strip().lower() in MISSING_TOKENS:
            continue
        try:
            float(value)
        except ValueError:
            return False
    return True


def _numbers(values: list[Any]) -> np.ndarray:
    return np.array([math.nan if isinstance(v, str) and v.strip().lower() in MISSING_TOKENS else as_number(v)
                     for v in values], dtype=float)


def _feature(name: str, column: str, values: list[Any], categorical: bool, bins: int) -> Feature:
    if categorical:
        return Feature(name, column, True, CategoricalBaseline.of(np.array([category(v) for v in values], dtype=str)))
    return Feature(name, column, False, NumericBaseline.of(_numbers(values), bins))


def build_reference(model: ModelDrift, table: dict[str, list[Any]], source: str) -> Reference:
    """The baselines of `model` from its reference table; ReferenceSampleError naming the config field when the table
    lacks a column the config names."""
    rows = len(next(iter(table.values()), []))
    if rows == 0:
        raise ReferenceSampleError(f"{source}: no rows; the reference needs a sample of the model's inputs")
    missing = [c for c in (*(model.features or ()), *([model.prediction_column] if model.prediction_column else ()))
               if c not in table]
    if missing:
        raise ReferenceSampleError(f"{source}: no column {', '.join(missing)} (named by features / prediction_column); "
                             f"the file has {', '.join(table)}")
    names = model.features or tuple(c for c in table if c != model.prediction_column)
    if not model.features and PREDICTION_FEATURE in names and model.prediction_column:
        raise ReferenceSampleError(f"{source}: a column named '{PREDICTION_FEATURE}' would share its series with prediction "
                             f"drift (prediction_column is set); list features without it")
    if not names:
        raise ReferenceSampleError(f"{source}: no input column besides the prediction column '{model.prediction_column}'")
    unknown = [c for c in model.categorical if c not in names and c != model.prediction_column]
    if unknown:
        raise ReferenceSampleError(f"categorical names {', '.join(unknown)}, not a compared column of {source}; the "
                             f"compared columns are {', '.join(names)}")
    features = tuple(
        _feature(c, c, table[c], c in model.categorical or not _is_numeric(table[c]), model.bins) for c in names
    )
    prediction = None
    if model.prediction_column:
        values = table[model.prediction_column]
        categorical = model.prediction_column in model.categorical or not _is_numeric(values)
        prediction = _feature(PREDICTION_FEATURE, model.prediction_column, values, categorical, model.bins)
    return Reference(source, rows, features, prediction)


def load_reference(model: ModelDrift) -> Reference:
    """Read `model.reference` and build its baselines (ReferenceSampleError with the file name on any problem)."""
    path = str(Path(model.reference))
    return build_reference(model, read_table(path), path)
