"""Drift statistics over plain numpy arrays: population stability index (numeric and categorical) and the
two-sample Kolmogorov-Smirnov statistic.

PSI = sum over bins of (actual - expected) * ln(actual / expected), with shares of the reference (expected) and of
the recent window (actual). Conventions, chosen so the numbers are stable and comparable across features:

- Numeric bins come from the reference's quantiles (`bins` equal shares); repeated edges are merged (a reference
  with few distinct values has fewer bins), the outer bins are open-ended, bins are right-closed (lo, hi], so a
  value repeated at an edge stays in one bin. Missing values (NaN) have a bin of their own.
- Categorical bins are the reference's categories; every category the reference never saw shares one extra bin
  (expected share 0), so a new category shows up as drift instead of being ignored.
- An empty bin's share is raised to EPSILON before the logarithm (PSI is infinite otherwise); with 1e-4, a new
  category holding 10 % of the window alone gives PSI 0.1 * ln(0.1 / 1e-4) = 0.69.
- KS is the largest distance between the two empirical distribution functions (0..1); no p-value: with thousands
  of rows every difference is "significant", the statistic is what tells how large it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EPSILON = 1e-4  # floor of a bin's share in PSI (see the module docstring)
UNSEEN = "(unseen)"  # label of the categorical bin holding every category the reference lacks


def quantile_edges(reference: np.ndarray, bins: int) -> np.ndarray:
    """The inner bin edges of a numeric feature: the reference's 1/bins .. (bins-1)/bins quantiles, deduplicated
    (NaN ignored; none for an empty reference). The quantiles are values
    of the reference (no interpolation), so a value repeated in the reference is an edge, never inside a bin that
    the reference leaves empty."""
    values = reference[~np.isnan(reference)]
    if values.size == 0 or bins < 2:
        return np.empty(0)
    return np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1], method="inverted_cdf"))


def numeric_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin (-inf, e1], (e1, e2], ..., (ek, inf), then the share of NaN; sums to 1."""
    missing = np.isnan(values)
    index = np.searchsorted(edges, values[~missing], side="left")
    counts = np.bincount(index, minlength=edges.size + 1).astype(float)
    counts = np.append(counts, missing.sum())
    return counts / max(values.size, 1)


def categorical_shares(values: np.ndarray, categories: tuple[str, ...]) -> np.ndarray:
    """Share of `values` in each of `categories` (in order), then the share of all other values (the unseen bin)."""
    if values.size == 0:
        return np.zeros(len(categories) + 1)
    found, counts = np.unique(values.astype(str), return_counts=True)
    by_value = dict(zip(found.tolist(), counts.tolist()))
    known = [by_value.pop(c, 0) for c in categories]
    return np.array([*known, sum(by_value.values())], dtype=float) / values.size


def psi(expected: np.ndarray, actual: np.ndarray, epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors over the same bins; >= 0, 0 when they are equal."""
    e = np.maximum(np.asarray(expected, dtype=float), epsilon)
    a = np.maximum(np.asarray(actual, dtype=float), epsilon)
    return float(np.sum((a - e) * np.log(a / e)))


def ks_statistic(sorted_reference: np.ndarray, values: np.ndarray) -> float:
    """Two-sample Kolmogorov-Smirnov statistic D = max |F_ref(x) - F_values(x)|, NaN ignored; `sorted_reference`
    must be sorted and free of NaN (Baseline keeps it so). 0 when either sample is empty."""
    sample = np.sort(values[~np.isnan(values)])
    if sample.size == 0 or sorted_reference.size == 0:
        return 0.0
    points = np.concatenate([sorted_reference, sample])
    f_ref = np.searchsorted(sorted_reference, points, side="right") / sorted_reference.size
    f_sample = np.searchsorted(sample, points, side="right") / sample.size
    return float(np.max(np.abs(f_ref - f_sample)))


@dataclass(frozen=True)
class NumericBaseline:
    """What a numeric feature's window is compared with: the reference's bin edges and shares, its sorted values."""

    edges: np.ndarray
    expected: np.ndarray
    sorted_reference: np.ndarray

    @classmethod
    def of(cls, reference: np.ndarray, bins: int) -> NumericBaseline:
        edges = quantile_edges(reference, bins)
        return cls(edges, numeric_shares(reference, edges), np.sort(reference[~np.isnan(reference)]))

    def compare(self, values: np.ndarray) -> tuple[float, float]:
        """(PSI, KS) of `values` (float array) against the reference."""
        return psi(self.expected, numeric_shares(values, self.edges)), ks_statistic(self.sorted_reference, values)


@dataclass(frozen=True)
class CategoricalBaseline:
    """What a categorical feature's window is compared with: the reference's categories and their shares."""

    categories: tuple[str, ...]
    expected: np.ndarray

    @classmethod
    def of(cls, reference: np.ndarray) -> CategoricalBaseline:
        categories = tuple(np.unique(reference.astype(str)).tolist())
        return cls(categories, categorical_shares(reference, categories))

    def compare(self, values: np.ndarray) -> tuple[float, None]:
        """(PSI, None) of `values` (str array) against the reference; KS does not apply to categories."""
        return psi(self.expected, categorical_shares(values, self.categories)), None
