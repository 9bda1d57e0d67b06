"""One model's drift state: sampled exchanges in, rows in its windows, scores out (what /metrics exports)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from mlinfra.drift.config import ModelDrift
from mlinfra.drift.reference import Feature, Reference, as_number, category
from mlinfra.drift.score import psi_to_score
from mlinfra.drift.v2 import Body, V2DecodeError, decode_inputs, decode_predictions, parse
from mlinfra.drift.window import Window


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's drift: PSI, its 0..1 score, and the KS statistic for a numeric feature."""

    feature: str
    psi: float
    score: float
    ks: float | None


@dataclass(frozen=True)
class Scores:
    """A model's last computation: when, over how many rows, and the features' drift (empty below min_samples)."""

    computed_at: float  # unix time
    window_samples: int
    features: tuple[FeatureDrift, ...]


def _floats(values: np.ndarray) -> np.ndarray:
    try:
        return values.astype(float)
    except (TypeError, ValueError):  # strings, None among numbers: one by one, unreadable values are NaN
        return np.array([as_number(v) for v in values.tolist()], dtype=float)


def _categories(values: np.ndarray) -> np.ndarray:
    return np.array([category(v) for v in values.tolist()], dtype=object)


class ModelMonitor:
    """The windows and scores of one watched model; `ingest` and `compute` may run on different threads."""

    def __init__(self, spec: ModelDrift, reference: Reference):
        self.spec = spec
        self.reference = reference
        self.columns = tuple(f.column for f in reference.features)
        self.window = Window(len(reference.numeric), len(reference.categorical), spec.window)
        prediction = reference.prediction
        self.predictions = (
            Window(int(not prediction.categorical), int(prediction.categorical), spec.window) if prediction else None
        )
        self.decode_errors = 0
        self.dropped = 0
        self.last_error = ""
        self.latest: Scores | None = None
        self._lock = threading.Lock()

    def rows(self, request: Any) -> tuple[np.ndarray, np.ndarray]:
        """The (numeric, categorical) rows of a decoded V2 request, features it does not send as missing."""
        n, columns = decode_inputs(request, self.columns)
        numeric = np.full((n, len(self.reference.numeric)), np.nan)
        for i, feature in enumerate(self.reference.numeric):
            if feature.column in columns:
                numeric[:, i] = _floats(columns[feature.column])
        categorical = np.full((n, len(self.reference.categorical)), "", dtype=object)
        for i, feature in enumerate(self.reference.categorical):
            if feature.column in columns:
                categorical[:, i] = _categories(columns[feature.column])
        return numeric, categorical

    def ingest(self, request: Body | bytes, response: Body | bytes) -> int:
        """Add a sampled exchange's rows (and predictions) to the windows; the rows added. V2DecodeError when the
        request cannot be read (nothing is added); a response that cannot be read only skips the predictions."""
        request = request if isinstance(request, Body) else Body(request)
        response = response if isinstance(response, Body) else Body(response)
        try:
            numeric, categorical = self.rows(parse(request))
        except V2DecodeError as exc:
            self.record_error(str(exc))
            raise
        self.window.append(numeric, categorical)
        if self.predictions is not None and self.reference.prediction is not None:
            try:
                values = decode_predictions(parse(response), self.reference.prediction.column)
            except V2DecodeError as exc:
                self.record_error(f"predictions: {exc}")
                raise
            if self.reference.prediction.categorical:
                self.predictions.append(np.empty((len(values), 0)), _categories(values).reshape(-1, 1))
            else:
                self.predictions.append(_floats(values).reshape(-1, 1), np.empty((len(values), 0), dtype=object))
        return numeric.shape[0]

    def record_error(self, message: str) -> None:
        with self._lock:
            self.decode_errors += 1
            self.last_error = message

    def drop(self) -> None:
        """Count a sample the full queue could not take."""
        with self._lock:
            self.dropped += 1

    def compute(self, now: float) -> Scores:
        """Compare the windows with the reference (no features below min_samples); kept as `latest`."""
        features: list[FeatureDrift] = []
        if len(self.window) >= self.spec.min_samples:
            numeric, categorical = self.window.snapshot()
            for i, feature in enumerate(self.reference.numeric):
                features.append(_drift(feature, numeric[:, i]))
            for i, feature in enumerate(self.reference.categorical):
                features.append(_drift(feature, categorical[:, i]))
        if self.predictions is not None and self.reference.prediction is not None \
                and len(self.predictions) >= self.spec.min_samples:
            numeric, categorical = self.predictions.snapshot()
            values = categorical[:, 0] if self.reference.prediction.categorical else numeric[:, 0]
            features.append(_drift(self.reference.prediction, values))
        scores = Scores(now, len(self.window), tuple(sorted(features, key=lambda f: f.feature)))
        self.latest = scores
        return scores


def _drift(feature: Feature, values: np.ndarray) -> FeatureDrift:
    psi, ks = feature.baseline.compare(values.astype(str) if feature.categorical else values)
    return FeatureDrift(feature.name, psi, psi_to_score(psi), ks)


def compare_table(reference: Reference, table: dict[str, list[Any]], now: float) -> Scores:
    """Scores of a whole sample table (e.g. a CSV of recent inputs) against the reference, no window or minimum:
    every compared column the table has; its prediction column (named as in the reference) when present."""
    features: list[FeatureDrift] = []
    compared = [*reference.features, *([reference.prediction] if reference.prediction else [])]
    rows = len(next(iter(table.values()), []))
    for feature in compared:
        if feature.column not in table:
            continue
        values = np.array(table[feature.column], dtype=object)
        features.append(_drift(feature, _categories(values) if feature.categorical else _floats(values)))
    return Scores(now, rows, tuple(sorted(features, key=lambda f: f.feature)))
