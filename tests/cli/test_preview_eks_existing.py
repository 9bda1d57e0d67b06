"""`mlinfra preview --target aws-eks` of a profile deploying into an existing EKS cluster: the look-up is the only
invoke, nothing of the cluster's owners is created, the guardrails pass, the cost is the nodes'; a profile that
names the cluster without node subnets stops with the field named."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]


def _profile(repo_root: Path, tmp_path: Path, cloud: dict) -> str:
    data = copy.deepcopy(yaml.safe_load((repo_root / "docs" / "examples" / "bursty-cloud.yaml").read_text()))
    data["cloud"].update(cloud)
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _preview(profile: str, env: str) -> dict:
    result = CliRunner(env=ENV).invoke(
        cli, ["preview", profile, "--env", env, "--target", "aws-eks", "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_existing_cluster_previews(repo_root: Path, tmp_path: Path, env: str):
    profile = _profile(repo_root, tmp_path, {"eks_cluster": "platform-use1", "eks_node_subnets": SUBNETS})
    data = _preview(profile, env)
    assert data["passed"] is True and data["target"] == "aws-eks"
    assert {g["id"]: g["status"] for g in data["guardrails"] if g["status"] == "fail"} == {}
    assert data["invokes"] == ["aws:eks/getCluster:getCluster"]
    counts = data["counts"]
    assert counts["aws:eks/nodeGroup:NodeGroup"] == 1
    for owned in ("aws:eks/cluster:Cluster", "aws:ec2/vpc:Vpc", "aws:ec2/natGateway:NatGateway", "aws:eks/addon:Addon"):
        assert counts.get(owned, 0) == 0, owned
    assert counts["kubernetes:apps/v1:Deployment"] == 3
    outputs = data["outputs"]
    assert outputs["cluster_name"] == "platform-use1" and outputs["region"] == "us-east-1"
    assert outputs["monitoring_stack"]  # prod installs the shared stack, dev uses it


def test_existing_cluster_costs_less_than_a_cluster_of_its_own(repo_root: Path, tmp_path: Path):
    own = _preview(str(repo_root / "docs" / "examples" / "bursty-cloud.yaml"), "prod")
    existing = _preview(_profile(repo_root, tmp_path, {"eks_cluster": "platform-use1", "eks_node_subnets": SUBNETS}),
                        "prod")
    assert 0 < existing["outputs"]["monthly_cost_eur"] < own["outputs"]["monthly_cost_eur"]


def test_existing_cluster_without_node_subnets_names_the_field(repo_root: Path, tmp_path: Path):
    profile = _profile(repo_root, tmp_path, {"eks_cluster": "platform-use1"})
    result = CliRunner(env=ENV).invoke(cli, ["preview", profile, "--env", "prod", "--target", "aws-eks"],
                                       catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "cloud.eks_cluster is 'platform-use1' but cloud.eks_node_subnets is empty" in result.output
    assert "Traceback" not in result.output
