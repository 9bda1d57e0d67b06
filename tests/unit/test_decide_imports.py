"""`decide` imports what the decision runs and nothing only render, drill or --adr need (bench/decide.py: the
whole process within twice a bare interpreter with its libraries); what it leaves out is named with
targets.base.deferred, and every such name resolves."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlinfra.targets.base import deferred

REPO = Path(__file__).resolve().parents[2]
# Render, drill and decision-record code: the builders of manifests, monitoring objects and dashboards, the
# guardrails, the scaffold, the writer and jinja2
RENDER_ONLY = (
    "mlinfra.manifests", "mlinfra.guardrails", "mlinfra.scaffold", "mlinfra.files.writer", "mlinfra.files.dump",
    "mlinfra.decision.adr", "mlinfra.monitoring.drill", "mlinfra.monitoring.dashboards", "mlinfra.monitoring.objects",
    "mlinfra.targets.kubernetes.outputs", "mlinfra.targets.kubernetes.render", "mlinfra.targets.kubernetes.guard",
    "mlinfra.targets.aws_sagemaker.render", "mlinfra.targets.aws_sagemaker.dashboards", "mlinfra.targets.aws.drill",
    "mlinfra.targets.aws_eks.platform", "mlinfra.targets.aws_eks.nodegroups", "jinja2",
)


def _loaded_after(args: list[str]) -> list[str]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys
            from click.testing import CliRunner
            from mlinfra.cli.main import cli
            result = CliRunner().invoke(cli, {args!r}, catch_exceptions=False)
            assert result.exit_code == 0, result.output
            print("LOADED", sorted(m for m in sys.modules if m.startswith({RENDER_ONLY!r})))
        """)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={"NO_COLOR": "1", "COLUMNS": "120", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("LOADED "))
    return ast.literal_eval(line.removeprefix("LOADED "))


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["decide", "stacks/profile.yaml", "--format", "json"], id="json"),
        pytest.param(["decide", "stacks/profile.yaml"], id="table"),
        pytest.param(["decide", "docs/examples/gpu-onprem.yaml", "--format", "json", "--env", "prod"], id="onprem-env"),
    ],
)
def test_decide_imports_no_render_code(args):
    assert _loaded_after(args) == []


def test_the_probe_sees_render_code(tmp_path):
    """The probe above can fail: render loads the builders decide leaves out."""
    loaded = _loaded_after(["render", "stacks/profile.yaml", "--env", "prod", "--target", "aws-eks", "--out", str(tmp_path)])
    assert {"mlinfra.manifests.serving", "mlinfra.targets.kubernetes.outputs", "mlinfra.targets.aws_eks.platform"} <= set(loaded)


def _references() -> list[str]:
    """The string of every `deferred("...")` call in mlinfra's own code."""
    found = []
    for path in sorted(REPO.rglob("*.py")):
        if {".venv", ".tools", "tests", "out", ".git"} & set(path.relative_to(REPO).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "deferred"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.append(node.args[0].value)
    return found


def test_every_deferred_reference_resolves():
    refs = _references()
    assert len(refs) >= 7  # the built-in targets' render, drill and EKS platform, decide --adr
    for ref in refs:
        module, _, name = ref.partition(":")
        __import__(module)
        assert callable(getattr(sys.modules[module], name)), ref


def test_deferred_calls_the_named_function_and_rejects_a_malformed_name():
    dumps = deferred("json:dumps")
    assert dumps({"b": 1, "a": 2}, sort_keys=True) == '{"a": 2, "b": 1}'
    assert dumps.__name__ == "dumps"
    with pytest.raises(ValueError, match="package.module:function"):
        deferred("json.dumps")


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["validate", "stacks/profile.yaml"], id="command"),
        pytest.param(["--version"], id="no-command"),
        pytest.param(["nonsense"], id="usage-error"),
    ],
)
def test_main_collects_garbage_again_once_the_command_is_imported(args):
    """main() keeps the collector off only while the command's modules load (their objects are then frozen)."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(f"""
            import gc, sys
            from mlinfra.cli.main import main
            try:
                main({args!r})
            except SystemExit:
                pass
            print("GC", gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)
        """)],
        cwd=REPO, capture_output=True, text=True, timeout=120, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"},
    )
    assert "GC True True" in proc.stderr, proc.stderr[-2000:]
