"""PSI and KS against hand-computed values and known distributions (identical, shifted mean, new category)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mlinfra.drift.config import DEFAULT_BINS, DEFAULT_MIN_SAMPLES
from mlinfra.drift.stats import (
    EPSILON,
    CategoricalBaseline,
    NumericBaseline,
    categorical_shares,
    ks_statistic,
    numeric_shares,
    psi,
    quantile_edges,
)


def test_psi_by_hand():
    # (0.3 - 0.5) ln(0.3 / 0.5) + (0.7 - 0.5) ln(0.7 / 0.5) = 0.102165 + 0.067294
    assert psi([0.5, 0.5], [0.3, 0.7]) == pytest.approx(0.2 * math.log(5 / 3) + 0.2 * math.log(7 / 5))
    assert psi([0.5, 0.5], [0.3, 0.7]) == pytest.approx(0.1694596, abs=1e-7)
    assert psi([0.2, 0.3, 0.5], [0.2, 0.3, 0.5]) == 0.0
    assert psi([0.25] * 4, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(psi([0.1, 0.2, 0.3, 0.4], [0.25] * 4))  # symmetric


def test_an_empty_bin_counts_as_epsilon():
    # expected [1, 0], actual [0.9, 0.1]: (0.9 - 1) ln 0.9 + (0.1 - 1e-4) ln(0.1 / 1e-4)
    expected = -0.1 * math.log(0.9) + (0.1 - EPSILON) * math.log(0.1 / EPSILON)
    assert psi([1.0, 0.0], [0.9, 0.1]) == pytest.approx(expected)
    assert math.isfinite(psi([1.0, 0.0], [0.0, 1.0]))


def test_quantile_edges_are_deduplicated():
    assert quantile_edges(np.arange(1.0, 11.0), 2).tolist() == [5.0]  # (-inf, 5] and (5, inf): 5 values each
    assert quantile_edges(np.arange(1.0, 11.0), 4).tolist() == [3.0, 5.0, 8.0]
    assert quantile_edges(np.array([1.0, 1.0, 1.0, 2.0]), 4).tolist() == [1.0]  # values of the reference only
    assert quantile_edges(np.full(50, 3.0), 10).tolist() == [3.0]  # one distinct value: it and above it
    assert quantile_edges(np.array([np.nan]), 10).size == 0
    assert quantile_edges(np.array([np.nan, 1.0, 2.0, 3.0, 4.0]), 2).tolist() == [2.0]  # NaN ignored


def test_numeric_bins_are_right_closed_open_ended_with_a_missing_bin():
    edges = np.array([1.0, 2.0])
    values = np.array([-100.0, 1.0, 1.5, 2.0, 2.5, 1e9, np.nan, np.nan])
    # (-inf, 1]: -100, 1 | (1, 2]: 1.5, 2 | (2, inf): 2.5, 1e9 | NaN: 2
    assert numeric_shares(values, edges).tolist() == [0.25, 0.25, 0.25, 0.25]


def test_categorical_shares_pool_unseen_categories():
    shares = categorical_shares(np.array(["a", "b", "x", "y", "a"]), ("a", "b", "c"))
    assert shares.tolist() == [0.4, 0.2, 0.0, 0.4]


def test_ks_by_hand():
    # F_ref jumps at 1,2,3,4; F_sample at 3,4,5,6: at x in [2, 3) they differ by 0.5
    assert ks_statistic(np.array([1.0, 2.0, 3.0, 4.0]), np.array([3.0, 4.0, 5.0, 6.0])) == 0.5
    assert ks_statistic(np.array([1.0, 2.0]), np.array([5.0, 6.0, np.nan])) == 1.0  # disjoint; NaN ignored
    assert ks_statistic(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.0])) == 0.0
    assert ks_statistic(np.array([1.0, 2.0]), np.array([np.nan])) == 0.0  # nothing to compare


@pytest.fixture(scope="module")
def normal():
    return NumericBaseline.of(np.random.default_rng(7).normal(0, 1, 20_000), 10)


def test_identical_distribution_is_near_zero(normal):
    psi_value, ks = normal.compare(np.random.default_rng(8).normal(0, 1, 2000))
    assert psi_value < 0.02 and ks < 0.05
    assert normal.expected.tolist() == pytest.approx([0.1] * 10 + [0.0], abs=1e-3)  # ten equal shares, none missing


@pytest.mark.parametrize(("shift", "low", "high"), [(0.5, 0.2, 0.32), (1.0, 0.8, 1.2)])
def test_shifted_mean_is_large(normal, shift, low, high):
    """For two unit normals d apart PSI (symmetric KL) is d^2 in the limit; ten bins see a little less."""
    psi_value, ks = normal.compare(np.random.default_rng(9).normal(shift, 1, 2000))
    assert low < psi_value < high
    # KS of two unit normals d apart: 2 * Phi(d / 2) - 1
    assert ks == pytest.approx(math.erf(shift / 2 / math.sqrt(2)), abs=0.04)


def test_new_category_is_large_and_matches_hand_computation():
    baseline = CategoricalBaseline.of(np.array(["a"] * 50 + ["b"] * 30 + ["c"] * 20))
    assert baseline.categories == ("a", "b", "c")
    assert baseline.compare(np.array(["a"] * 5 + ["b"] * 3 + ["c"] * 2)) == (0.0, None)
    # 10 % of a new category: (0.45-0.5)ln0.9 + (0.27-0.3)ln0.9 + (0.18-0.2)ln0.9 + (0.1-1e-4)ln(0.1/1e-4)
    psi_value, _ = baseline.compare(np.array(["a"] * 45 + ["b"] * 27 + ["c"] * 18 + ["d"] * 10))
    assert psi_value == pytest.approx(-0.1 * math.log(0.9) + (0.1 - EPSILON) * math.log(1000))
    assert psi_value > 0.25


def test_reference_with_few_values_keeps_point_masses_apart():
    baseline = NumericBaseline.of(np.array([0.0] * 60 + [1.0] * 30 + [2.0] * 10), 10)
    assert baseline.edges.tolist() == [0.0, 1.0]
    assert baseline.expected.tolist() == pytest.approx([0.6, 0.3, 0.1, 0.0])
    assert baseline.compare(np.array([0.0] * 6 + [1.0] * 3 + [2.0]))[0] == pytest.approx(0.0)


def test_the_default_min_samples_keeps_chance_below_the_warning_for_twenty_features():
    """An unchanged distribution's PSI is ~(bins - 1) / rows by chance; the alert reads the largest of all features.
    At the default min_samples the largest of 20 stays below the usual 0.1 warning; at 200 rows it would not."""
    rng = np.random.default_rng(5)
    baseline = NumericBaseline.of(rng.normal(0, 1, 20_000), DEFAULT_BINS)

    def largest_of_20(rows: int) -> np.ndarray:
        return np.array([max(baseline.compare(rng.normal(0, 1, rows))[0] for _ in range(20)) for _ in range(50)])

    at_default = largest_of_20(DEFAULT_MIN_SAMPLES)
    assert at_default.max() < 0.1 and at_default.mean() == pytest.approx(0.04, abs=0.01)
    assert (largest_of_20(200) > 0.1).mean() > 0.2
