"""Golden files: profile in, rendered files out. A missing or different golden fails.

Regenerate after an intended change with `MLINFRA_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/golden`
and review the diff (`git diff tests/golden`) like any other change.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlinfra.profiles import load_profile
from mlinfra.targets.registry import get_target

GOLDEN = Path(__file__).resolve().parent
REPO = GOLDEN.parents[1]
UPDATE = os.environ.get("MLINFRA_UPDATE_GOLDEN") == "1"

CASES = [
    pytest.param("stacks/profile.yaml", "prod", "onprem-k8s", "onprem-cpu-prod", id="onprem-cpu-prod"),
    pytest.param("stacks/profile.yaml", "dev", "onprem-k8s", "onprem-cpu-dev", id="onprem-cpu-dev"),
    pytest.param("docs/examples/gpu-onprem.yaml", "prod", "onprem-k8s", "onprem-gpu-prod", id="onprem-gpu-prod"),
    pytest.param("docs/examples/bursty-cloud.yaml", "prod", "aws-sagemaker", "sagemaker-prod", id="sagemaker-prod"),
    pytest.param("docs/examples/bursty-cloud.yaml", "prod", "aws-eks", "eks-prod", id="eks-prod"),
]


@pytest.mark.parametrize(("profile", "env", "target", "case"), CASES)
def test_render_matches_golden(profile: str, env: str, target: str, case: str):
    files = get_target(target).render(load_profile(REPO / profile), env)
    rendered = {f.path: f.text for f in files}
    root = GOLDEN / case
    if UPDATE:
        for old in root.rglob("*") if root.exists() else []:
            if old.is_file() and old.relative_to(root).as_posix() not in rendered:
                old.unlink()
        for path, text in rendered.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()} if root.exists() else set()
    missing = sorted(set(rendered) - on_disk)
    assert not missing, f"no golden for {missing} in {root}; regenerate with MLINFRA_UPDATE_GOLDEN=1 and review"
    assert sorted(on_disk - set(rendered)) == [], "golden files no longer rendered; regenerate and review"
    for path, text in rendered.items():
        expected = (root / path).read_text()
        assert text == expected, f"{case}/{path} differs from the golden; regenerate with MLINFRA_UPDATE_GOLDEN=1 and review"
