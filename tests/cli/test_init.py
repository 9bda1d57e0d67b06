"""`mlinfra init`: scaffolds a repository, is byte-identical on rerun, keeps edited files unless --force,
--dry-run writes nothing, and reports bad input without a traceback."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "stacks" / "profile.yaml"
ENV = {"NO_COLOR": "1", "COLUMNS": "160"}
FILES = [
    "profile.yaml",
    "Pulumi.yaml",
    "__main__.py",
    "requirements.txt",
    "stacks/Pulumi.dev.yaml",
    "stacks/Pulumi.staging.yaml",
    "stacks/Pulumi.prod.yaml",
    "policypack/PulumiPolicy.yaml",
    "policypack/__main__.py",
    ".github/workflows/preview.yml",
    ".github/workflows/deploy.yml",
    "docs/decisions/0001-target.md",
    "README.md",
    ".gitignore",
]


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, ["init", *args], catch_exceptions=False)


def tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()
    }


def actions(result) -> dict[str, str]:
    assert result.exit_code == 0, result.output
    return {f["path"]: f["action"] for f in json.loads(result.output)["files"]}


def test_scaffolds_a_repository(tmp_path: Path):
    out = tmp_path / "infra"
    result = run(str(PROFILE), "--dir", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(tree(out)) == sorted([*FILES, ".mlinfra/init.json"])
    assert f"{len(FILES)} create (manifest .mlinfra/init.json)" in result.output
    assert f"Next: read {out / 'README.md'}" in result.output
    assert (out / "profile.yaml").read_bytes() == PROFILE.read_bytes()
    manifest = json.loads((out / ".mlinfra" / "init.json").read_text())
    assert [f["path"] for f in manifest["files"]] == sorted(FILES)
    assert all(f["sha256"] == tree(out)[f["path"]] for f in manifest["files"])


def test_rerun_is_byte_identical_and_reports_unchanged(tmp_path: Path):
    run(str(PROFILE), "--dir", str(tmp_path))
    before = tree(tmp_path)
    again = run(str(PROFILE), "--dir", str(tmp_path), "--format", "json")
    assert set(actions(again).values()) == {"unchanged"}
    assert tree(tmp_path) == before


def test_edited_file_is_kept_unless_force(tmp_path: Path):
    run(str(PROFILE), "--dir", str(tmp_path))
    readme = tmp_path / "README.md"
    readme.write_text("# our own README\n")
    result = run(str(PROFILE), "--dir", str(tmp_path))
    assert result.exit_code == 0
    assert "1 file(s) were kept because they were edited; --force overwrites them." in result.output
    assert readme.read_text() == "# our own README\n"
    forced = run(str(PROFILE), "--dir", str(tmp_path), "--force", "--format", "json")
    assert actions(forced)["README.md"] == "overwrite"
    assert readme.read_text().startswith("# churn-scoring - ML serving infrastructure\n")


def test_profile_change_updates_generated_files_and_adds_a_stack(tmp_path: Path):
    run(str(PROFILE), "--dir", str(tmp_path))
    data = yaml.safe_load(PROFILE.read_text())
    data["environments"]["qa"] = {}
    changed = tmp_path / "profile.yaml"  # the team edits its copy and re-runs init on it
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    got = actions(run(str(changed), "--dir", str(tmp_path), "--format", "json"))
    assert got["stacks/Pulumi.qa.yaml"] == "create"
    assert got["profile.yaml"] == "unchanged", "the profile is its own source"
    assert got["stacks/Pulumi.dev.yaml"] == "unchanged"
    assert got[".github/workflows/preview.yml"] == "update" and got["README.md"] == "update"
    assert '- "qa"\n' in (tmp_path / ".github" / "workflows" / "preview.yml").read_text()


def test_dropped_environment_removes_its_unedited_stack_file(tmp_path: Path):
    run(str(PROFILE), "--dir", str(tmp_path))
    data = yaml.safe_load(PROFILE.read_text())
    del data["environments"]["staging"]
    changed = tmp_path / "profile.yaml"
    changed.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run(str(changed), "--dir", str(tmp_path), "--format", "json")
    assert actions(result)["stacks/Pulumi.staging.yaml"] == "remove"
    assert json.loads(result.output)["counts"]["remove"] == 1
    assert not (tmp_path / "stacks" / "Pulumi.staging.yaml").exists()
    listed = [f["path"] for f in json.loads((tmp_path / ".mlinfra" / "init.json").read_text())["files"]]
    assert "stacks/Pulumi.staging.yaml" not in listed and "stacks/Pulumi.prod.yaml" in listed


def test_dry_run_lists_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "new"
    result = run(str(PROFILE), "--dir", str(out), "--dry-run", "--format", "json")
    data = json.loads(result.output)
    assert data["dry_run"] is True and data["counts"]["create"] == len(FILES)
    assert [f["path"] for f in data["files"]] == FILES
    assert not out.exists()


def test_dry_run_shows_what_would_be_skipped_and_overwritten(tmp_path: Path):
    run(str(PROFILE), "--dir", str(tmp_path))
    (tmp_path / "requirements.txt").write_text("mlinfra\n")
    (tmp_path / "Pulumi.yaml").unlink()
    before = tree(tmp_path)
    table = run(str(PROFILE), "--dir", str(tmp_path), "--dry-run")
    assert table.exit_code == 0
    line = next(ln for ln in table.output.splitlines() if "requirements.txt" in ln)
    assert "skip" in line and "edited since mlinfra init wrote it" in line
    assert "1 file(s) would be kept because they were edited" in table.output
    assert "(nothing written)" in table.output
    forced = actions(run(str(PROFILE), "--dir", str(tmp_path), "--dry-run", "--force", "--format", "json"))
    assert (forced["requirements.txt"], forced["Pulumi.yaml"]) == ("overwrite", "create")
    assert tree(tmp_path) == before


@pytest.mark.parametrize(
    ("make_args", "code", "message"),
    [
        pytest.param(
            lambda tmp: [str(tmp / "missing.yaml"), "--dir", str(tmp / "out")],
            1,
            "missing.yaml: 1 problem",
            id="missing-profile",
        ),
        pytest.param(
            lambda tmp: [str(PROFILE), "--dir", str(tmp / "a-file")],
            2,
            "is a file",
            id="dir-is-a-file",
        ),
        pytest.param(lambda tmp: [str(PROFILE)], 2, "Missing option '--dir'", id="no-dir"),
        pytest.param(
            lambda tmp: [str(PROFILE), "--dir", str(tmp / "blocked")],
            1,
            "README.md is a directory; mlinfra init needs to write a file there",
            id="directory-in-the-way",
        ),
    ],
)
def test_errors(make_args, code, message, tmp_path: Path):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "blocked" / "README.md").mkdir(parents=True)
    result = run(*make_args(tmp_path))
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_invalid_profile_lists_problems_and_writes_nothing(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROFILE.read_text().replace("framework: sklearn", "framework: scikit"))
    result = run(str(bad), "--dir", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "models[0].framework: input should be" in result.output
    assert not (tmp_path / "out").exists()
