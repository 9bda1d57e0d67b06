"""How fast the monitoring reacts: production timing, and a fast variant for tests that must see alerts fire.

The fast variant divides every range window and every `for:` duration by `scale` and shortens the scrape,
evaluation and Alertmanager intervals. It never touches an expression's structure or a threshold, and the
recording-rule names keep their production window (`mlinfra:model_error_ratio:rate1h` is a 60 s window under
FAST), so alerts, dashboards and rule tests are the same files with shorter clocks.
"""

from __future__ import annotations

from dataclasses import dataclass


def format_duration(seconds: int) -> str:
    """Prometheus/Alertmanager duration in the largest whole unit: 86400 -> '1d', 90 -> '90s'."""
    if seconds <= 0:
        raise ValueError(f"a duration must be positive (got {seconds}s)")
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@dataclass(frozen=True, kw_only=True)
class AlertTiming:
    """Clocks of the monitoring pipeline; every value in seconds."""

    name: str
    scale: int  # production windows and `for:` durations are divided by this
    scrape_interval: int
    evaluation_interval: int
    group_wait: int  # Alertmanager: wait before the first notification of a new group
    group_interval: int  # Alertmanager: wait before notifying about changes in a group (incl. resolved)
    repeat_interval: int  # Alertmanager: re-send a still-firing alert

    @property
    def min_window(self) -> int:
        """A rate window needs at least four scrapes to hold two samples even when one scrape is missed."""
        return 4 * self.scrape_interval

    def window(self, production_seconds: int) -> str:
        """A range window (`[5m]`) under this timing."""
        return format_duration(max(production_seconds // self.scale, self.min_window))

    def hold(self, production_seconds: int) -> str:
        """An alert's `for:` under this timing (at least one evaluation interval)."""
        return format_duration(max(production_seconds // self.scale, self.evaluation_interval))

    def detection_bound(self, *, for_seconds: int, window_seconds: int) -> int:
        """Worst-case seconds from a fault to the first notification: the window fills, one scrape, one
        evaluation, `for:` (plus one evaluation to confirm) and group_wait. The e2e test asserts against this."""
        window = max(window_seconds // self.scale, self.min_window)
        hold = max(for_seconds // self.scale, self.evaluation_interval)
        return window + self.scrape_interval + 2 * self.evaluation_interval + hold + self.group_wait


PRODUCTION = AlertTiming(
    name="production",
    scale=1,
    scrape_interval=30,
    evaluation_interval=30,
    group_wait=30,
    group_interval=300,
    repeat_interval=4 * 3600,
)

# One production minute becomes one second: a 10-minute `for:` holds 10 s, the 1 h burn window spans 60 s.
FAST = AlertTiming(
    name="fast",
    scale=60,
    scrape_interval=1,
    evaluation_interval=1,
    group_wait=1,
    group_interval=2,
    repeat_interval=3600,
)

TIMINGS: dict[str, AlertTiming] = {t.name: t for t in (PRODUCTION, FAST)}
