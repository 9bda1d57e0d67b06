"""The sliding window of one model's sampled rows: a fixed-size ring per column kind, safe across threads.

Memory is bounded by construction: `capacity` rows of float64 for the numeric columns and of str references for the
categorical ones are allocated once; a new row overwrites the oldest.
"""

from __future__ import annotations

import threading

import numpy as np


class Window:
    """The last `capacity` rows of `numeric` float columns and `categorical` str columns."""

    def __init__(self, numeric: int, categorical: int, capacity: int):
        if capacity < 1:
            raise ValueError(f"a window holds at least one row (got capacity {capacity})")
        self.capacity = capacity
        self._numeric = np.full((capacity, numeric), np.nan)
        self._categorical = np.full((capacity, categorical), "", dtype=object)
        self._next = 0  # where the next row goes
        self._size = 0
        self._total = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return self._size

    @property
    def total(self) -> int:
        """Rows ever appended (the window holds the last `capacity` of them)."""
        return self._total

    def append(self, numeric: np.ndarray, categorical: np.ndarray) -> None:
        """Add rows: `numeric` of shape (n, numeric columns), `categorical` of shape (n, categorical columns)."""
        n = numeric.shape[0]
        if categorical.shape[0] != n or numeric.shape[1:] != self._numeric.shape[1:] \
                or categorical.shape[1:] != self._categorical.shape[1:]:
            raise ValueError(f"rows of shape {numeric.shape} and {categorical.shape} do not fit a window of "
                             f"{self._numeric.shape[1]} numeric and {self._categorical.shape[1]} categorical columns")
        if n == 0:
            return
        keep = min(n, self.capacity)  # a batch larger than the window: only its last rows stay
        numeric, categorical = numeric[n - keep:], categorical[n - keep:]
        with self._lock:
            slots = (self._next + np.arange(keep)) % self.capacity
            self._numeric[slots] = numeric
            self._categorical[slots] = categorical
            self._next = (self._next + keep) % self.capacity
            self._size = min(self._size + keep, self.capacity)
            self._total += n

    def snapshot(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the rows held, oldest first: (numeric, categorical)."""
        with self._lock:
            if self._size < self.capacity:
                return self._numeric[: self._size].copy(), self._categorical[: self._size].copy()
            order = np.roll(np.arange(self.capacity), -self._next)
            return self._numeric[order], self._categorical[order]
