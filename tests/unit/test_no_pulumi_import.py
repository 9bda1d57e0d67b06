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
        pytest.param(["render", "docs/examples/gpu-onprem.yaml", "--env", "prod", "--out", "{tmp}"], id="render-onprem"),
    ],
)
def test_commands_never_load_pulumi(repo_root, args, tmp_path):
    args = [a.format(tmp=tmp_path / "out") for a in args]
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


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["decide", "stacks/profile.yaml", "--format", "json"], id="decide"),
        pytest.param(["render", "stacks/profile.yaml", "--env", "dev", "--target", "onprem-k8s", "--format", "json",
                      "--force", "--out"], id="render"),
    ],
)
def test_machine_output_stays_lean(repo_root, tmp_path, args):
    """Speed guard (bench/README.md): machine output needs neither rich nor jinja2, and never Pulumi."""
    args = [*args, str(tmp_path / "out")] if args[-1] == "--out" else args
    result = _run(
        f"""
        import sys
        from click.testing import CliRunner
        from mlinfra.cli.main import cli
        result = CliRunner().invoke(cli, {args!r}, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        print("HEAVY:", [m for m in ("rich", "jinja2", "pulumi", "pulumi_aws", "pulumi_kubernetes") if m in sys.modules])
        """,
        repo_root,
    )
    assert "HEAVY: []" in result.stdout, result.stderr


# Public SDK API only: private names of pulumi* modules change between 3.x minors (a set became a deque, then a
# set again, and `mlinfra preview` broke). Underscore names, plus internals without an underscore.
INTERNAL_NAMES = frozenset({"SETTINGS", "ROOT", "run_pulumi_func", "wait_for_rpcs"})


def _is_pulumi(module: str) -> bool:
    return module == "pulumi" or module.startswith(("pulumi.", "pulumi_"))


def _private(name: str) -> bool:
    return name in INTERNAL_NAMES or (name.startswith("_") and not (name.startswith("__") and name.endswith("__")))


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _private_pulumi_uses(source: str) -> list[str]:
    """Imports of private names from pulumi* modules, and private attributes read through a pulumi* import."""
    tree = ast.parse(source)
    roots: set[str] = set()  # local names bound by a pulumi* import (modules, classes, functions)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if _is_pulumi(alias.name):
                    found += [f"line {node.lineno}: import {alias.name}"] if any(map(_private, alias.name.split("."))) else []
                    roots.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and _is_pulumi(node.module):
            private_module = any(map(_private, node.module.split(".")))
            for alias in node.names:
                if private_module or _private(alias.name):
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
                roots.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and _root_name(node.value) in roots:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
              and len(node.args) >= 2 and _root_name(node.args[0]) in roots
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value)):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return sorted(set(found), key=lambda f: (int(f.split(":")[0].removeprefix("line ")), f))


def test_the_product_uses_public_pulumi_api_only(repo_root):
    offenders, pulumi_files = [], 0
    for rel, path in _python_files(repo_root):
        source = path.read_text(encoding="utf-8")
        pulumi_files += bool(_pulumi_imports(path))
        offenders += [f"{rel.as_posix()} {use}" for use in _private_pulumi_uses(source)]
    assert pulumi_files >= 6, f"only {pulumi_files} files import pulumi*: is the scan looking at the product?"
    assert offenders == [], "private Pulumi SDK names (they change between 3.x minors):\n" + "\n".join(offenders)


def test_public_api_scan_finds_private_names():
    """What components/offline.py did before it moved to public API, and the ways around a plain import."""
    source = textwrap.dedent(
        """
        import os
        import pulumi
        import pulumi.runtime.settings as settings
        from pulumi import runtime as rt
        from pulumi.runtime.rpc import _special_secret_sig, is_rpc_secret
        from pulumi.runtime.settings import SETTINGS, get_root_resource
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi._utils import contextproperty
        import pulumi_kubernetes._utilities

        def run(request, obj):
            pulumi.runtime.settings.SETTINGS.outputs = set()
            settings.SETTINGS.lock = None
            rt.rpc._special_sig_key
            getattr(pulumi.runtime.rpc, "_special_sig_key")
            request.HasField("protect"), obj._private, os._exit, pulumi.__version__, is_rpc_secret(obj)
            return get_root_resource().outputs
        """
    )
    assert _private_pulumi_uses(source) == [
        "line 6: from pulumi.runtime.rpc import _special_secret_sig",
        "line 7: from pulumi.runtime.settings import SETTINGS",
        "line 8: from pulumi.runtime.stack import run_pulumi_func",
        "line 9: from pulumi._utils import contextproperty",
        "line 10: import pulumi_kubernetes._utilities",
        "line 13: pulumi.runtime.settings.SETTINGS",
        "line 14: settings.SETTINGS",
        "line 15: rt.rpc._special_sig_key",
        "line 16: getattr(pulumi.runtime.rpc, '_special_sig_key')",
    ]
    assert _private_pulumi_uses("import pulumi\nfrom pulumi.runtime import rpc\nrpc.is_rpc_secret(pulumi.Output)\n") == []


def _reads_pulumi_config(source: str) -> list[str]:
    tree = ast.parse(source)
    roots = {a.asname or a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
             if _is_pulumi(a.name)}
    found = [f"line {n.lineno}: from {n.module} import Config" for n in ast.walk(tree)
             if isinstance(n, ast.ImportFrom) and n.module and _is_pulumi(n.module) and any(a.name == "Config" for a in n.names)]
    found += [f"line {n.lineno}: {ast.unparse(n)}" for n in ast.walk(tree)
              if isinstance(n, ast.Attribute) and n.attr == "Config" and _root_name(n.value) in roots]
    return found


def test_components_take_config_through_their_args(repo_root):
    """The program reads stack config (secrets included) and hands it to components through their Args."""
    modules = sorted((repo_root / "components").glob("*.py"))
    assert len(modules) >= 5
    readers = {p.name: found for p in modules if (found := _reads_pulumi_config(p.read_text(encoding="utf-8")))}
    assert readers == {}, f"component modules reading pulumi.Config: {readers}"
    assert _reads_pulumi_config("import pulumi\nx = pulumi.Config().require_secret('k')\n") == [
        "line 2: pulumi.Config"
    ]
    assert _reads_pulumi_config("from pulumi import Config, Output\n") == ["line 1: from pulumi import Config"]
