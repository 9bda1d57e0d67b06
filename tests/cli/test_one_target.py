"""One target per profile, whatever the path: decide, render, preview, diff, init and the Pulumi program resolve
the same target for every environment (targets.resolve), and a decided target always deploys.

Profiles nobody wrote (hypothesis) go through every command; the examples and the projects `mlinfra init`
scaffolds from them are previewed stack by stack, with each stack file's own config, as `pulumi preview -s ENV`
would run them."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles

from mlinfra import program
from mlinfra.cli.main import cli
from mlinfra.components.offline import run_mocked
from mlinfra.guardrails.secrets import secret_config_keys
from mlinfra.profiles import load_profile

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [REPO / "stacks" / "profile.yaml", *sorted((REPO / "docs" / "examples").glob("*.yaml"))]
ENV = {"NO_COLOR": "1", "COLUMNS": "200"}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


def _json(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=profiles())
def test_every_command_picks_the_same_target_for_every_environment(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        profile = str(path)
        whole = run("decide", profile, "--format", "json")
        decided = json.loads(whole.stdout)["target"]
        assert whole.exit_code == (0 if decided else 1), whole.output
        envs = list(data["environments"]) if isinstance(data["environments"], dict) else list(data["environments"])
        for env in envs:
            assert json.loads(run("decide", profile, "--env", env, "--format", "json").stdout)["target"] == decided
            rendered = run("render", profile, "--env", env, "--out", str(Path(tmp) / env), "--format", "json")
            previewed = run("preview", profile, "--env", env, "--format", "json")
            if decided is None:
                assert rendered.exit_code == 1 and "no target is feasible" in rendered.output
                assert previewed.exit_code == 1 and "no target is feasible" in previewed.output
                continue
            assert _json(rendered)["target"] == decided
            preview = json.loads(previewed.stdout)
            assert (preview["target"], preview["outputs"]["target_chosen_by"]) == (decided, "decision")
            assert previewed.exit_code == 0, previewed.output  # a decided target deploys and passes the guardrails
        if decided and len(envs) > 1:
            diff = _json(run("diff", profile, "--env", envs[0], "--env", envs[-1], "--format", "json"))
            assert (diff["a"]["target"], diff["b"]["target"]) == (decided, decided)
        scaffold = Path(tmp) / "repo"
        assert run("init", profile, "--dir", str(scaffold)).exit_code == 0
        for env in envs:
            stack = (scaffold / "stacks" / f"Pulumi.{env}.yaml").read_text(encoding="utf-8")
            assert "mlinfra:target" not in (yaml.safe_load(stack)["config"] or {}), "the stack follows the decision"
            assert (f"# Deploys on {decided} " in stack) if decided else ("no target is feasible" in stack)


def _scaffold(example: Path, tmp_path: Path) -> Path:
    out = tmp_path / example.stem
    result = run("init", str(example), "--dir", str(out))
    assert result.exit_code == 0, result.output
    return out


def _pulumi_preview(project: Path, env: str):
    """`pulumi preview -s ENV` in a scaffolded project, offline: the stack file's config, the program's main."""
    config = yaml.safe_load((project / "stacks" / f"Pulumi.{env}.yaml").read_text(encoding="utf-8"))["config"]
    config = {k: str(project / v) if k == "mlinfra:profile" else str(v) for k, v in config.items()}
    keys = secret_config_keys(load_profile(config["mlinfra:profile"]))
    return run_mocked(program.main, stack=env, config=config, secret_keys=keys)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_examples_and_their_scaffolded_projects_preview_on_every_stack(example, tmp_path):
    decided = _json(run("decide", str(example), "--format", "json"))["target"]
    project = _scaffold(example, tmp_path)
    for env in load_profile(str(example)).environment_names:
        preview = _json(run("preview", str(example), "--env", env, "--format", "json"))
        assert (preview["target"], preview["passed"]) == (decided, True)
        offline = _pulumi_preview(project, env)
        assert (offline.outputs["target"], offline.outputs["environment"]) == (decided, env)
