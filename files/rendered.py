"""The value type every generator returns: a relative path and its exact text."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RenderedFile:
    """One file `mlinfra render` writes: a relative path and its exact text."""

    path: str
    text: str


class RenderedFiles(list):
    """A target's rendered files plus `notes` for render.json (e.g. who owns the cluster's monitoring stack).

    A plain list of RenderedFile (what plugin targets return) is rendered the same way, without notes."""

    def __init__(self, files: Iterable[RenderedFile] = (), *, notes: dict[str, Any] | None = None):
        super().__init__(files)
        self.notes: dict[str, Any] = dict(notes or {})
