"""`mlinfra preview`: the real program under Pulumi's mocks, the tree/json output, guardrails and exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
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


def test_tree_shows_resources_counts_outputs_and_guardrails(example):
    result = run("preview", example, "--env", "prod", "--target", "onprem-k8s")
    assert result.exit_code == 0, result.output
    out = result.stdout
    as_json = run("preview", example, "--env", "prod", "--target", "onprem-k8s", "--format", "json").stdout
    data = json.loads(as_json)
    count = len(data["resources"])
    secrets = {r["name"]: r for r in data["resources"] if r["type"] == "kubernetes:core/v1:Secret"}
    assert sorted(secrets) == ["churn-scoring-monitoring-grafana-admin-secret", "churn-scoring-monitoring-notify-secret"]
    assert all(r["inputs"]["stringData"] == "[secret]" for r in secrets.values()), "Secret values must stay secrets"
    assert "mlinfra-fake-secret" not in as_json + result.stdout, "no secret value in the output"
    assert "prod stack of" in out and f"-> target onprem-k8s ({count} resources)" in out
    assert "mlinfra:environment:Environment churn-scoring  tier=prod target=onprem-k8s exposure=internal" in out
    assert "pulumi:providers:kubernetes churn-scoring-kubernetes  context=prod-cluster" in out
    assert "kubernetes:helm.sh/v3:Release churn-scoring-monitoring-release  chart=kube-prometheus-stack@88.5.3" in out
    assert "protect=true" in out and "after=churn-scoring-monitoring-release" in out
    assert "│ kubernetes:core/v1:Namespace " in out and "│ total " in out
    assert '{"churn": "https://churn.prod.churn-scoring.internal"}' in out
    assert f"all guardrails pass; {count} resources, 0 invokes" in out
    assert "policy pack mlinfra-guardrails (as `pulumi preview --policy-pack` runs it): pass" in out
    assert data["policy_pack"] == {"pack": "mlinfra-guardrails", "passed": True, "violations": [], "notes": []}
    assert "shared monitoring stack: environment 'prod' installs the cluster's monitoring stack" in " ".join(out.split())


def test_tree_tells_a_non_owner_to_deploy_the_owner_first(example):
    result = run("preview", example, "--env", "staging", "--target", "onprem-k8s")
    assert result.exit_code == 0, result.output
    assert "kubernetes:helm.sh/v3:Release" not in result.stdout
    assert ("shared monitoring stack: environment 'prod' installs the cluster's monitoring stack"
            in " ".join(result.stdout.split()))
    assert "deploy 'prod' first" in " ".join(result.stdout.split())


def test_json_is_the_whole_graph(example):
    result = run("preview", example, "--env", "dev", "--target", "onprem-k8s", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["environment"], data["target"], data["passed"], data["invokes"]) == ("dev", "onprem-k8s", True, [])
    assert sum(data["counts"].values()) == len(data["resources"])
    assert "kubernetes:policy/v1:PodDisruptionBudget" not in data["counts"], "dev has no PodDisruptionBudget"
    urns = {r["urn"] for r in data["resources"]}
    for r in data["resources"]:
        assert set(r) == {"type", "name", "urn", "parent", "custom", "provider", "inputs", "options"}
        assert r["parent"] in urns or r["type"] == "mlinfra:environment:Environment"
    # dev shares prod's cluster: prod's stack installs the monitoring stack and holds its Secrets
    assert "kubernetes:core/v1:Secret" not in data["counts"] and "kubernetes:helm.sh/v3:Release" not in data["counts"]
    assert (data["outputs"]["monitoring_stack"]["owner"], data["outputs"]["monitoring_stack"]["owned_here"]) == ("prod", False)
    assert [g["id"] for g in data["guardrails"] if g["status"] == "fail"] == []
    assert data["outputs"]["alert_routes"][1]["receiver"] == "mlinfra-ticket", "dev does not page"


def test_the_decided_target_previews(example):
    """No --target: the program resolves the same target `mlinfra decide` names, and it deploys."""
    result = run("preview", example, "--env", "dev", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["target"], data["outputs"]["target_chosen_by"]) == ("aws-sagemaker", "decision")
    assert data["outputs"]["invoke_urls"]["churn"].endswith("/models/churn/invocations"), "OIDC callers: the edge"


def test_pinned_target_deploys_and_names_what_it_lacks(example, tmp_path):
    """A stack's pin wins over the decision, even for a target the decision rules out: without security.oidc,
    aws-sagemaker deploys the bundled profile without the edge its OIDC callers need, and its outputs say so."""
    data = yaml.safe_load(Path(example).read_text(encoding="utf-8"))
    del data["security"]["oidc"]
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    result = run("preview", str(path), "--env", "dev", "--target", "aws-sagemaker", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["target"], data["outputs"]["target_chosen_by"], data["passed"]) == (
        "aws-sagemaker", "config mlinfra:target", True)
    assert data["outputs"]["deployment_gaps"][0].startswith(
        "security.authentication is 'oidc' but security.oidc is not set: SageMaker endpoints")
    assert "edge_url" not in data["outputs"] and "mlinfra:sagemaker:SageMakerEdge" not in data["counts"]


def test_profile_without_a_feasible_target_is_an_error_not_a_traceback(repo_root, tmp_path):
    data = yaml.safe_load((repo_root / "docs" / "examples" / "bursty-cloud.yaml").read_text(encoding="utf-8"))
    data["data"]["sovereignty"] = "on_premise"  # no cloud may process it, and it names no on-premise cluster
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    result = run("preview", str(path), "--env", "prod")
    assert result.exit_code == 1
    assert "preview of 'prod' failed: stack 'prod': no target is feasible for profile" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_environment_is_a_usage_error(example):
    result = run("preview", example, "--env", "qa", "--target", "onprem-k8s")
    assert result.exit_code == 2
    assert "environment 'qa' is not in the profile; declared: dev, staging, prod" in result.stderr


def test_guardrail_violation_exits_1_after_showing_it(example, monkeypatch):
    """A (simulated) builder bug that exposes a model: preview shows the violation and fails."""
    import mlinfra.components.model_server as model_server

    real = model_server.build_model_objects

    def exposing(plan, model, **kwargs):
        objects = real(plan, model, **kwargs)
        for obj in objects:
            if obj["kind"] == "Service":
                obj["spec"]["type"] = "NodePort"
        return objects

    monkeypatch.setattr(model_server, "build_model_objects", exposing)
    result = run("preview", example, "--env", "staging", "--target", "onprem-k8s", "--format", "json")
    assert result.exit_code == 1
    exposure = next(g for g in json.loads(result.stdout)["guardrails"] if g["id"] == "exposure")
    assert exposure["status"] == "fail"
    assert [v["message"] for v in exposure["violations"]] == [
        "Service type NodePort exposes it outside the cluster; security.exposure is 'internal'"
    ]
    assert "1 guardrail violation(s) in 'staging' (exposure)" in result.stderr
    pack = json.loads(result.stdout)["policy_pack"]
    assert (pack["pack"], pack["passed"]) == ("mlinfra-guardrails", False)
    assert [(v["policy"], v["message"].split(": ", 1)[1]) for v in pack["violations"]] == [
        ("mlinfra-exposure", "Service type NodePort exposes it outside the cluster; security.exposure is 'internal'")
    ]
    tree = run("preview", example, "--env", "staging", "--target", "onprem-k8s")
    assert tree.exit_code == 1
    assert "│ FAIL   │ nothing public unless exposure is public" in tree.stdout
    assert re.search(r"1 guardrail violation\(s\); \d+ resources", tree.stdout)


def test_cli_modules_do_not_import_pulumi(repo_root: Path):
    code = (
        "import sys, mlinfra.cli.main, mlinfra.cli.commands.preview, mlinfra.cli.commands.diff, "
        "mlinfra.preview.report, mlinfra.preview.render, mlinfra.preview.diff, mlinfra.guardrails;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pulumi', 'pulumi_kubernetes', 'pulumi_aws')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=repo_root)
    assert out.stdout.strip() == "[]"
