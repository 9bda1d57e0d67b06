"""Pulumi.yaml, __main__.py and stacks/Pulumi.<env>.yaml: valid, tiny, and secrets by key name only."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlinfra.guardrails.secrets import secret_config_keys
from mlinfra.profiles import load_profile


def test_pulumi_yaml_matches_the_project_schema(repo_root: Path, shared_dir: Path):
    schema = json.loads((shared_dir / "schemas" / "pulumi-project.json").read_text())
    project = yaml.safe_load((repo_root / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["name"] == "mlinfra", "secret config keys live in the project namespace `mlinfra:`"
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": ".venv"}}
    assert project["stackConfigDir"] == "stacks"
    bad = dict(project, runtime={"name": "python", "flavour": 1})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)


def test_main_is_tiny_and_only_dispatches(repo_root: Path):
    """__main__.py picks the CLI or the program, nothing else (tests/unit/test_main_module.py runs it both ways)."""
    source = (repo_root / "__main__.py").read_text()
    tree = ast.parse(source)
    imported = sorted(n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert imported == ["mlinfra.cli.main", "mlinfra.program"]
    assert not any(isinstance(n, ast.Import) for n in ast.walk(tree))
    assert len(source.splitlines()) < 30


@pytest.mark.parametrize("env", [pytest.param(e, id=e) for e in ("dev", "staging", "prod")])
def test_stack_files_point_at_the_profile_and_name_secrets_only(repo_root: Path, env: str):
    from mlinfra.scaffold.context import secret_refs
    from mlinfra.targets.registry import get_target, plan_for
    from mlinfra.targets.resolve import decision_for

    text = (repo_root / "stacks" / f"Pulumi.{env}.yaml").read_text()
    config = yaml.safe_load(text)["config"]
    profile_path = repo_root / config["mlinfra:profile"]
    assert profile_path.is_file(), f"mlinfra:profile {config['mlinfra:profile']} is not relative to the project dir"
    profile = load_profile(str(profile_path))
    assert env in profile.environment_names
    assert set(config) == {"mlinfra:profile"}, "the target follows the decision, the cluster comes from the profile"
    target = decision_for(profile).target
    assert secret_config_keys(profile) == ["grafanaAdminPassword", "slackWebhookUrl"]
    for key in secret_config_keys(profile):
        assert f"mlinfra:{key}" not in config, f"{key} must not be in the stack file in plain text"
    assert f"`mlinfra decide stacks/profile.yaml` ({target} for this profile)" in " ".join(text.split())
    keys = [ref.key for ref in secret_refs(profile, get_target(target).ignores_secret_fields)]
    if target == "aws-sagemaker":  # no cluster: every stack is its own, with the keys SageMaker reads
        assert keys == ["slackWebhookUrl"], "no Grafana on SageMaker"
        for key in keys:
            assert re.search(rf"^#\s+pulumi config set --secret {key} .* -s {env}$", text, re.M), f"no set command for {key}"
        assert "kube_context" not in text and "invoke_urls" in text
        return
    monitoring = plan_for(profile, env, target).monitoring
    how = "`environments.<env>.kube_context`" if monitoring.owns_stack else f"`environments.{env}.kube_context`"
    assert how in " ".join(text.split()), "how to give an environment its own cluster"
    if monitoring.owns_stack:  # the stack that installs the monitoring stack holds its secrets
        for key in keys:
            assert re.search(rf"^#\s+pulumi config set --secret {key} .* -s {env}$", text, re.M), f"no set command for {key}"
        assert "Deploy this stack first" in text
    else:  # the others need none, and are deployed after the owner
        assert "config set --secret" not in text
        assert f"deploy {monitoring.stack_owner} first (`pulumi up -s {monitoring.stack_owner}`)" in " ".join(text.split())
