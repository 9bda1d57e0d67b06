"""Hostile and careless inputs, kept as fixtures (tests/fixtures/hostile/): every command ends in a clear exit 1
or 2 naming what is wrong, writes nothing outside its target directory and no partial output, and never shows a
traceback (CliRunner with catch_exceptions=False: an unexpected exception fails the test)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
HOSTILE = Path(__file__).resolve().parents[1] / "fixtures" / "hostile"
BAD_PROFILES = sorted(p for p in HOSTILE.glob("*.yaml") if p.name != "workflow-values.yaml")  # that one is valid

# fixture -> what the report must name (the field, or the file-level problem)
NAMES = {
    "allowed-cidrs-everything": "security.allowed_cidrs[0]: 0.0.0.0/0 and ::/0 allow every address",
    "artifact-flag": "models[0].artifact: artifact must start with s3://, pvc://, oci:// or https:// followed by a letter",
    "bool-cpu": "models[0].resources.cpu: input should be a valid number (got true)",
    "bool-version": "version: must be the number 1 (found a boolean)",
    "control-char-key": "contains a control character (U+0007)",
    "env-hex": "environments[0]: input should be a valid string (got 16)",
    "env-null": "environments[0]: input should be a valid string (got null)",
    "gpu-type": "models[0].resources.gpu_type: must be a GPU model in lower case",
    "huge-int": "a number with 5000 digits; numbers in a profile have at most 30",
    "image-newline": "models[0].image: contains a control character (U+000A)",
    "image-spaces": "models[0].image: must be an image reference",
    "inf-traffic": "models[0].traffic.average_rps: input should be a finite number (got .inf)",
    "ingress-class": "onprem.ingress_class: must be a Kubernetes object name",
    "kube-context-newline": "onprem.kube_context: contains a control character (U+000A)",
    "merge-key-unknown": "models[0].traffic.burst_rps: unknown field",
    "model-name-digit": "models[0].name: must be lower-case letters, digits and '-', starting with a letter",
    "namespace-ingress-controller": "name 'edge' and environment 'proxy' make the serving namespace 'edge-proxy', which "
    "belongs to the cluster or one of its add-ons",
    "namespace-kube-system": "name 'kube' and environment 'system' make the serving namespace 'kube-system'",
    "nan-availability": "models[0].slo.availability: input should be a finite number (got .nan)",
    "replicas-huge": "environments.prod.max_replicas: input should be less than or equal to 1000",
    "slack-url-as-channel": "monitoring.notify[0].channel: must be a channel name such as #ml-alerts",
    "storage-class": "onprem.storage_class: must be a Kubernetes object name",
    "template-email": "monitoring.notify[0].to: contains template syntax",
    "traffic-huge": "models[0].traffic.average_rps: input should be less than or equal to 1000000",
}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_every_fixture_is_named():
    assert sorted(p.stem for p in BAD_PROFILES) == sorted(NAMES)


@pytest.mark.parametrize("profile", BAD_PROFILES, ids=[p.stem for p in BAD_PROFILES])
@pytest.mark.parametrize("command", ["validate", "decide", "decide-json", "render", "init", "adr"])
def test_a_hostile_profile_is_refused_by_every_command(profile: Path, command: str, tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    out = work / "out"
    args = {
        "validate": ["validate", str(profile)],
        "decide": ["decide", str(profile)],
        "decide-json": ["decide", str(profile), "--format", "json"],
        "render": ["render", str(profile), "--env", "prod", "--out", str(out), "--target", "onprem-k8s"],
        "init": ["init", str(profile), "--dir", str(out)],
        "adr": ["decide", str(profile), "--adr", str(out)],
    }[command]
    before = _snapshot(tmp_path)
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert NAMES[profile.stem] in result.output
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert not out.exists(), "no partial output"
    assert _snapshot(tmp_path) == before, "nothing written anywhere"


def _write_alias_bomb(path: Path) -> None:
    lines = ["version: 1", "name: bomb", "a0: &a0 [" + ", ".join(["x" * 60] * 10) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    path.write_text("\n".join(lines) + "\n")


def _write_long_aliases(path: Path) -> None:
    path.write_text("version: 1\nname: &n " + "x" * 200_000 + "\nmodels: [" + ", ".join(["*n"] * 1000) + "]\n")


def _write_many_keys(path: Path) -> None:
    path.write_text("version: 1\n" + "".join(f"k{i}: 1\n" for i in range(60_000)))


def _write_oversized(path: Path) -> None:
    path.write_text("version: 1\n" + "# padding\n" * 120_000)


@pytest.mark.parametrize("writer, message", [
    pytest.param(_write_alias_bomb, "expands to more than 100,000 values", id="alias-bomb"),
    pytest.param(_write_long_aliases, "name: string should have at most 40 characters", id="one-long-string-aliased"),
    pytest.param(_write_many_keys, "a mapping of 60,001 keys", id="many-unknown-keys"),
    pytest.param(_write_oversized, "is larger than 1024 KiB", id="oversized"),
])
def test_big_inputs_end_quickly_with_a_short_report(writer, message, tmp_path: Path):
    import time

    profile = tmp_path / "big.yaml"
    writer(profile)
    started = time.monotonic()
    result = run("validate", str(profile))
    assert result.exit_code == 1 and message in result.output, result.output[:500]
    assert time.monotonic() - started < 10
    assert len(result.output) < 20_000, "the report is capped, values cut before formatting"


@pytest.mark.parametrize("make, code, message", [
    pytest.param(lambda p: p.mkdir(), 2, "is a directory", id="directory"),  # click's usage error
    pytest.param(lambda p: p.write_bytes(b"version: 1\nname: \xff\xfe\n"), 1, "not UTF-8 text", id="not-utf8"),
    pytest.param(lambda p: os.mkfifo(p), 1, "is not a regular file", id="fifo"),
])
def test_odd_profile_files_are_named(make, code, message, tmp_path: Path):
    profile = tmp_path / "profile.yaml"
    make(profile)
    result = run("validate", str(profile))
    assert result.exit_code == code and message in result.output, result.output


def test_a_device_is_not_read_forever():
    result = run("validate", "/dev/zero")
    assert result.exit_code == 1 and "is not a regular file" in result.output


def test_decide_json_is_valid_json_for_every_valid_fixture():
    result = run("decide", str(HOSTILE / "workflow-values.yaml"), "--format", "json")
    assert result.exit_code == 0
    json.loads(result.output)  # no NaN or Infinity: numbers are finite by the profile's rules


# --- the output directory ------------------------------------------------------------------------------------

GOOD = str(HOSTILE / "workflow-values.yaml")


def _render(out: Path, *extra: str):
    return run("render", GOOD, "--env", "1e3", "--out", str(out), "--target", "onprem-k8s", *extra)


@pytest.mark.parametrize("entry", ["../victim.txt", "/tmp/victim.txt", "a/../../victim.txt"])
def test_a_manifest_entry_outside_the_directory_is_never_removed(entry: str, tmp_path: Path):
    out = tmp_path / "out"
    assert _render(out).exit_code == 0
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n")
    manifest = json.loads((out / "render.json").read_text())
    manifest["files"].append({"path": entry.replace("/tmp/victim.txt", str(victim)), "sha256": "0" * 64, "bytes": 5})
    (out / "render.json").write_text(json.dumps(manifest))
    for force in ((), ("--force",)):
        result = _render(out, *force)
        assert result.exit_code == 1 and "is not a path inside the output directory" in result.output
        assert victim.read_text() == "mine\n"


@pytest.mark.parametrize("link", ["kubernetes", "kubernetes/00-namespace.yaml", "render.json"])
def test_symlinks_in_the_output_directory_are_refused_even_with_force(link: str, tmp_path: Path):
    out = tmp_path / "out"
    assert _render(out).exit_code == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = out / link
    kept = elsewhere / target.name
    if target.is_dir():
        os.rename(target, kept)
    else:
        kept.write_bytes(target.read_bytes())
        target.unlink()
    target.symlink_to(kept)
    before = _snapshot(elsewhere)
    result = _render(out, "--force")
    assert result.exit_code == 1 and "is a symlink; mlinfra never writes through or replaces a symlink" in result.output
    assert _snapshot(elsewhere) == before


def test_an_unreadable_file_in_the_output_directory_is_named(tmp_path: Path):
    out = tmp_path / "out"
    assert _render(out).exit_code == 0
    (out / "prometheus" / "rules.yaml").unlink()
    (out / "prometheus" / "rules.yaml").mkdir()
    result = _render(out, "--force")
    assert result.exit_code == 1 and "rules.yaml is a directory" in result.output


@pytest.mark.parametrize("command", ["init", "adr"])
def test_init_and_the_adr_writer_refuse_symlinks_too(command: str, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / (".github" if command == "init" else ".mlinfra")).symlink_to(elsewhere)
    args = ["init", GOOD, "--dir", str(out), "--force"] if command == "init" else ["decide", GOOD, "--adr", str(out), "--force"]
    result = run(*args)
    assert result.exit_code == 1 and "is a symlink" in result.output
    assert list(elsewhere.iterdir()) == []
