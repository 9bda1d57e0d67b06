"""The one safe writer behind `mlinfra render`, `mlinfra init` and `mlinfra decide --adr`.

- A manifest in the directory (JSON, sorted keys, no timestamps) lists what mlinfra wrote: path, sha256, bytes.
  The next run compares a file with it to tell "still what mlinfra wrote" from "edited since".
- `force` means one thing everywhere: overwrite a file edited since mlinfra wrote it, or one mlinfra never wrote.
  Without it such a file is refused (the whole write stops) or kept, as the caller chooses; the message names
  the file and says --force.
- Files the previous run wrote and this one no longer produces are removed when unedited, kept when edited.
- Every path, generated or read from a manifest, stays inside the directory: relative, no `..`, and no symlink
  on the way (refused, never followed or replaced).
- Deterministic: the same files give the same bytes, and unchanged files are not rewritten.
- All or nothing: every new file is first written into a staging directory inside the directory, and only when
  all of them are there do they replace the old ones (renames), the stale ones go and the manifest follows; a
  failure while writing leaves the directory as it was. One writer at a time: a second command writing into the
  same directory waits for the first (an exclusive lock on the directory), then fails naming it.

The bottom layer: it imports no mlinfra module outside files/.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from mlinfra.files.dump import to_json

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock
    fcntl = None  # type: ignore[assignment]

MANIFEST_FORMAT = 1

Action = Literal["create", "update", "unchanged", "overwrite", "skip", "remove", "keep"]
WRITES: frozenset[str] = frozenset({"create", "update", "overwrite"})
OnConflict = Literal["refuse", "skip"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
STAGING = ".mlinfra-staging"  # inside the directory (same filesystem: renames out of it are atomic)
LOCK_WAIT_SECONDS = 10.0


class WriteError(Exception):
    """The writer refused or failed; the message says which file, what is wrong and how to proceed."""


class _NotADirectory(WriteError):
    """A file sits where a path needs a directory."""


@dataclass(frozen=True)
class Entry:
    """One file of a manifest: what mlinfra wrote there."""

    path: str
    sha256: str
    bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.bytes}


@dataclass(frozen=True)
class Step:
    """What happens to one file, and why."""

    path: str
    action: Action
    reason: str

    @property
    def writes(self) -> bool:
        return self.action in WRITES


@dataclass(frozen=True)
class Plan:
    """What `apply` will do: the steps (generated files in order, then stale ones by path) and the new manifest."""

    root: Path
    manifest: str
    generator: str
    steps: tuple[Step, ...]
    entries: tuple[Entry, ...]  # the manifest after apply, by path
    contents: Mapping[str, bytes] = field(repr=False, compare=False)


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write(
    root: str | Path,
    files: Iterable[tuple[str, bytes]],
    *,
    manifest: str,
    generator: str,
    force: bool = False,
    on_conflict: OnConflict = "refuse",
    own_dir: bool = False,
    dry_run: bool = False,
    meta: Mapping[str, Any] | None = None,
) -> Plan:
    """Plan, then (unless `dry_run`) apply: the one call every command makes. See `plan` and `apply`. Both run
    under the directory's lock, so two commands writing into one directory never interleave."""
    files = list(files)
    if dry_run:
        return plan(root, files, manifest=manifest, generator=generator, force=force, on_conflict=on_conflict,
                    own_dir=own_dir)
    with _locked(Path(root), generator):
        planned = plan(root, files, manifest=manifest, generator=generator, force=force, on_conflict=on_conflict,
                       own_dir=own_dir)
        apply(planned, meta=meta)
    return planned


