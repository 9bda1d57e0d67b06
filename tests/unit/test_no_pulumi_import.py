"""Pure core, thin Pulumi shell: validate/decide never load Pulumi, and only the shell imports it."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The only places allowed to import pulumi, pulumi_aws, pulumi_kubernetes, ... (house style): the components, the
# stack assembly and Pulumi program entry points - the stack's __main__.py and a policy pack's (a directory with
# PulumiPolicy.yaml is a separate Pulumi program run by the engine, never imported by the CLI).
ALLOWED = ("components/", "program.py", "__main__.py")
SKIP_DIRS = {"tests", ".venv", ".tools", ".git", "node_modules", "build", "dist", "__pycache__", ".hypothesis", ".pytest_cache"}


def _run(code: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"NO_COLOR": "1", "COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["validate", "stacks/profile.yaml"], id="validate"),
        pytest.param(["decide", "stacks/profile.yaml"], id="decide-table"),
        pytest.param(["decide", "stacks/profile.yaml", "--format", "json", "--env", "prod"], id="decide-json"),
        pytest.param(["decide", "docs/examples/gpu-onprem.yaml"], id="decide-onprem"),
    ],
)
def test_commands_never_load_pulumi(repo_root, args):
    result = _run(
        f"""
        import sys
        import mlinfra.cli.commands.validate, mlinfra.cli.commands.decide
        from click.testing import CliRunner
        from mlinfra.cli.main import cli
        result = CliRunner().invoke(cli, {args!r}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        loaded = sorted(m for m in sys.modules if m == "pulumi" or m.startswith(("pulumi.", "pulumi_")))
        print("PULUMI:", loaded)
        """,
        repo_root,
    )
    assert result.returncode == 0, result.stderr
    assert "PULUMI: []" in result.stdout, result.stdout[-2000:]


def test_probe_detects_pulumi(repo_root):
    """The probe above can fail: importing a component module does load pulumi."""
    result = _run(
        """
        import sys
        import pulumi
        print("PULUMI:", sorted(m for m in sys.modules if m == "pulumi" or m.startswith(("pulumi.", "pulumi_")))[:1])
        """,
        repo_root,
    )
    assert "PULUMI: ['pulumi']" in result.stdout, result.stderr


def _pulumi_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"{n} (line {node.lineno})" for n in names if n == "pulumi" or n.startswith(("pulumi.", "pulumi_"))]
    return found


def _python_files(root: Path):
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if any(part in SKIP_DIRS or part.endswith(".egg-info") for part in rel.parts[:-1]):
            continue
        yield rel, path


def test_only_the_pulumi_shell_imports_pulumi(repo_root):
    offenders = []
    scanned = 0
    for rel, path in _python_files(repo_root):
        scanned += 1
        if rel.as_posix().startswith(ALLOWED[0]) or rel.as_posix() in ALLOWED[1:]:
            continue
        if rel.name == "__main__.py" and (path.parent / "PulumiPolicy.yaml").is_file():
            continue
        offenders += [f"{rel.as_posix()}: {imp}" for imp in _pulumi_imports(path)]
    assert scanned > 20, f"the scan found only {scanned} files under {repo_root}"
    assert offenders == [], "pulumi imported outside components/, program.py and __main__.py:\n" + "\n".join(offenders)


def test_scan_detects_an_import(tmp_path):
    sample = tmp_path / "decision.py"
    sample.write_text("import os\nfrom pulumi_aws import s3\ndef f():\n    import pulumi\n", encoding="utf-8")
    assert _pulumi_imports(sample) == ["pulumi_aws (line 2)", "pulumi (line 4)"]


def test_decide_json_stays_lean(repo_root):
    """Speed guard (bench/README.md): machine output needs neither rich nor jinja2."""
    result = _run(
        """
        import sys
        from click.testing import CliRunner
        from mlinfra.cli.main import cli
        result = CliRunner().invoke(cli, ["decide", "stacks/profile.yaml", "--format", "json"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        print("HEAVY:", [m for m in ("rich", "jinja2") if m in sys.modules])
        """,
        repo_root,
    )
    assert "HEAVY: []" in result.stdout, result.stderr
