"""`mlinfra preview` lists the go-live readiness gaps as warnings - in the table and in --format json - and they
never change the exit code; the same gaps reach `pulumi preview` (and its pull-request comment) as warnings the
program logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def example(repo_root: Path) -> str:
    return str(repo_root / "stacks" / "profile.yaml")


@pytest.fixture(scope="module")
def ready(repo_root: Path, tmp_path_factory) -> str:
    """The bundled example with an owner who pages, a runbook page of its own, PagerDuty for the platform and a
    drift monitor image of the team's registry."""
    data = yaml.safe_load((repo_root / "stacks" / "profile.yaml").read_text())
    data["owners"] = {"churn-ds": {"contact": "churn-ds@example.com", "notify": [
        {"type": "pagerduty", "routing_key_secret": "churnPagerDuty"}, {"type": "email", "to": "churn-ds@example.com"}]}}
    data["models"][0]["owner"] = "churn-ds"
    data["monitoring"]["runbook_url"] = "https://wiki.example.com/churn/runbooks"
    data["monitoring"]["drift_image"] = "registry.example.com/churn/mlinfra-drift:0.1.0"
    path = tmp_path_factory.mktemp("ready") / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def test_gaps_are_warnings_in_the_table_and_json_and_the_exit_code_stays_0(example):
    result = run("preview", example, "--env", "prod", "--target", "onprem-k8s")
    assert result.exit_code == 0, result.output
    out = " ".join(result.stdout.split())
    assert "Go-live readiness of prod: 3 warning(s)" in out
    assert "owner │ models[0].owner │ model 'churn' has no owner in prod (tier prod)" in out
    assert "runbooks │ monitoring.runbook_url │ every alert of prod links" in out
    assert "drift-image │ monitoring.drift_image │ the drift monitor beside churn in prod" in out
    data = json.loads(run("preview", example, "--env", "prod", "--target", "onprem-k8s", "--format", "json").stdout)
    assert [(f["check"], f["path"]) for f in data["readiness"]] == [
        ("owner", "models[0].owner"), ("runbooks", "monitoring.runbook_url"), ("drift-image", "monitoring.drift_image")]
    assert data["passed"] is True


def test_a_ready_profile_says_so(ready):
    result = run("preview", ready, "--env", "prod", "--target", "onprem-k8s")
    assert result.exit_code == 0, result.output
    assert "go-live readiness of prod: no gaps" in result.stdout
    data = json.loads(run("preview", ready, "--env", "prod", "--target", "onprem-k8s", "--format", "json").stdout)
    assert data["readiness"] == []


def test_the_program_logs_the_gaps_for_pulumi_preview(example, caplog):
    """What `pulumi preview` prints (and pulumi/actions comments on the pull request): the engine's warnings, which
    Pulumi's mock engine hands to Python's logging."""
    from mlinfra.program import run_offline

    with caplog.at_level("WARNING"):
        run_offline(example, "prod", target="aws-sagemaker")
    warnings = [r.getMessage() for r in caplog.records if "go-live readiness" in r.getMessage()]
    assert [w.split(": ", 2)[:2] for w in warnings] == [
        ["go-live readiness (owner)", "models[0].owner"], ["go-live readiness (runbooks)", "monitoring.runbook_url"]]
