"""Write a scaffold through the one safe writer (files.writer), with .mlinfra/init.json as its manifest.

A file is regenerated only when it is new, identical, or still exactly what mlinfra last wrote; a file someone
edited (or that mlinfra never wrote) is kept unless `force`. A file an earlier init wrote that this one no
longer generates (an environment dropped from the profile) is removed when unedited. The manifest has no
timestamps or absolute paths, so a rerun is byte-identical.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from mlinfra import __version__
from mlinfra.files.writer import Action, write
from mlinfra.scaffold.render import GeneratedFile

MANIFEST = ".mlinfra/init.json"


@dataclass(frozen=True)
class Step:
    """What happens to one file: the action and why."""

    path: str
    action: Action
    reason: str
    about: str = ""

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "action": self.action, "reason": self.reason, "about": self.about}


def write_scaffold(root: Path, files: Iterable[GeneratedFile], *, force: bool = False, dry_run: bool = False) -> list[Step]:
    """Write `files` under `root` (nothing when `dry_run`) and say per file what happened, or would.

    Raises files.writer.WriteError for what no flag allows (a directory where a file goes, a symlink on the way)."""
    files = list(files)
    about = {f.path: f.about for f in files}
    planned = write(root, [(f.path, f.content) for f in files], manifest=MANIFEST, generator="mlinfra init",
                    force=force, on_conflict="skip", dry_run=dry_run, meta={"mlinfra_version": __version__})
    return [Step(s.path, s.action, s.reason, about.get(s.path, "no longer generated")) for s in planned.steps]
