"""Write rendered files into a directory through the one safe writer (files.writer), with DIR/render.json as its
manifest: never into a non-empty directory render did not write, never over an edited file, without --force.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.files.rendered import RenderedFile, RenderedFiles
from mlinfra.files.writer import write

MANIFEST = "render.json"
_STATUS = {"create": "created", "update": "updated", "overwrite": "updated", "unchanged": "unchanged"}


@dataclass(frozen=True)
class WrittenFile:
    path: str
    bytes: int
    sha256: str
    status: str  # created | updated | unchanged

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256, "status": self.status}


def write_render(out: Path, files: list[RenderedFile], meta: dict[str, Any], *, force: bool = False) -> list[WrittenFile]:
    """Write `files` under `out` plus render.json (`meta`, the files' notes, format, generator and the file list).
    Returns what happened per file.

    Refused (files.writer.WriteError) without `force`: `out` is not empty and has no render.json (not render's
    directory), or a file would replace one edited since render wrote it, or one render never wrote. Files the
    previous render wrote that this render no longer produces are removed unless edited.
    """
    notes = getattr(files, "notes", {})
    planned = write(out, [(f.path, f.text.encode("utf-8")) for f in files], manifest=MANIFEST,
                    generator="mlinfra render", force=force, on_conflict="refuse", own_dir=True,
                    meta={**notes, **meta})
    entries = {e.path: e for e in planned.entries}
    return [WrittenFile(s.path, entries[s.path].bytes, entries[s.path].sha256, _STATUS[s.action])
            for s in planned.steps if s.action in _STATUS]
