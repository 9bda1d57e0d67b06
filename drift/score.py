"""The one normalisation from a drift statistic to the 0..1 score the alert rules compare: `1 - exp(-PSI)`.

Population stability index is unbounded (0 = same distribution; 0.1 is the usual "watch", 0.25 the usual "act"),
so the exported `mlinfra_model_drift_score` maps it monotonically onto 0..1: PSI 0.1 -> 0.095, 0.25 -> 0.221,
1 -> 0.632. Thresholds may therefore be stated in PSI (the profile) and compared as scores (the rules):
`psi_to_score(threshold)` is the score threshold, `score_to_psi(score)` the way back. A Kolmogorov-Smirnov
statistic D is already 0..1 and is exported as it is (`mlinfra_model_drift_ks`), not through this function.
"""

from __future__ import annotations

import math


def psi_to_score(psi: float) -> float:
    """The 0..1 drift score of a PSI value (>= 0): `1 - exp(-psi)`; strictly increasing, 0 -> 0, inf -> 1."""
    if math.isnan(psi) or psi < 0:
        raise ValueError(f"a population stability index is >= 0 (got {psi})")
    return -math.expm1(-psi)  # = 1 - exp(-psi), exact for small psi


def score_to_psi(score: float) -> float:
    """The PSI a 0..1 drift score stands for (inverse of psi_to_score); a score of 1 is an infinite PSI."""
    if math.isnan(score) or not 0 <= score <= 1:
        raise ValueError(f"a drift score is between 0 and 1 (got {score})")
    return math.inf if score == 1 else -math.log1p(-score)
