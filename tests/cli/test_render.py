"""`mlinfra render`: the layout, byte-identical reruns, refusing foreign or edited directories, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli
from mlinfra.monitoring.objects import build_prometheus_rule

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
REPO = Path(__file__).resolve().parents[2]
PROFILE = str(REPO / "stacks" / "profile.yaml")
GPU = str(REPO / "docs" / "examples" / "gpu-onprem.yaml")


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_manifest(tmp_path):
    out = tmp_path / "out"
    result = run("render", GPU, "--env", "prod", "--out", str(out), "--format", "json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["target"], summary["environment"], summary["timing"]) == ("onprem-k8s", "prod", "production")
    assert sorted(_tree(out)) == [
        "SECRETS.md",
        "alertmanager/alertmanager.yaml",
        "grafana/claims-assistant.json",
        "grafana/damage-detector.json",
        "helm/kube-prometheus-stack.values.yaml",
        "kubernetes/00-namespace.yaml",
        "kubernetes/01-monitoring-namespace.yaml",
        "kubernetes/10-model-claims-assistant.yaml",
        "kubernetes/10-model-damage-detector.yaml",
        "kubernetes/20-monitoring.yaml",
        "prometheus/rules.yaml",
        "render.json",
    ]
    manifest = json.loads((out / "render.json").read_text())
    assert {f["path"] for f in manifest["files"]} == {f["path"] for f in summary["files"]}
    for entry in manifest["files"]:
        import hashlib

        assert hashlib.sha256((out / entry["path"]).read_bytes()).hexdigest() == entry["sha256"], entry["path"]
    # the plain rule file holds exactly the PrometheusRule's groups
    docs = list(yaml.safe_load_all((out / "kubernetes" / "20-monitoring.yaml").read_text()))
    rule = next(d for d in docs if d["kind"] == "PrometheusRule")
    assert yaml.safe_load((out / "prometheus" / "rules.yaml").read_text()) == {"groups": rule["spec"]["groups"]}
    assert [d["kind"] for d in docs] == ["PrometheusRule"]
    # `kubectl apply -f kubernetes/` goes by file name: namespaces first, and no Secret at all - a placeholder
    # applied by kubectl would become Grafana's real admin password; SECRETS.md says how to create each
    order = [(path, d["kind"], d["metadata"]["name"]) for path in sorted((out / "kubernetes").iterdir())
             for d in yaml.safe_load_all(path.read_text())]
    kinds = [kind for _path, kind, _name in order]
    assert kinds[:3] == ["Namespace", "NetworkPolicy", "Namespace"], order[:5]
    assert "Secret" not in kinds
    assert b"<pulumi secret:" not in b"".join(_tree(out).values())
    to_create = {(s["namespace"], s["name"]): s["keys"] for s in manifest["secrets_to_create"]}
    assert to_create[("monitoring", "mlinfra-grafana-admin")] == {
        "admin-user": "literal:admin", "admin-password": "config:grafanaAdminPassword"}
    assert to_create[("monitoring", "mlinfra-alertmanager-notify")]["pagerdutyRoutingKey"] == "config:pagerdutyRoutingKey"
    guide = (out / "SECRETS.md").read_text()
    assert ("kubectl -n monitoring create secret generic mlinfra-grafana-admin --from-literal=admin-user=admin "
            "--from-file=admin-password=./admin-password") in guide
    values = yaml.safe_load((out / "helm" / "kube-prometheus-stack.values.yaml").read_text())
    assert values["grafana"]["admin"]["existingSecret"] == "mlinfra-grafana-admin"
    for path, data in _tree(out).items():
        assert b"&id0" not in data and b"*id0" not in data, f"{path} has YAML anchors"


@pytest.mark.parametrize(
    ("env", "owner_files"),
    [pytest.param("prod", True, id="prod-owns"), pytest.param("dev", False, id="dev-shares"),
     pytest.param("staging", False, id="staging-shares")],
)
def test_only_the_owner_renders_the_monitoring_stack(tmp_path, env, owner_files):
    """The example's three environments share one cluster: prod installs the monitoring stack; dev and staging
    write their rules, monitors, dashboards and their own routing, and render.json says who owns the stack."""
    out = tmp_path / "out"
    assert run("render", PROFILE, "--env", env, "--target", "onprem-k8s", "--out", str(out)).exit_code == 0
    owner_only = {"kubernetes/01-monitoring-namespace.yaml", "helm/kube-prometheus-stack.values.yaml",
                  "SECRETS.md"}  # stacks/profile.yaml: its Secrets are the monitoring stack's
    shared = {"kubernetes/00-namespace.yaml", "kubernetes/10-model-churn.yaml", "kubernetes/20-monitoring.yaml",
              "prometheus/rules.yaml", "alertmanager/alertmanager.yaml", "grafana/churn.json", "drift/churn.yaml",
              "render.json"}
    assert set(_tree(out)) == shared | (owner_only if owner_files else set())
    note = json.loads((out / "render.json").read_text())["monitoring_stack"]
    assert (note["owner"], note["owned_here"]) == ("prod", owner_files)
    am = yaml.safe_load((out / "alertmanager" / "alertmanager.yaml").read_text())
    env_routes = [r["matchers"] for r in am["route"]["routes"] if "routes" in r]
    if owner_files:
        assert note["routes_alerts_of"] == ["dev", "staging", "prod"] and "not_rendered" not in note
        assert env_routes == [  # mlinfra's alerts by label, the chart's by the namespace they are about
            ['environment="dev"'], ['namespace="churn-scoring-dev"'], ['environment="staging"'],
            ['namespace="churn-scoring-staging"'], ['environment="prod"'], ['namespace="churn-scoring-prod"'],
        ]
    else:
        assert note["not_rendered"] == sorted(owner_only - {"SECRETS.md"}, key=lambda p: ("helm" in p, p))
        assert f"routes the alerts of '{env}'" in note["note"] and "deploy 'prod' first" in note["note"]
        assert env_routes == [], "a non-owner's alertmanager.yaml routes its own alerts only"
        assert {r["receiver"] for r in am["route"]["routes"][1:]} == {"mlinfra-ticket"}, "and they do not page"


def test_rerun_is_byte_identical(tmp_path):
    out = tmp_path / "out"
    assert run("render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out)).exit_code == 0
    first = _tree(out)
    result = run("render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out), "--format", "json")
    assert result.exit_code == 0 and {f["status"] for f in json.loads(result.output)["files"]} == {"unchanged"}
    assert _tree(out) == first
    table = run("render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out))
    # one row per directory: kubernetes/ holds 4 files, none created or updated, all unchanged (and SECRETS.md)
    assert "│ kubernetes   │     4 │" in table.output and table.output.count("│       0 │       0 │") == 7


def test_refuses_a_foreign_non_empty_directory(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    result = run("render", PROFILE, "--env", "dev", "--target", "onprem-k8s", "--out", str(tmp_path))
    assert result.exit_code == 1
    assert "not empty and was not written by mlinfra render (no render.json)" in result.output
    assert "--force" in result.output
    assert (tmp_path / "notes.txt").read_text() == "mine" and not (tmp_path / "render.json").exists()
    forced = run("render", PROFILE, "--env", "dev", "--target", "onprem-k8s", "--out", str(tmp_path), "--force")
    assert forced.exit_code == 0 and (tmp_path / "render.json").exists()


def test_refuses_to_overwrite_an_edited_file(tmp_path):
    out = tmp_path / "out"
    args = ["render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out)]
    assert run(*args).exit_code == 0
    rules = out / "prometheus" / "rules.yaml"
    rules.write_text(rules.read_text() + "# my edit\n")
    result = run(*args)
    assert result.exit_code == 1
    assert f"refusing to overwrite {rules}: edited since mlinfra render wrote it" in result.output
    assert "pass --force to overwrite it" in result.output
    assert rules.read_text().endswith("# my edit\n")
    assert run(*args, "--force").exit_code == 0 and not rules.read_text().endswith("# my edit\n")


def test_a_rerun_removes_the_files_it_no_longer_writes(tmp_path):
    """prod owns the monitoring stack, dev does not: dev rendered over prod removes prod's unedited owner files."""
    out = tmp_path / "out"
    assert run("render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out)).exit_code == 0
    values = out / "helm" / "kube-prometheus-stack.values.yaml"
    namespace = out / "kubernetes" / "01-monitoring-namespace.yaml"
    namespace.write_text(namespace.read_text() + "# my edit\n")
    result = run("render", PROFILE, "--env", "dev", "--target", "onprem-k8s", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert not values.exists() and namespace.read_text().endswith("# my edit\n"), "removed when unedited, else kept"
    listed = {f["path"] for f in json.loads((out / "render.json").read_text())["files"]}
    assert listed == set(_tree(out)) - {"render.json", "kubernetes/01-monitoring-namespace.yaml"}


def test_fast_timing_and_secrets_dir(tmp_path):
    out = tmp_path / "out"
    result = run("render", PROFILE, "--env", "prod", "--target", "onprem-k8s", "--out", str(out),
                 "--timing", "fast", "--alertmanager-secrets-dir", str(tmp_path / "secrets"))
    assert result.exit_code == 0, result.output
    rules = yaml.safe_load((out / "prometheus" / "rules.yaml").read_text())
    assert {g["interval"] for g in rules["groups"] if not g["name"].endswith(".slo")} == {"1s"}
    am = (out / "alertmanager" / "alertmanager.yaml").read_text()
    assert f"{tmp_path}/secrets/mlinfra-alertmanager-notify/slackWebhookUrl" in am
    assert json.loads((out / "render.json").read_text())["timing"] == "fast"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--env", "qa"], 2, "environment 'qa' is not in the profile; declared: dev, staging, prod", id="unknown-env"),
        pytest.param(["--env", "prod", "--target", "nope"], 2, "unknown target 'nope'", id="unknown-target"),
        pytest.param(["--env", "prod", "--timing", "slow"], 2, "'slow' is not one of 'fast', 'production'", id="bad-timing"),
    ],
)
def test_errors(args, code, message, tmp_path):
    result = run("render", PROFILE, "--out", str(tmp_path / "out"), *args)
    assert result.exit_code == code, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output