@contextlib.contextmanager
def _locked(root: Path, generator: str) -> Iterator[None]:
    """An exclusive lock on the directory itself (created when missing; a symlinked root is the user's choice)."""
    created = not os.path.lexists(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError as exc:
        if root.exists() and not root.is_dir():
            raise WriteError(f"{root} exists and is not a directory") from None
        raise WriteError(f"cannot use {root} as the output directory: {exc.strerror or exc}") from None
    try:
        if fcntl is not None:
            deadline = time.monotonic() + LOCK_WAIT_SECONDS
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise WriteError(
                            f"another command is writing into {root} (it holds the directory's lock for more than "
                            f"{LOCK_WAIT_SECONDS:g} s); wait until it has finished, then run {generator} again"
                        ) from None
                    time.sleep(0.1)
        yield
    except BaseException:
        if created:  # a refused or failed first write leaves no empty directory behind
            with contextlib.suppress(OSError):
                root.rmdir()
        raise
    finally:
        os.close(fd)  # releases the lock


def plan(
    root: str | Path,
    files: Iterable[tuple[str, bytes]],
    *,
    manifest: str,
    generator: str,
    force: bool = False,
    on_conflict: OnConflict = "refuse",
    own_dir: bool = False,
) -> Plan:
    """Decide per file: create, update (unedited since mlinfra wrote it), unchanged, overwrite (edited or foreign,
    with `force`), skip (edited or foreign, kept); for a file the previous run wrote and this one does not:
    remove (unedited) or keep (edited; `force` does not change that). Reads, never writes.

    `files` are (relative path, exact bytes) pairs; `manifest` is the manifest's path relative to `root`;
    `generator` ("mlinfra render") names mlinfra in messages. `on_conflict="refuse"` raises WriteError naming
    every edited or foreign file instead of keeping it; `own_dir` also refuses a non-empty directory without a
    manifest. `force` lifts both. Unsafe paths are refused whatever `force` says.
    """
    root = Path(root)
    try:
        return _plan(root, _clean(manifest), files, generator, force, on_conflict, own_dir)
    except OSError as exc:
        raise WriteError(f"cannot read {root}: {exc.strerror or exc} ({exc.filename or root})") from None


def _plan(root: Path, manifest: str, files: Iterable[tuple[str, bytes]], generator: str, force: bool,
          on_conflict: OnConflict, own_dir: bool) -> Plan:
    contents = _generated(files, manifest)
    if root.exists() and not root.is_dir():
        raise WriteError(f"{root} exists and is not a directory")
    previous = read_manifest(root, manifest)  # also refuses a manifest that is, or sits under, a symlink
    if own_dir and previous is None and not force and root.is_dir() and any(root.iterdir()):
        raise WriteError(_foreign_dir(root, manifest, generator))
    known = {p: e for p, e in (previous or {}).items() if p != manifest}

    steps: list[Step] = []
    entries: dict[str, Entry] = {}
    conflicts: list[tuple[str, str]] = []  # (path, why)
    for path, content in contents.items():
        current = _read_file(root, path, generator)
        edited = f"edited since {generator} wrote it" if path in known else f"not written by {generator}"
        if current is None:
            step = Step(path, "create", "new file")
        elif current == content:
            step = Step(path, "unchanged", "already up to date")
        elif path in known and sha256(current) == known[path].sha256:
            step = Step(path, "update", "generated earlier and not edited since")
        elif force:
            step = Step(path, "overwrite", f"{edited}; --force")
        else:
            step = Step(path, "skip", f"{edited}; kept (--force overwrites)")
            conflicts.append((path, edited))
        steps.append(step)
        if step.action != "skip":
            entries[path] = Entry(path, sha256(content), len(content))
        elif path in known:
            entries[path] = known[path]  # still ours in origin, still edited: the next run says so too
    if conflicts and on_conflict == "refuse":
        raise WriteError(_refusal(root, conflicts))

    for path in sorted(set(known) - set(contents)):
        current = _read_file(root, path, generator, stale=True)
        if current is None:
            continue  # gone already (or no longer a file): nothing of ours left there
        if sha256(current) == known[path].sha256:
            steps.append(Step(path, "remove", f"no longer generated; not edited since {generator} wrote it"))
        else:
            steps.append(Step(path, "keep", f"no longer generated, but edited since {generator} wrote it: left for you"))
    return Plan(root, manifest, generator, tuple(steps), tuple(sorted(entries.values(), key=lambda e: e.path)),
                contents)


def apply(planned: Plan, *, meta: Mapping[str, Any] | None = None) -> None:
    """Carry out a plan: remove stale files, write what changes, then the manifest (`meta` + format, generator,
    files). Every directory on the way is checked again right before use, so a symlink put there since `plan`
    is still refused."""
    root = planned.root
    staging = root / STAGING
    try:
        root.mkdir(parents=True, exist_ok=True)
        _clear_staging(staging)
        staging.mkdir()
        # 1. every new file (and the manifest) into the staging directory: a failure here changes nothing
        staged: list[tuple[str, Path]] = []
        writes = [(s.path, planned.contents[s.path]) for s in planned.steps if s.writes]
        writes.append((planned.manifest, manifest_text(planned, meta).encode()))
        for number, (path, content) in enumerate(writes):
            try:
                _write_file(staging, str(number), content, planned.generator)
            except OSError as exc:
                raise WriteError(f"cannot write into {root}: {exc.strerror or exc} ({root / path}); nothing in "
                                 f"{root} was changed") from None
            staged.append((path, staging / str(number)))
        # 2. the directories they go to, checked again (a symlink put there since `plan` is still refused)
        targets = [(_target(root, path, planned.generator), source) for path, source in staged]
        # 3. stale files go, then each new file replaces its old one, the manifest last
        for step in planned.steps:
            if step.action == "remove":
                parent = _parent_dir(root, step.path, planned.generator, create=False)
                if parent is not None:
                    _unlink_file(parent / PurePosixPath(step.path).name)
        for target, source in targets:
            os.replace(source, target)
    except OSError as exc:
        where = exc.filename or root
        raise WriteError(f"cannot write into {root}: {exc.strerror or exc} ({where})") from None
    finally:
        try:
            _clear_staging(staging)
        except OSError:
            pass


def _target(root: Path, path: str, generator: str) -> Path:
    """Where `path` goes: its directory created and checked, and no symlink or directory in the file's place."""
    target = _parent_dir(root, path, generator, create=True) / PurePosixPath(path).name
    try:
        st = target.lstat()
    except FileNotFoundError:
        return target
    if stat.S_ISLNK(st.st_mode):
        raise WriteError(_symlink(target, path))
    if stat.S_ISDIR(st.st_mode):
        raise WriteError(f"{target} is a directory; {generator} needs to write a file there")
    return target


def _clear_staging(staging: Path) -> None:
    """Remove what a crashed run left in the staging directory (never through a symlink)."""
    try:
        st = staging.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        staging.unlink()
        return
    shutil.rmtree(staging)


def manifest_text(planned: Plan, meta: Mapping[str, Any] | None = None) -> str:
    data = {**(meta or {}), "format": MANIFEST_FORMAT, "generator": planned.generator,
            "files": [e.to_dict() for e in planned.entries]}
    return to_json(data)


def read_manifest(root: str | Path, manifest: str) -> dict[str, Entry] | None:
    """path -> Entry from the manifest at root/manifest; None when there is none or it cannot be read (then
    nothing counts as written by mlinfra, the safe side). A listed path outside the directory is refused."""
    root = Path(root)
    text = _read_file(root, _clean(manifest), "mlinfra")
    if text is None:
        return None
    try:
        data = json.loads(text.decode("utf-8"))
        files = data["files"]
        if data.get("format") != MANIFEST_FORMAT or not isinstance(files, list):
            return None
        entries = [Entry(str(f["path"]), str(f["sha256"]), int(f["bytes"])) for f in files]
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    for e in entries:
        _clean(e.path, source=str(root / manifest))
    return {e.path: e for e in entries}


# --- paths ------------------------------------------------------------------------------------------------


def _clean(path: str, *, source: str = "") -> str:
    """`path` if it is a plain relative POSIX path inside the directory, else WriteError saying why."""
    p = PurePosixPath(path)
    if not path:
        why = "it is empty"
    elif "\\" in path or "\0" in path:
        why = "it contains a backslash or NUL"
    elif p.is_absolute():
        why = "it is absolute"
    elif ".." in p.parts:
        why = "it contains '..'"
    elif not p.parts or str(p) != path:
        why = "it is not in normal form ('.', '//' or a trailing '/')"
    else:
        return path
    where = f"{source}: " if source else ""
    fix = "; remove that entry or the manifest" if source else ""
    raise WriteError(f"{where}'{path}' is not a path inside the output directory ({why}); refusing to follow it{fix}")


def _generated(files: Iterable[tuple[str, bytes]], manifest: str) -> dict[str, bytes]:
    contents: dict[str, bytes] = {}
    for path, content in files:
        _clean(path)
        if path == manifest:
            raise WriteError(f"'{path}' is where the manifest goes; a generated file cannot take its place")
        if path in contents:
            raise WriteError(f"two generated files share the path '{path}'")
        contents[path] = content
    dirs = {str(parent) for path in [*contents, manifest] for parent in PurePosixPath(path).parents}
    clash = sorted(set(contents) & dirs)
    if clash:
        raise WriteError(f"'{clash[0]}' is generated both as a file and as a directory of other files")
    return contents


def _read_file(root: Path, path: str, generator: str, *, stale: bool = False) -> bytes | None:
    """The bytes at root/path, None when missing; a symlink on the way or there is refused, never followed.

    Something else where a file goes is an error; for a stale path (the previous run's) it just means that
    nothing of ours is left there (None)."""
    try:
        parent = _parent_dir(root, path, generator, create=False)
    except _NotADirectory:
        if stale:
            return None
        raise
    if parent is None:
        return None
    target = parent / PurePosixPath(path).name
    try:
        st = target.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise WriteError(_symlink(target, path))
    if not stat.S_ISREG(st.st_mode):
        if stale:
            return None
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
        raise WriteError(f"{target} is {kind}; {generator} needs to write a file there")
    with os.fdopen(os.open(target, os.O_RDONLY | _NOFOLLOW), "rb") as fh:
        return fh.read()


def _parent_dir(root: Path, path: str, generator: str, *, create: bool) -> Path | None:
    """The directory that holds root/path, checked one level at a time: a symlink on the way is refused, a file
    on the way is an error. Missing levels are created when `create`, else the answer is None."""
    current = root
    if create:
        current.mkdir(parents=True, exist_ok=True)
    for part in PurePosixPath(path).parts[:-1]:
        current = current / part
        try:
            st = current.lstat()
        except FileNotFoundError:
            if not create:
                return None
            current.mkdir()
            continue
        if stat.S_ISLNK(st.st_mode):
            raise WriteError(_symlink(current, path))
        if not stat.S_ISDIR(st.st_mode):
            raise _NotADirectory(f"{current} is a file; {generator} needs a directory there (for {path})")
    return current


def _write_file(root: Path, path: str, content: bytes, generator: str) -> None:
    target = _parent_dir(root, path, generator, create=True) / PurePosixPath(path).name
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o666)
    except OSError as exc:
        if target.is_symlink():
            raise WriteError(_symlink(target, path)) from None
        raise
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)


def _unlink_file(target: Path) -> None:
    try:
        st = target.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISREG(st.st_mode):  # unlink never follows a symlink, but only regular files are ours to remove
        target.unlink()


# --- messages ---------------------------------------------------------------------------------------------


def _symlink(where: Path, path: str) -> str:
    return (f"{where} is a symlink; mlinfra never writes through or replaces a symlink (for {path}): "
            "replace it with a real directory or file, or choose another output directory")


def _foreign_dir(root: Path, manifest: str, generator: str) -> str:
    why = f"its {manifest} is not a manifest mlinfra can read" if (root / manifest).exists() else f"no {manifest}"
    return (f"{root} is not empty and was not written by {generator} ({why}); "
            "choose a new or empty directory, or pass --force to write into it anyway")


def _refusal(root: Path, conflicts: list[tuple[str, str]]) -> str:
    if len(conflicts) == 1:
        path, why = conflicts[0]
        return f"refusing to overwrite {root / path}: {why}; move your edits elsewhere, or pass --force to overwrite it"
    listed = ", ".join(f"{path} ({why})" for path, why in conflicts)
    return (f"refusing to overwrite {len(conflicts)} files in {root}: {listed}; "
            "move your edits elsewhere, or pass --force to overwrite them")
