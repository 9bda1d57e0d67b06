"""The layers hold: an import-linter contract (pyproject [tool.importlinter]) and no function-local import of an
mlinfra module, except the documented lazy Pulumi imports (a command that does not deploy never loads Pulumi)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT_DIRS = [p for p in REPO.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
PRODUCT_FILES = sorted([*REPO.glob("*.py"), *(f for d in PRODUCT_DIRS for f in d.rglob("*.py"))])
# Modules that import pulumi*: reached lazily from code that must also run without Pulumi (a target's assemble,
# preview's runner, the entry point that serves both `pulumi up` and `python -m mlinfra`).
PULUMI_MODULES = ("mlinfra.components", "mlinfra.program", "mlinfra.preview.offline", "mlinfra.cli.main")


def test_import_linter_contract_is_kept():
    linter = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(linter), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def local_mlinfra_imports(source: str) -> list[tuple[int, str]]:
    """(line, module) of every import of an mlinfra module inside a function body."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("mlinfra"):
                    found.append((inner.lineno, inner.module))
                elif isinstance(inner, ast.Import):
                    found += [(inner.lineno, a.name) for a in inner.names if a.name.startswith("mlinfra")]
    return found


def test_no_function_local_import_of_mlinfra_modules_but_the_lazy_pulumi_ones():
    offenders = []
    for path in PRODUCT_FILES:
        for line, module in local_mlinfra_imports(path.read_text(encoding="utf-8")):
            if not module.startswith(PULUMI_MODULES):
                offenders.append(f"{path.relative_to(REPO)}:{line} imports {module} inside a function")
    assert offenders == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("def f():\n    from mlinfra.decision import decide\n", [(2, "mlinfra.decision")], id="from"),
        pytest.param("def f():\n    import mlinfra.costs\n", [(2, "mlinfra.costs")], id="import"),
        pytest.param("from mlinfra.costs import x\n", [], id="top-level-is-fine"),
        pytest.param("def f():\n    import json\n", [], id="stdlib-is-fine"),
    ],
)
def test_the_scan_finds_local_imports(source, expected):
    assert local_mlinfra_imports(source) == expected


def test_no_import_cycles():
    """No module reaches itself through imports (type-checking imports aside): each layer is a DAG too."""
    import grimp

    graph = grimp.build_graph("mlinfra", exclude_type_checking_imports=True)
    modules = sorted(graph.modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    cycles = _cycles(edges)
    assert cycles == []


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, []):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def test_the_cycle_finder_finds_cycles():
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
    assert _cycles({"a": ["b"], "b": []}) == []


BUILTIN_TARGETS = ("onprem-k8s", "aws-eks", "aws-sagemaker")
NAMES_ALLOWED_IN = ("targets", "tests", "docs", "bench")


def target_names_in_code(source: str) -> list[tuple[int, str]]:
    """String literals naming a built-in target, docstrings and field descriptions (documentation) aside."""
    tree = ast.parse(source)
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)
    }
    docs |= {id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "description"}
    docs |= {id(v) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "description"
             for v in ast.walk(k.value)}
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
        and any(name in node.value for name in BUILTIN_TARGETS)
    ]


def test_no_target_is_named_outside_its_package():
    """The decision, planning, builders and commands know no target by name (conventions.py may)."""
    offenders = [
        f"{path.relative_to(REPO)}:{line}: {text!r}"
        for path in PRODUCT_FILES
        if path.relative_to(REPO).parts[0] not in NAMES_ALLOWED_IN and path.name != "conventions.py"
        for line, text in target_names_in_code(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_name_scan_finds_names_in_code_not_in_docs():
    source = 'def f():\n    """picks aws-eks"""\n    return x == "aws-eks"\nField(description="see onprem-k8s")\n'
    assert target_names_in_code(source) == [(3, "aws-eks")]