def test_sagemaker_renders_its_one_description(tmp_path):
    """aws-sagemaker renders what it deploys as one document (tests/unit/test_sagemaker_render.py checks it)."""
    out = tmp_path / "out"
    result = run("render", PROFILE, "--env", "prod", "--target", "aws-sagemaker", "--out", str(out))
    assert result.exit_code == 0, result.output
    described = yaml.safe_load((out / "aws" / "sagemaker.yaml").read_text())
    assert (described["target"], [e["endpoint_name"] for e in described["endpoints"]]) == (
        "aws-sagemaker", ["churn-scoring-prod-churn"])


@pytest.mark.parametrize("target", ["aws-sagemaker", "aws-eks"])
def test_aws_targets_render_the_resource_graph_the_program_registers(tmp_path, target):
    """aws/resources.yaml is the offline run's graph itself: every resource but the Kubernetes objects (rendered as
    manifests), in a stable order, secrets masked; two renders are byte-identical."""
    from mlinfra.program import run_offline

    bursty = str(REPO / "docs" / "examples" / "bursty-cloud.yaml")
    out, again = tmp_path / "out", tmp_path / "again"
    for where in (out, again):
        result = run("render", bursty, "--env", "prod", "--target", target, "--out", str(where))
        assert result.exit_code == 0, result.output
    text = (out / "aws" / "resources.yaml").read_text()
    assert text == (again / "aws" / "resources.yaml").read_text()
    graph = yaml.safe_load(text)
    run_ = run_offline(bursty, "prod", target=target)
    expected = {(r["type"], r["name"]): r for r in run_.resources if not r["type"].startswith("kubernetes:")}
    listed = {(e["type"], e["name"]): e for e in graph["resources"]}
    assert listed.keys() == expected.keys() and len(graph["resources"]) == len(expected)
    names = {r["urn"]: r["name"] for r in run_.resources}
    for key, entry in listed.items():
        assert entry.get("inputs", {}) == expected[key]["inputs"], key
        assert entry.get("parent") == names.get(expected[key]["parent"]), key
    seen: set[str] = set()
    for entry in graph["resources"]:  # tree order: a parent before its children
        assert entry.get("parent") is None or entry["parent"] in seen, entry["name"]
        seen.add(entry["name"])
    assert "mlinfra-fake-secret" not in text and (": '[secret]'" in text) is (target == "aws-sagemaker")
    assert {e["type"] for e in graph["resources"]} >= {"pulumi:providers:aws", "aws:kms/key:Key"}
    assert (out / "kubernetes").is_dir() is (target == "aws-eks")


