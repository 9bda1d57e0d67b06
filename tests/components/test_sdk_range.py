"""Both ends of the supported Pulumi SDK range: the component and preview tests also run on the oldest SDKs the
`pulumi` extra's lower bounds allow (.tools/pulumi-oldest, installed by `make tools`); .venv has the newest."""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.tools

SUITES = ["tests/components", "tests/cli/test_preview.py", "tests/cli/test_diff.py"]
PACKAGES = ("pulumi", "pulumi-aws", "pulumi-kubernetes", "pulumi-policy")


def lower_bounds(pyproject: Path) -> dict[str, str]:
    """{distribution: lowest version} of the `pulumi` extra (`pulumi>=3.165,<4` -> 3.165)."""
    specs = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]["pulumi"]
    bounds = {}
    for spec in specs:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+),<[0-9.]+", spec)
        assert match, f"pulumi extra: '{spec}' is not NAME>=LOW,<HIGH"
        bounds[match[1]] = match[2]
    return bounds


def _release(version: str) -> tuple[int, ...]:
    """3.165 and 3.165.0 are the same release."""
    parts = [int(p) for p in version.split(".")]
    while parts and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _own_env() -> dict[str, str]:
    """The caller's environment without what would point the venv at another installation."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"NO_COLOR": "1", "COLUMNS": "120"}


@pytest.fixture(scope="module")
def oldest(tools_dir: Path) -> Path:
    python = tools_dir / "pulumi-oldest" / "bin" / "python"
    if not python.is_file():
        pytest.fail(f"{python} is missing: `make tools` (.ci/install-tools.sh) installs the oldest Pulumi SDKs there")
    return python


def test_the_oldest_venv_holds_the_lower_bounds_and_this_checkout(oldest: Path, repo_root: Path):
    probe = (
        "import json, importlib.metadata as m, mlinfra, pulumi_aws, pulumi_kubernetes, pulumi_policy;"
        f"print(json.dumps({{'versions': {{d: m.version(d) for d in {PACKAGES!r}}}, 'mlinfra': mlinfra.__file__}}))"
    )
    done = subprocess.run([str(oldest), "-c", probe], cwd=repo_root, capture_output=True, text=True, timeout=120,
                          env=_own_env())
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    bounds = lower_bounds(repo_root / "pyproject.toml")
    assert set(bounds) == set(PACKAGES)
    assert {d: _release(v) for d, v in found["versions"].items()} == {d: _release(v) for d, v in bounds.items()}, (
        f"{found['versions']} are not the lower bounds {bounds}: `make tools` reinstalls when pyproject changes"
    )
    assert Path(found["mlinfra"]).resolve().parent == repo_root.resolve(), "the venv must import this checkout"


def test_components_and_preview_pass_on_the_oldest_sdks(oldest: Path, repo_root: Path):
    done = subprocess.run(
        [str(oldest), "-m", "pytest", *SUITES, "-q", "-p", "no:cacheprovider",
         "--ignore", str(Path(__file__).relative_to(repo_root))],  # not itself again
        cwd=repo_root, capture_output=True, text=True, timeout=600, env=_own_env(),
    )
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, f"on the oldest SDKs: {summary}\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed[1]) >= 60 and "skipped" not in summary, summary


def test_lower_bounds_are_read_from_the_extra(tmp_path: Path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project.optional-dependencies]\npulumi = ["pulumi>=3.165,<4", "pulumi-aws>=7.0,<8"]\n')
    assert lower_bounds(pyproject) == {"pulumi": "3.165", "pulumi-aws": "7.0"}
    assert _release("3.165") == _release("3.165.0") != _release("3.166.0")
    pyproject.write_text('[project.optional-dependencies]\npulumi = ["pulumi>=3.165"]\n')
    with pytest.raises(AssertionError, match="is not NAME>=LOW,<HIGH"):
        lower_bounds(pyproject)
