"""`mlinfra diff`: two offline previews in one process, paired by resource name, environment names neutralised."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "220"}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def example(repo_root: Path) -> str:
    return str(repo_root / "stacks" / "profile.yaml")


@pytest.fixture(scope="module")
def dev_prod(example) -> dict:
    result = run("diff", example, "--env", "dev", "--env", "prod", "--target", "onprem-k8s", "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _change(diff: dict, typ: str, path: str) -> dict:
    resource = next(r for r in diff["changed"] if r["type"] == typ)
    return next(c for c in resource["changes"] if c["path"] == path)


def test_prod_adds_the_shared_monitoring_stack_and_a_disruption_budget(dev_prod):
    """All three share one cluster: prod installs its monitoring stack, dev only adds its rules and monitors."""
    assert dev_prod["added"] == [
        {"type": "kubernetes:core/v1:Namespace", "name": "churn-scoring-monitoring-namespace"},
        {"type": "kubernetes:core/v1:Secret", "name": "churn-scoring-monitoring-grafana-admin-secret"},
        {"type": "kubernetes:core/v1:Secret", "name": "churn-scoring-monitoring-notify-secret"},
        {"type": "kubernetes:helm.sh/v3:Release", "name": "churn-scoring-keda-release"},
        {"type": "kubernetes:helm.sh/v3:Release", "name": "churn-scoring-monitoring-release"},
        {"type": "kubernetes:networking.k8s.io/v1:NetworkPolicy", "name": "churn-scoring-monitoring-network-policy"},
        {"type": "kubernetes:policy/v1:PodDisruptionBudget", "name": "churn-scoring-churn-pod-disruption-budget"},
        {"type": "mlinfra:autoscaling:KedaOperator", "name": "churn-scoring-keda"},  # with the monitoring stack
    ]
    assert dev_prod["removed"] == []
    assert dev_prod["b"]["resources"] == dev_prod["a"]["resources"] + 8
    outputs = {c["path"]: (c["a"], c["b"]) for c in dev_prod["outputs"]}
    assert outputs["monitoring_stack.owned_here"] == (False, True)
    assert outputs["monitoring_stack.routes_alerts_of"] == ([], ["dev", "staging", "prod"])
    assert "monitoring_stack.owner" not in outputs, "both name prod as the owner"


def test_replicas_protection_and_alert_routing_change(dev_prod):
    scaled = "kubernetes:keda.sh/v1alpha1:ScaledObject"
    assert _change(dev_prod, scaled, "inputs.spec.minReplicaCount") == {
        "path": "inputs.spec.minReplicaCount", "a": 1, "b": 2}
    assert _change(dev_prod, scaled, "inputs.spec.maxReplicaCount")["b"] == 6
    assert _change(dev_prod, "kubernetes:core/v1:Namespace", "options.protect") == {
        "path": "options.protect", "a": False, "b": True,
    }
    outputs = {c["path"]: (c["a"], c["b"]) for c in dev_prod["outputs"]}
    # route by route: dev's critical alerts are tickets, the shared Alertmanager pages for prod only
    assert outputs['alert_routes.{environment="prod", severity="critical"}'] == (None, "mlinfra-page (slack)")
    assert outputs['alert_routes.{environment="dev", severity="critical"}'] == (None, "mlinfra-ticket (email, slack)")
    assert outputs['alert_routes.{severity="critical"}'] == ("mlinfra-ticket (email, slack)", "mlinfra-page (slack)")


def test_environment_names_do_not_count_as_differences(dev_prod):
    paths = {c["path"] for r in dev_prod["changed"] for c in r["changes"]}
    assert "inputs.metadata.namespace" not in paths and "inputs.metadata.name" not in paths
    assert not any("labels" in p for p in paths), sorted(p for p in paths if "labels" in p)
    assert dev_prod["env_token"] == "<env>"


def test_table_lists_the_changes(example):
    result = run("diff", example, "--env", "dev", "--env", "prod", "--target", "onprem-k8s")
    assert result.exit_code == 0, result.output
    assert "dev (onprem-k8s) -> prod (onprem-k8s)" in result.stdout
    assert "kubernetes:policy/v1:PodDisruptionBudget" in result.stdout and "inputs.spec.minReplicaCount" in result.stdout
    assert re.search(r"8 added, 0 removed, \d+ changed \(\+ only in prod, - only in dev; environment names shown as <env>\)",
                     result.stdout)


@pytest.mark.parametrize(
    "envs",
    [pytest.param(["--env", "dev"], id="one"), pytest.param(["--env", "dev", "--env", "dev"], id="same-twice")],
)
def test_needs_two_different_environments(example, envs):
    result = run("diff", example, *envs, "--target", "onprem-k8s")
    assert result.exit_code == 2
    assert "give exactly two different environments: --env A --env B" in result.stderr