def test_onprem_target_without_onprem_block(tmp_path):
    result = run("render", str(REPO / "docs" / "examples" / "bursty-cloud.yaml"), "--env", "prod",
                 "--target", "onprem-k8s", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1 and "onprem" in result.output and "Traceback" not in result.output


def test_render_scales_to_many_models(make_plan_many):
    """100 models render one manifest and one dashboard each (speed is measured by bench/render.py)."""
    from mlinfra.targets.kubernetes.render import render_plan

    counts = [len(render_plan(plan)) for plan in make_plan_many]
    # per environment: 100 model manifests + 100 dashboards + 100 drift monitor configs (the example turns drift
    # on) + 4 shared files, + 3 for prod, which owns the cluster's monitoring stack (namespace, Secrets, Helm values)
    assert counts == [3 * 100 + 4, 3 * 100 + 4, 3 * 100 + 7]


@pytest.fixture
def make_plan_many():
    import dataclasses

    from mlinfra.targets.registry import plan_for
    from mlinfra.profiles import load_profile

    profile = load_profile(PROFILE)
    base = profile.models[0]
    models = [base.model_copy(update={"name": f"model-{i:03d}"}) for i in range(100)]
    profile = profile.model_copy(update={"models": models})
    plans = [plan_for(profile, env, "onprem-k8s") for env in ("dev", "staging", "prod")]
    return [dataclasses.replace(p) for p in plans]


def test_prometheus_rule_name_is_per_environment(make_plan_many):
    names = {build_prometheus_rule(p)["metadata"]["name"] for p in make_plan_many}
    assert names == {"churn-scoring-dev-rules", "churn-scoring-staging-rules", "churn-scoring-prod-rules"}
