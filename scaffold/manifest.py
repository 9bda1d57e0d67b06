"""Write a scaffold safely: a manifest of what `mlinfra init` wrote (sha256 per file) protects edited files.

A file is regenerated only when it is new, identical, or still exactly what mlinfra last wrote; a file someone
edited (or that mlinfra never wrote) is kept unless `force`. The manifest has no timestamps or absolute paths,
so a rerun is byte-identical.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlinfra import __version__
from mlinfra.scaffold.render import GeneratedFile

MANIFEST = ".mlinfra/init.json"

Action = Literal["create", "update", "unchanged", "skip", "overwrite"]
WRITES: frozenset[str] = frozenset({"create", "update", "overwrite"})


class ScaffoldError(Exception):
    """The target directory cannot hold the scaffold (a path is a directory, not writable, ...)."""


@dataclass(frozen=True)
class Step:
    """What happens to one file: the action and why."""

    path: str
    action: Action
    reason: str
    about: str = ""

    @property
    def writes(self) -> bool:
        return self.action in WRITES

    def to_dict(self) -> dict[str, str]:
        return {"path": self.path, "action": self.action, "reason": self.reason, "about": self.about}


def digest(content: bytes) -> str:
    return "sha256:" + hashlib.sha256(content).hexdigest()


def read_manifest(root: Path) -> dict[str, str]:
    """path -> digest of what mlinfra last wrote; empty when there is no (readable) manifest."""
    path = root / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        return {}  # unreadable: every existing file counts as edited, which is the safe side
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict):
        return {}
    return {str(k): str(v) for k, v in files.items()}


def plan(root: Path, files: Iterable[GeneratedFile], *, force: bool = False) -> list[Step]:
    """Decide, for every generated file, whether it is created, updated, left unchanged, skipped or overwritten."""
    known = read_manifest(root)
    steps: list[Step] = []
    for f in files:
        target = root / f.path
        if target.is_dir():
            raise ScaffoldError(f"{target} is a directory; mlinfra init needs to write a file there")
        if not target.exists():
            steps.append(Step(f.path, "create", "new file", f.about))
            continue
        current = target.read_bytes()
        if current == f.content:
            steps.append(Step(f.path, "unchanged", "already up to date", f.about))
        elif known.get(f.path) == digest(current):
            steps.append(Step(f.path, "update", "generated earlier and not edited since", f.about))
        else:
            why = "edited since mlinfra init wrote it" if f.path in known else "not written by mlinfra init"
            if force:
                steps.append(Step(f.path, "overwrite", f"{why}; --force", f.about))
            else:
                steps.append(Step(f.path, "skip", f"{why}; kept (--force overwrites)", f.about))
    return steps


def apply(root: Path, files: Iterable[GeneratedFile], steps: list[Step]) -> None:
    """Write the files the plan says to write, then the manifest."""
    by_path = {f.path: f for f in files}
    known = read_manifest(root)
    manifest: dict[str, str] = {}
    try:
        for step in steps:
            f = by_path[step.path]
            if step.writes:
                target = root / f.path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(f.content)
            if step.action == "skip":
                if step.path in known:
                    manifest[step.path] = known[step.path]  # still ours in origin; still edited
            else:
                manifest[step.path] = digest(f.content)
        out = root / MANIFEST
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(manifest_text(manifest), encoding="utf-8")
    except OSError as exc:
        raise ScaffoldError(f"cannot write into {root}: {exc.strerror or exc} ({exc.filename or root})") from None


def manifest_text(files: dict[str, str]) -> str:
    data = {"generator": "mlinfra init", "mlinfra_version": __version__, "files": dict(sorted(files.items()))}
    return json.dumps(data, indent=2, sort_keys=True) + "\n"
