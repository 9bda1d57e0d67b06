"""files.writer: the one safe writer behind render, init and decide --adr (manifest, --force, stale files, dry run),
and the paths it refuses: `..`, absolute paths and symlinks on the way, generated or read from a manifest."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from pathlib import Path

import pytest

from mlinfra.files.writer import MANIFEST_FORMAT, WriteError, plan, read_manifest, write

REPO = Path(__file__).resolve().parents[2]
MANIFEST = ".mlinfra/test.json"
GEN = "mlinfra test"


def run(root: Path, files: dict[str, str], **kw):
    kw.setdefault("on_conflict", "skip")
    return write(root, [(p, t.encode()) for p, t in files.items()], manifest=MANIFEST, generator=GEN, **kw)


def actions(planned) -> dict[str, str]:
    return {s.path: s.action for s in planned.steps}


def manifest(root: Path) -> dict:
    return json.loads((root / MANIFEST).read_text())


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# --- manifest and determinism -----------------------------------------------------------------------------


def test_first_write_creates_files_and_a_manifest_of_path_sha256_bytes(tmp_path: Path):
    root = tmp_path / "out"
    planned = run(root, {"b.txt": "two\n", "sub/a.txt": "one\n"}, meta={"profile": "p1"})
    assert actions(planned) == {"b.txt": "create", "sub/a.txt": "create"}
    assert (root / "sub" / "a.txt").read_text() == "one\n"
    assert manifest(root) == {
        "format": MANIFEST_FORMAT,
        "generator": GEN,
        "profile": "p1",
        "files": [
            {"path": "b.txt", "sha256": hashlib.sha256(b"two\n").hexdigest(), "bytes": 4},
            {"path": "sub/a.txt", "sha256": hashlib.sha256(b"one\n").hexdigest(), "bytes": 4},
        ],
    }


def test_rerun_is_byte_identical_and_writes_nothing(tmp_path: Path):
    files = {"a.txt": "one\n", "d/b.txt": "two\n"}
    run(tmp_path, files, meta={"k": 1})
    before = tree(tmp_path)
    stamps = {p: (tmp_path / p).stat().st_mtime_ns for p in files}
    planned = run(tmp_path, files, meta={"k": 1})
    assert set(actions(planned).values()) == {"unchanged"}
    assert tree(tmp_path) == before
    assert {p: (tmp_path / p).stat().st_mtime_ns for p in files} == stamps, "unchanged files are not rewritten"


def test_manifest_has_no_timestamps_or_absolute_paths(tmp_path: Path):
    run(tmp_path, {"a.txt": "x\n"})
    text = (tmp_path / MANIFEST).read_text()
    assert str(tmp_path) not in text
    assert set(manifest(tmp_path)) == {"format", "generator", "files"}


def test_dry_run_plans_and_writes_nothing(tmp_path: Path):
    root = tmp_path / "new"
    planned = run(root, {"a.txt": "x\n"}, dry_run=True)
    assert actions(planned) == {"a.txt": "create"}
    assert not root.exists()


# --- one meaning of --force -------------------------------------------------------------------------------


def test_unedited_file_is_updated_without_force(tmp_path: Path):
    run(tmp_path, {"a.txt": "v1\n"})
    planned = run(tmp_path, {"a.txt": "v2\n"})
    assert [(s.action, s.reason) for s in planned.steps] == [("update", "generated earlier and not edited since")]
    assert (tmp_path / "a.txt").read_text() == "v2\n"


@pytest.mark.parametrize(
    ("written_before", "why"),
    [pytest.param(True, "edited since mlinfra test wrote it", id="edited"),
     pytest.param(False, "not written by mlinfra test", id="foreign")],
)
def test_edited_or_foreign_file_is_kept_refused_or_forced(tmp_path: Path, written_before: bool, why: str):
    if written_before:
        run(tmp_path, {"a.txt": "v1\n"})
    (tmp_path / "a.txt").write_text("mine\n")

    kept = run(tmp_path, {"a.txt": "v2\n"})
    assert [(s.action, s.reason) for s in kept.steps] == [("skip", f"{why}; kept (--force overwrites)")]
    assert (tmp_path / "a.txt").read_text() == "mine\n"

    with pytest.raises(WriteError) as refused:
        run(tmp_path, {"a.txt": "v2\n", "b.txt": "new\n"}, on_conflict="refuse")
    assert str(refused.value) == (
        f"refusing to overwrite {tmp_path / 'a.txt'}: {why}; move your edits elsewhere, or pass --force to overwrite it"
    )
    assert (tmp_path / "a.txt").read_text() == "mine\n" and not (tmp_path / "b.txt").exists(), "refused: nothing written"

    forced = run(tmp_path, {"a.txt": "v2\n"}, on_conflict="refuse", force=True)
    assert [(s.action, s.reason) for s in forced.steps] == [("overwrite", f"{why}; --force")]
    assert (tmp_path / "a.txt").read_text() == "v2\n"


def test_refusal_names_every_file(tmp_path: Path):
    run(tmp_path, {"a.txt": "v1\n", "b.txt": "v1\n"})
    (tmp_path / "a.txt").write_text("mine\n")
    (tmp_path / "b.txt").write_text("mine\n")
    (tmp_path / "c.txt").write_text("theirs\n")
    with pytest.raises(WriteError, match=r"refusing to overwrite 3 files in .*: a\.txt \(edited since mlinfra test "
                                         r"wrote it\), b\.txt \(edited .*\), c\.txt \(not written by mlinfra test\); "
                                         r".*pass --force to overwrite them"):
        run(tmp_path, {"a.txt": "v2\n", "b.txt": "v2\n", "c.txt": "v2\n"}, on_conflict="refuse")


def test_a_kept_file_stays_recorded_as_edited(tmp_path: Path):
    run(tmp_path, {"a.txt": "v1\n"})
    (tmp_path / "a.txt").write_text("mine\n")
    run(tmp_path, {"a.txt": "v2\n"})
    assert read_manifest(tmp_path, MANIFEST)["a.txt"].sha256 == hashlib.sha256(b"v1\n").hexdigest()
    (tmp_path / "a.txt").write_text("v1\n")  # edit undone: the file is mlinfra's again
    assert actions(run(tmp_path, {"a.txt": "v2\n"})) == {"a.txt": "update"}


def test_identical_foreign_file_is_unchanged_and_becomes_ours(tmp_path: Path):
    (tmp_path / "a.txt").write_text("same\n")
    assert actions(run(tmp_path, {"a.txt": "same\n"})) == {"a.txt": "unchanged"}
    assert [e["path"] for e in manifest(tmp_path)["files"]] == ["a.txt"]


def test_own_dir_refuses_a_foreign_non_empty_directory_unless_forced(tmp_path: Path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(WriteError) as refused:
        run(tmp_path, {"a.txt": "x\n"}, own_dir=True)
    assert str(refused.value) == (
        f"{tmp_path} is not empty and was not written by mlinfra test (no {MANIFEST}); "
        "choose a new or empty directory, or pass --force to write into it anyway"
    )
    assert tree(tmp_path) == {"notes.txt": b"mine"}
    run(tmp_path, {"a.txt": "x\n"}, own_dir=True, force=True)
    assert tree(tmp_path)["notes.txt"] == b"mine", "files mlinfra does not generate are never touched"
    run(tmp_path, {"a.txt": "y\n"}, own_dir=True)  # now it has a manifest: no --force needed


def test_unreadable_manifest_counts_as_none(tmp_path: Path):
    run(tmp_path, {"a.txt": "v1\n"})
    (tmp_path / MANIFEST).write_text("{not json")
    assert read_manifest(tmp_path, MANIFEST) is None
    assert actions(run(tmp_path, {"a.txt": "v2\n"})) == {"a.txt": "skip"}, "nothing counts as written by mlinfra"
    (tmp_path / MANIFEST).write_text('{"format": 0, "files": []}')
    with pytest.raises(WriteError, match=r"its \.mlinfra/test\.json is not a manifest mlinfra can read"):
        run(tmp_path, {"a.txt": "v2\n"}, own_dir=True)


# --- stale files ------------------------------------------------------------------------------------------


def test_stale_files_are_removed_when_unedited_and_kept_when_edited(tmp_path: Path):
    run(tmp_path, {"a.txt": "a\n", "old/b.txt": "b\n", "old/c.txt": "c\n", "gone.txt": "g\n"})
    (tmp_path / "old" / "c.txt").write_text("edited\n")
    (tmp_path / "gone.txt").unlink()
    planned = run(tmp_path, {"a.txt": "a\n"}, force=True)
    assert actions(planned) == {"a.txt": "unchanged", "old/b.txt": "remove", "old/c.txt": "keep"}
    assert sorted(tree(tmp_path)) == [MANIFEST, "a.txt", "old/c.txt"], "force never removes an edited file"
    assert [e["path"] for e in manifest(tmp_path)["files"]] == ["a.txt"], "a kept stale file is no longer ours"


def test_dry_run_removes_nothing(tmp_path: Path):
    run(tmp_path, {"a.txt": "a\n", "b.txt": "b\n"})
    assert actions(run(tmp_path, {"a.txt": "a\n"}, dry_run=True)) == {"a.txt": "unchanged", "b.txt": "remove"}
    assert (tmp_path / "b.txt").exists()


# --- paths that would leave the directory -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "why"),
    [
        pytest.param("../escape.txt", "it contains '..'", id="dotdot"),
        pytest.param("a/../../escape.txt", "it contains '..'", id="inner-dotdot"),
        pytest.param("/tmp/escape.txt", "it is absolute", id="absolute"),
        pytest.param("", "it is empty", id="empty"),
        pytest.param(".", "it is not in normal form", id="dot"),
        pytest.param("a//b.txt", "it is not in normal form", id="double-slash"),
        pytest.param("./a.txt", "it is not in normal form", id="dot-slash"),
        pytest.param("a/", "it is not in normal form", id="trailing-slash"),
        pytest.param("a\\..\\b.txt", "it contains a backslash or NUL", id="backslash"),
    ],
)
def test_generated_path_outside_the_directory_is_refused(tmp_path: Path, path: str, why: str):
    root = tmp_path / "out"
    with pytest.raises(WriteError, match=re.escape(f"'{path}' is not a path inside the output directory ({why}")):
        run(root, {path: "x\n"}, force=True)
    assert not root.exists() and not (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("listed", ["../outside.txt", "sub/../../outside.txt", "ABSOLUTE"])
def test_manifest_path_outside_the_directory_is_refused_not_removed(tmp_path: Path, listed: str):
    """A tampered manifest lists a file outside the directory with its true hash: as a stale file it would be
    removed. The writer refuses instead, and the file survives."""
    root = tmp_path / "out"
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n")
    listed = str(outside) if listed == "ABSOLUTE" else listed
    run(root, {"a.txt": "a\n"})
    data = manifest(root)
    data["files"].append({"path": listed, "sha256": hashlib.sha256(b"precious\n").hexdigest(), "bytes": 9})
    (root / MANIFEST).write_text(json.dumps(data))
    with pytest.raises(WriteError, match=r"test\.json: '.*outside\.txt' is not a path inside the output directory "
                                         r".*refusing to follow it; remove that entry or the manifest"):
        run(root, {"a.txt": "a\n"}, force=True)
    assert outside.read_text() == "precious\n"


def test_symlinked_directory_on_the_way_is_refused(tmp_path: Path):
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    (root / "sub").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(WriteError, match=r"out/sub is a symlink; mlinfra never writes through or replaces a symlink "
                                         r"\(for sub/a\.txt\)"):
        run(root, {"sub/a.txt": "x\n"}, force=True)
    assert list(elsewhere.iterdir()) == []


def test_symlinked_file_is_refused_even_with_force(tmp_path: Path):
    root, target = tmp_path / "out", tmp_path / "passwd"
    root.mkdir()
    target.write_text("root:x:0:0\n")
    (root / "a.txt").symlink_to(target)
    for force in (False, True):
        with pytest.raises(WriteError, match=r"out/a\.txt is a symlink"):
            run(root, {"a.txt": "x\n"}, force=force, on_conflict="refuse")
    assert target.read_text() == "root:x:0:0\n" and (root / "a.txt").is_symlink()


def test_stale_file_behind_a_symlink_is_refused_not_removed(tmp_path: Path):
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    run(root, {"a.txt": "a\n", "sub/old.txt": "old\n"})
    (root / "sub" / "old.txt").unlink()
    (root / "sub").rmdir()
    elsewhere.mkdir()
    (elsewhere / "old.txt").write_text("old\n")  # same bytes: unedited as far as the hash can tell
    (root / "sub").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(WriteError, match=r"out/sub is a symlink"):
        run(root, {"a.txt": "a\n"})
    assert (elsewhere / "old.txt").read_text() == "old\n"


@pytest.mark.parametrize("what", ["manifest", "manifest-dir"])
def test_symlinked_manifest_is_refused(tmp_path: Path, what: str):
    root, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    root.mkdir()
    elsewhere.mkdir()
    if what == "manifest":
        (root / ".mlinfra").mkdir()
        (elsewhere / "test.json").write_text("{}")
        (root / MANIFEST).symlink_to(elsewhere / "test.json")
    else:
        (root / ".mlinfra").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(WriteError, match="is a symlink"):
        run(root, {"a.txt": "x\n"}, force=True)
    assert [p.name for p in elsewhere.iterdir()] == (["test.json"] if what == "manifest" else [])
    assert not (root / "a.txt").exists()


def test_symlinked_root_is_the_users_choice(tmp_path: Path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    run(tmp_path / "link", {"a.txt": "x\n"})
    assert (real / "a.txt").read_text() == "x\n"


# --- what cannot be written -------------------------------------------------------------------------------


def test_a_directory_where_a_file_goes(tmp_path: Path):
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(WriteError, match=r"a\.txt is a directory; mlinfra test needs to write a file there"):
        run(tmp_path, {"a.txt": "x\n"}, force=True)


def test_a_file_where_a_directory_goes(tmp_path: Path):
    (tmp_path / "sub").write_text("a file\n")
    with pytest.raises(WriteError, match=r"sub is a file; mlinfra test needs a directory there \(for sub/b\.txt\)"):
        run(tmp_path, {"sub/b.txt": "x\n"}, force=True)


def test_output_path_is_a_file(tmp_path: Path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(WriteError, match=r"out exists and is not a directory"):
        run(tmp_path / "out", {"a.txt": "x\n"})


@pytest.mark.parametrize(
    ("files", "message"),
    [
        pytest.param([("a.txt", b"1"), ("a.txt", b"2")], "two generated files share the path 'a.txt'", id="duplicate"),
        pytest.param([("a", b"1"), ("a/b", b"2")], "'a' is generated both as a file and as a directory", id="file-and-dir"),
        pytest.param([(MANIFEST, b"{}")], "is where the manifest goes", id="manifest-path"),
        pytest.param([(".mlinfra", b"{}")], "'.mlinfra' is generated both as a file and as a directory", id="manifest-dir"),
    ],
)
def test_generated_files_must_fit_together(tmp_path: Path, files, message):
    with pytest.raises(WriteError, match=message):
        plan(tmp_path, files, manifest=MANIFEST, generator=GEN)


def test_os_errors_become_write_errors(tmp_path: Path, monkeypatch):
    with pytest.raises(WriteError, match=r"cannot read .*: File name too long"):
        run(tmp_path, {"a" * 300: "x\n"})

    real_open = os.open

    def full_disk(path, flags, *args, **kw):
        if flags & os.O_WRONLY:
            raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr("mlinfra.files.writer.os.open", full_disk)
    with pytest.raises(WriteError, match=r"cannot write into .*: No space left on device \(.*a\.txt\)"):
        run(tmp_path, {"a.txt": "x\n"})


def test_a_failure_while_writing_changes_nothing(tmp_path: Path, monkeypatch):
    """A full disk at the third file of a render over an earlier one: the earlier files, the stale one and the
    manifest are all as they were (no mix of two runs), and no staging directory is left behind."""
    run(tmp_path, {"a.txt": "dev a\n", "b/c.txt": "dev c\n", "old.txt": "dev only\n"})
    before = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    real_open, opened = os.open, []

    def third_write_fails(path, flags, *args, **kw):
        if flags & os.O_WRONLY:
            opened.append(path)
            if len(opened) == 3:
                raise OSError(28, "No space left on device", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr("mlinfra.files.writer.os.open", third_write_fails)
    with pytest.raises(WriteError, match=r"No space left on device .*; nothing in .* was changed"):
        run(tmp_path, {"a.txt": "prod a\n", "b/c.txt": "prod c\n", "d.txt": "prod d\n"})
    after = {p.relative_to(tmp_path).as_posix(): p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before
    assert not (tmp_path / ".mlinfra-staging").exists()


def test_a_second_writer_waits_for_the_lock_then_fails_naming_the_directory(tmp_path: Path, monkeypatch):
    import fcntl

    import mlinfra.files.writer as writer

    monkeypatch.setattr(writer, "LOCK_WAIT_SECONDS", 0.3)
    holder = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(WriteError, match=r"another command is writing into .*; wait until it has finished"):
            run(tmp_path, {"a.txt": "x\n"})
        assert not (tmp_path / "a.txt").exists()
    finally:
        os.close(holder)
    run(tmp_path, {"a.txt": "x\n"})  # free again
    assert (tmp_path / "a.txt").read_text() == "x\n"


def test_a_staging_directory_left_by_a_crash_is_cleared(tmp_path: Path):
    run(tmp_path, {"a.txt": "x\n"})
    (tmp_path / ".mlinfra-staging").mkdir()
    (tmp_path / ".mlinfra-staging" / "0").write_text("half\n")
    run(tmp_path, {"a.txt": "y\n"})
    assert (tmp_path / "a.txt").read_text() == "y\n" and not (tmp_path / ".mlinfra-staging").exists()


# --- the bottom layer -------------------------------------------------------------------------------------


def test_files_package_imports_no_other_mlinfra_module():
    offenders = []
    for path in sorted((REPO / "files").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if isinstance(node, ast.ImportFrom) and node.level:
                continue  # relative: inside files/
            offenders += [f"{path.name}: {n}" for n in names
                          if n.startswith("mlinfra") and not n.startswith("mlinfra.files")]
    assert offenders == []
