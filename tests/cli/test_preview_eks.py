"""`mlinfra preview --target aws-eks`: the EKS cluster and the Kubernetes components on it, guardrails passing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_bursty_cloud_previews_on_eks(repo_root: Path, env: str):
    profile = str(repo_root / "docs" / "examples" / "bursty-cloud.yaml")
    result = CliRunner(env=ENV).invoke(
        cli, ["preview", profile, "--env", env, "--target", "aws-eks", "--format", "json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passed"] is True and data["target"] == "aws-eks"
    assert {g["id"]: g["status"] for g in data["guardrails"] if g["status"] == "fail"} == {}
    assert data["invokes"] == ["aws:index/getAvailabilityZones:getAvailabilityZones"]
    counts = data["counts"]
    assert (counts["aws:eks/cluster:Cluster"], counts["aws:eks/nodeGroup:NodeGroup"]) == (1, 1)
    assert counts["aws:ec2/natGateway:NatGateway"] == (3 if env == "prod" else 1)
    assert counts["kubernetes:apps/v1:Deployment"] == 3
    outputs = data["outputs"]
    assert outputs["cluster_name"] == f"reco-api-{env}" and outputs["region"] == "us-east-1"
    assert outputs["target"] == "aws-eks" and outputs["monthly_cost_eur"] > 0
