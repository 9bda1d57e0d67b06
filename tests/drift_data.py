"""A drift monitor spec with distinct numbers, for builder tests (unit fixtures and the rule tests)."""

from __future__ import annotations

from typing import Any

from mlinfra.planning.specs import DriftSpec


def drift_spec(**overrides: Any) -> DriftSpec:
    """A drift monitor with distinct numbers (warn 0.12, page 0.31, window 1500, min_samples 150)."""
    values: dict[str, Any] = dict(
        image="registry.example.com/ml/mlinfra:0.1.0", reference="s3://ml-data/churn/reference.parquet",
        reference_kind="s3", reference_suffix=".parquet", features=("tenure", "plan", "monthly_fee"),
        prediction_column="score", categorical=("plan",), sample_rate=0.2, window=1500, min_samples=150, bins=12,
        interval_seconds=20.0, warn_psi=0.12, page_psi=0.31,
    )
    values.update(overrides)
    return DriftSpec(**values)
