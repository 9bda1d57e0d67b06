"""The repository root is the `mlinfra` package: every sub-package must be listed for wheels to contain it."""

from __future__ import annotations

import tomllib
from pathlib import Path

SKIP = {"tests", "bench", "docs", "stacks", "build", "dist", "node_modules"}


def test_every_package_is_listed_in_pyproject(repo_root: Path):
    listed = set(tomllib.loads((repo_root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"mlinfra"}
    for init in repo_root.rglob("__init__.py"):
        rel = init.parent.relative_to(repo_root)
        if rel.parts and (rel.parts[0] in SKIP or rel.parts[0].startswith(".")):
            continue
        if rel.parts and any(p.endswith(".egg-info") for p in rel.parts):
            continue
        found.add(".".join(("mlinfra", *rel.parts)) if rel.parts else "mlinfra")
    assert found - listed == set(), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
    assert listed - found == set(), f"listed but not a package (no __init__.py): {sorted(listed - found)}"
