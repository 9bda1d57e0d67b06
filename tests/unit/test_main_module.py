"""The root __main__.py: `python -m mlinfra` runs the CLI (without pulumi); Pulumi's language host, which runs the
project directory with runpy.run_path(<dir>, run_name="__main__"), runs mlinfra.program.main."""

from __future__ import annotations

import runpy
import subprocess
import sys
import types

import pytest

ENV = {"NO_COLOR": "1", "COLUMNS": "120", "PATH": "/usr/bin:/bin"}


def test_python_m_mlinfra_runs_the_cli(tmp_path):
    result = subprocess.run([sys.executable, "-m", "mlinfra", "--help"], cwd=tmp_path, env=ENV,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: mlinfra [OPTIONS] COMMAND [ARGS]...")
    assert "decide" in result.stdout and result.stderr == ""


def test_python_m_mlinfra_never_loads_pulumi(tmp_path):
    code = (
        "import runpy, sys\n"
        "sys.argv = ['mlinfra', '--help']  # help imports every command's module\n"
        "try:\n"
        "    runpy.run_module('mlinfra', run_name='__main__', alter_sys=True)\n"
        "except SystemExit as exc:\n"
        "    print('EXIT', exc.code)\n"
        "print('PULUMI', sorted(m for m in sys.modules if m.split('.')[0].startswith('pulumi')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                            timeout=120)
    assert "EXIT 0" in result.stdout and "PULUMI []" in result.stdout, result.stdout + result.stderr


def test_pulumi_language_host_runs_the_program(repo_root, monkeypatch):
    """As pulumi-language-python-exec does: runpy.run_path(<project dir>, run_name='__main__')."""
    called = []
    program = types.ModuleType("mlinfra.program")
    program.main = lambda: called.append("program")
    cli = types.ModuleType("mlinfra.cli.main")
    cli.main = lambda: called.append("cli")
    monkeypatch.setitem(sys.modules, "mlinfra.program", program)
    monkeypatch.setitem(sys.modules, "mlinfra.cli.main", cli)
    runpy.run_path(str(repo_root), run_name="__main__")
    assert called == ["program"]


@pytest.mark.parametrize(
    ("package", "entry"),
    [
        pytest.param("mlinfra", "cli", id="python-m-mlinfra"),
        pytest.param("", "program", id="pulumi-run-path-dir"),
        pytest.param(None, "program", id="run-as-file"),
    ],
)
def test_entry_point_choice(repo_root, package, entry):
    module = runpy.run_path(str(repo_root / "__main__.py"), run_name="not_main")  # defines, runs nothing
    assert module["entry_point"](package) == entry
