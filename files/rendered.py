"""The value type every generator returns: a relative path and its exact text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedFile:
    """One file `mlinfra render` writes: a relative path and its exact text."""

    path: str
    text: str
