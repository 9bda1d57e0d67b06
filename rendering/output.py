"""Write rendered files into a directory safely: never into a directory render did not create, never over an
edited file, and with DIR/render.json recording what was written (path, size, sha256) so the next run can tell.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from mlinfra.files.dump import to_json
from mlinfra.files.rendered import RenderedFile

MANIFEST = "render.json"
MANIFEST_FORMAT = 1


class RenderRefused(Exception):
    """The output directory is not render's to write; the message says why and how to proceed."""


class RenderedFiles(list):
    """A target's rendered files plus `notes` for render.json (e.g. who owns the cluster's monitoring stack).

    A plain list of RenderedFile (what plugin targets return) is rendered the same way, without notes."""

    def __init__(self, files: Iterable[RenderedFile] = (), *, notes: dict[str, Any] | None = None):
        super().__init__(files)
        self.notes: dict[str, Any] = dict(notes or {})


@dataclass(frozen=True)
class WrittenFile:
    path: str
    bytes: int
    sha256: str
    status: str  # created | updated | unchanged

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "sha256": self.sha256, "status": self.status}


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_render(out: Path, files: list[RenderedFile], meta: dict[str, Any], *, force: bool = False) -> list[WrittenFile]:
    """Write `files` under `out` plus render.json (`meta`, the files' notes and the file list). Returns what
    happened per file.

    Refused without `force`: `out` exists, is not empty and has no render.json (not render's directory), or
    a file render wrote last time was edited since (its sha256 differs from the previous render.json).
    Files the previous render wrote that this render no longer produces are removed (unless edited).
    """
    _check_paths(files)
    previous = _previous(out)
    if out.exists() and not out.is_dir():
        raise RenderRefused(f"--out {out}: exists and is not a directory")
    if previous is None and out.exists() and any(out.iterdir()) and not force:
        raise RenderRefused(
            f"--out {out}: directory is not empty and was not written by mlinfra render (no {MANIFEST}); "
            "choose a new or empty directory, or pass --force to write into it anyway"
        )
    if previous and not force:
        edited = [p for p, digest in sorted(previous.items()) if (out / p).is_file() and sha256(_read(out / p)) != digest]
        if edited:
            raise RenderRefused(
                f"--out {out}: file(s) changed since the last render: {', '.join(edited)}; "
                "move your edits elsewhere or pass --force to overwrite them"
            )
    written = []
    for f in files:
        target = out / f.path
        old = _read(target) if target.is_file() else None
        status = "created" if old is None else ("unchanged" if old == f.text else "updated")
        if status != "unchanged":
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8", newline="\n")
        written.append(WrittenFile(f.path, len(f.text.encode()), sha256(f.text), status))
    for stale in sorted(set(previous or {}) - {f.path for f in files}):
        (out / stale).unlink(missing_ok=True)
    notes = getattr(files, "notes", {})
    manifest = {**notes, **meta, "format": MANIFEST_FORMAT, "files": [{k: v for k, v in w.to_dict().items() if k != "status"} for w in written]}
    (out / MANIFEST).write_text(to_json(manifest), encoding="utf-8", newline="\n")
    return written


def _previous(out: Path) -> dict[str, str] | None:
    """path -> sha256 from an earlier render.json, or None when there is none (or it is not ours)."""
    path = out / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(_read(path))
        return {entry["path"]: entry["sha256"] for entry in data["files"]}
    except (ValueError, KeyError, TypeError):
        raise RenderRefused(f"--out {out}: {MANIFEST} is not a render manifest; remove it or choose another directory") from None


def _check_paths(files: list[RenderedFile]) -> None:
    seen: set[str] = set()
    for f in files:
        p = PurePosixPath(f.path)
        if p.is_absolute() or ".." in p.parts or f.path == MANIFEST:
            raise ValueError(f"rendered path '{f.path}' must be relative, inside the output directory, not {MANIFEST}")
        if f.path in seen:
            raise ValueError(f"two rendered files share the path '{f.path}'")
        seen.add(f.path)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
