"""`mlinfra decide` and `mlinfra prices`: exit codes, JSON shape, error texts, ADR overwrite refusal."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "160"}


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture()
def bundled(repo_root: Path) -> str:
    return str(repo_root / "stacks" / "profile.yaml")


def _write(tmp_path: Path, data: dict) -> str:
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return str(path)


def _bundled_data(repo_root: Path) -> dict:
    return yaml.safe_load((repo_root / "stacks" / "profile.yaml").read_text(encoding="utf-8"))


def test_table_output_explains_the_choice(bundled):
    result = run("decide", bundled)
    assert result.exit_code == 0, result.output
    out = result.stdout
    # security.oidc names the issuer: SageMaker serves the OIDC callers through its API Gateway edge
    assert out.startswith("churn-scoring -> aws-sagemaker (SageMakerEndpoint, CloudWatchMonitoring, ")
    assert "SageMakerEdge)\n" in out
    assert re.search(r"aws-sagemaker ranks first with a weighted score of 0\.\d\d, ahead of onprem-k8s \(0\.\d\d\), "
                     r"aws-eks \(0\.\d\d\)", " ".join(out.split())), out
    assert "is infeasible" not in out
    assert "Options (EUR/month, sum over all environments (dev, staging, prod))" in out
    assert "Cost breakdown: aws-sagemaker" in out and "API Gateway HTTP API (edge)" in out
    assert "weights (decision.weights, normalised): cost 0.30, scalability 0.20, sovereignty 0.15, security 0.15, operations 0.20" in out
    assert "\x1b[" not in out  # NO_COLOR


def test_json_shape(bundled):
    result = run("decide", bundled, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert {"target", "feasible", "reasons", "options", "components"} <= set(data)
    assert data["target"] == "aws-sagemaker" and data["feasible"] is True
    assert {"SageMakerEndpoint", "CloudWatchMonitoring", "SageMakerEdge"} <= set(data["components"])
    assert data["cost_scope"] == "sum over all environments (dev, staging, prod)"
    assert all(isinstance(r, str) for r in data["reasons"])
    for option in data["options"]:
        assert {"target", "feasible", "violations", "monthly_cost_eur", "cost_breakdown", "score"} <= set(option)
        for line in option["cost_breakdown"]:
            assert set(line) == {"env", "item", "monthly_eur", "price_keys", "note", "estimated"}
    eks = next(o for o in data["options"] if o["target"] == "aws-eks")
    assert eks["feasible"] is True and eks["violations"] == [], "aws-eks deploys (components/aws_eks)"
    chosen = data["options"][0]
    assert eks["monthly_cost_eur"] > 2000 and eks["score"] < chosen["score"], "priced and ranked below aws-sagemaker"
    assert sum(chosen["monthly_cost_eur_by_env"].values()) == pytest.approx(chosen["monthly_cost_eur"], abs=0.02)


def test_env_costs_one_environment(bundled):
    result = run("decide", bundled, "--format", "json", "--env", "prod")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["env"] == "prod" and data["cost_scope"] == "environment prod"
    assert {line["env"] for o in data["options"] for line in o["cost_breakdown"]} == {"prod"}
    whole = json.loads(run("decide", bundled, "--format", "json").stdout)
    assert data["target"] == whole["target"], "--env shows costs; it never changes the choice"
    assert data["options"][0]["monthly_cost_eur"] == whole["options"][0]["monthly_cost_eur_by_env"]["prod"]
    # prod's feasibility, checked on prod's own traffic, for every option
    assert all(set(o["feasible_by_env"]) == {"prod"} == set(o["violations_by_env"]) for o in data["options"])
    assert all(set(o["feasible_by_env"]) == {"dev", "staging", "prod"} for o in whole["options"])
    assert any(r.startswith("prod is checked on its own traffic: ") for r in data["reasons"])
    assert not any("is checked on its own traffic" in r for r in whole["reasons"])


def test_none_feasible_exits_1_naming_the_conflict(tmp_path, repo_root):
    data = _bundled_data(repo_root)
    data["data"]["sovereignty"] = "on_premise"
    del data["onprem"]
    path = _write(tmp_path, data)
    result = run("decide", path, "--format", "json")
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    assert out["target"] is None and out["feasible"] is False and out["components"] == []
    assert result.stderr.startswith(
        f"Error: {path}: no target is feasible: aws-eks, aws-sagemaker: data.sovereignty is 'on_premise': the data "
        "may not leave your premises, so no cloud target can process it; "
    )
    assert (
        "; onprem-k8s: data must stay on premise (data.sovereignty: on_premise) but no on-premise cluster is "
        "declared: no `onprem` block; declare it with onprem.kube_context (and onprem.gpu_nodes for GPU models)"
    ) in result.stderr
    table = run("decide", path)
    assert table.exit_code == 1
    assert "churn-scoring -> no feasible target" in table.stdout


def test_gpu_without_gpu_nodes_names_the_conflict(tmp_path, repo_root):
    data = _bundled_data(repo_root)
    data["data"]["sovereignty"] = "on_premise"
    data["models"][0]["resources"]["gpus"] = 1
    path = _write(tmp_path, data)
    result = run("decide", path)
    assert result.exit_code == 1
    assert (
        "onprem-k8s: GPU model 'churn' (1 per replica) needs GPUs but onprem.gpu_nodes is 0; declare the cluster's "
        "GPU nodes (onprem.gpu_nodes, onprem.gpus_per_node) or serve the models on CPU"
    ) in result.stderr
    assert "GPU model 'churn' (1 per replica) needs GPUs but onprem.gpu_nodes is 0" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--env", "qa"], "environment 'qa' is not in the profile; declared: dev, staging, prod", id="unknown-env"),
        pytest.param(["--force"], "--force only applies together with --adr DIR", id="force-without-adr"),
        pytest.param(["--format", "yaml"], "'yaml' is not one of 'table', 'json'", id="bad-format"),
    ],
)
def test_usage_errors_exit_2(bundled, args, message):
    result = run("decide", bundled, *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_profile_errors_exit_1(tmp_path):
    missing = tmp_path / "nope.yaml"
    result = run("decide", str(missing))
    assert result.exit_code == 1
    assert f"{missing}: 1 problem\n  file not found; pass the path of a profile YAML file" in result.stderr


def test_unknown_price_override_exits_1(tmp_path, repo_root):
    data = _bundled_data(repo_root)
    data["costs"] = {"prices": {"ec2/m6i.larg/eu-central-1": 0.1}}
    path = _write(tmp_path, data)
    result = run("decide", path)
    assert result.exit_code == 1
    assert "unknown price key 'ec2/m6i.larg/eu-central-1'; did you mean 'ec2/m6i.large/eu-central-1'?" in result.stderr


def test_decision_targets_not_installed_exits_1(tmp_path, repo_root):
    data = _bundled_data(repo_root)
    data["decision"] = {"targets": ["gcp-vertex"]}
    result = run("decide", _write(tmp_path, data))
    assert result.exit_code == 1
    assert "decision.targets names 'gcp-vertex', which is not installed" in result.stderr


def test_adr_written_then_overwrite_refused(tmp_path, bundled):
    adr_dir = tmp_path / "docs" / "adr"
    first = run("decide", bundled, "--adr", str(adr_dir), "--format", "json")
    assert first.exit_code == 0
    record = adr_dir / "0001-deployment-target.md"
    assert f"ADR written: {record}" in first.stderr
    json.loads(first.stdout)  # the notice goes to stderr, stdout stays JSON
    text = record.read_text(encoding="utf-8")
    assert text.startswith("# 0001. Deployment target for churn-scoring: aws-sagemaker\n")

    again = run("decide", bundled, "--adr", str(adr_dir))
    assert again.exit_code == 0 and f"ADR unchanged: {record}" in again.stderr

    record.write_text(text + "\nReviewed by the platform team.\n", encoding="utf-8")
    refused = run("decide", bundled, "--adr", str(adr_dir))
    assert refused.exit_code == 1
    assert f"refusing to overwrite {record}: edited since mlinfra decide --adr wrote it; " in refused.stderr
    assert "pass --force to overwrite it" in refused.stderr
    assert record.read_text(encoding="utf-8").endswith("Reviewed by the platform team.\n")

    forced = run("decide", bundled, "--adr", str(adr_dir), "--force")
    assert forced.exit_code == 0 and f"ADR overwritten: {record}" in forced.stderr
    assert record.read_text(encoding="utf-8") == text


def test_prices_json_lists_every_price_with_provenance():
    result = run("prices", "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["version"] == "2026-11-26.3"
    assert data["usd_to_eur"]["value"] == 0.8573
    by_key = {p["key"]: p for p in data["prices"]}
    assert by_key["ec2/m6i.large/eu-central-1"]["value"] == 0.115
    assert by_key["ec2/m6i.large/eu-central-1"]["confidence"] == "A"
    assert by_key["sagemaker/ml.m5.large/eu-central-1"]["confidence"] == "U"
    assert by_key["sagemaker/ml.m5.large/eu-central-1"]["derivation"].startswith("estimated: sagemaker/ml.m5.large/us-east-1")


def test_prices_with_profile_overrides(tmp_path, repo_root):
    data = _bundled_data(repo_root)
    data["costs"] = {"prices": {"nat/hour/eu-central-1": 0.049}, "usd_to_eur": 0.91}
    result = run("prices", "--profile", _write(tmp_path, data))
    assert result.exit_code == 0
    assert "USD->EUR 0.91 (profile)" in result.stdout
    row = next(line for line in result.stdout.splitlines() if "nat/hour/eu-central-1" in line)
    assert "0.049" in row and "A *" in row


# ---------------------------------------------------------------------------------------------------------
# Break-even and --plot


def test_plot_draws_every_priced_option_into_an_svg(bundled, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "costs.svg"
    result = run("decide", bundled, "--plot", str(out))
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert svg.startswith("<?xml") and "<svg" in svg
    for target in ("aws-sagemaker (chosen)", "onprem-k8s", "aws-eks"):
        assert target in svg
    again = tmp_path / "again.svg"
    run("decide", bundled, "--plot", str(again))
    assert again.read_bytes() == out.read_bytes(), "the same decision draws the same file"


def test_plot_needs_an_svg_or_png_file(bundled, tmp_path):
    result = run("decide", bundled, "--plot", str(tmp_path / "costs.pdf"))
    assert result.exit_code == 2
    assert "Invalid value for --plot: " in result.output and "is neither .svg nor .png" in result.output


def test_plot_without_matplotlib_names_the_extra(bundled, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    result = CliRunner(env=ENV).invoke(cli, ["decide", bundled, "--plot", str(tmp_path / "c.png")])
    assert result.exit_code == 1
    assert "--plot needs matplotlib, which is not installed; install it with `pip install 'mlinfra[plot]'`" in result.output
    assert "Traceback" not in result.output


def test_json_carries_the_cost_curves_around_todays_traffic(bundled):
    data = json.loads(run("decide", bundled, "--format", "json").stdout)
    today = data["average_rps"]
    assert today == 5.0
    for curve in data["cost_curves"]:
        xs = [p["average_rps"] for p in curve["points"]]
        assert xs == [today * f for f in (0.0625, 0.125, 0.25, 0.5, 1, 2, 4, 8, 16)]
        option = next(o for o in data["options"] if o["target"] == curve["target"])
        assert curve["points"][4]["monthly_eur"] == option["monthly_cost_eur"], "today's point is the decision's cost"


def test_env_table_says_an_option_ruled_out_elsewhere_holds_this_environment(tmp_path, repo_root):
    """On-prem prod's own peak does not fit 3 CPU nodes, dev's does: `--env dev` says so in the table."""
    data = {
        "version": 1, "name": "svc", "environments": ["dev", "prod"],
        "models": [{"name": "scorer", "framework": "sklearn", "artifact": "s3://b/scorer",
                    "resources": {"cpu": 1, "memory_gib": 2}, "traffic": {"average_rps": 900, "peak_rps": 2000},
                    "slo": {"latency_p95_ms": 300, "availability": 0.995}}],
        "security": {"exposure": "internal", "authentication": "api_key"},
        "onprem": {"kube_context": "dc", "cpu_nodes": 3}, "cloud": {"region": "eu-central-1"},
    }
    path = _write(tmp_path, data)
    out = run("decide", path, "--env", "dev").stdout
    row = next(line for line in out.splitlines() if "onprem-k8s" in line and "│" in line)
    assert "no (yes in dev)" in row
    assert "dev is checked on its own traffic: " in out.replace("\n", " ")
