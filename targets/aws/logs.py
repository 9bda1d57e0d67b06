"""CloudWatch Logs retention: the environment's retention, rounded up to a value CloudWatch accepts."""

from __future__ import annotations

# RetentionInDays accepts only these values
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def log_retention_days(days: int) -> int:
    """The smallest accepted retention of at least `days` (at most ten years)."""
    return next((d for d in RETENTION_DAYS if d >= days), RETENTION_DAYS[-1])
