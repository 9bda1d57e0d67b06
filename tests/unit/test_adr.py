"""The architecture decision record: content, determinism, strict templates, overwrite protection."""

from __future__ import annotations

import json

import pytest

from mlinfra.decision.adr import ADR_FILE, ADR_MANIFEST, render_adr, write_adr
from mlinfra.targets.resolve import decision_for as decide
from mlinfra.profiles import load_profile, profile_from_data
from mlinfra.files.writer import WriteError


@pytest.fixture(scope="module")
def bundled(repo_root):
    profile = load_profile(repo_root / "stacks" / "profile.yaml")
    return profile, decide(profile)


def _sections(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("## ")]


def test_adr_has_context_options_decision_consequences(bundled):
    profile, decision = bundled
    text = render_adr(decision, profile)
    assert text.startswith("# 0001. Deployment target for churn-scoring: aws-sagemaker\n")
    assert _sections(text) == ["## Context", "## Options", "## Over time and with traffic", "## Decision",
                               "## Consequences", "## Operations"]
    assert "| churn | sklearn | 1 CPU, 2 GiB | 5 / 40 | 250 ms, 0.995 |" in text
    assert "- Data: sovereignty `eu`, classification `personal`." in text
    assert ("We deploy `churn-scoring` to **aws-sagemaker** with the component set SageMakerEndpoint, "
            "CloudWatchMonitoring, ") in text and "SageMakerEdge." in text
    # every option with its cost, the estimated ones marked
    for option in decision.options:
        assert f"### {option.target}: {option.title}" in text
    sagemaker = next(o for o in decision.options if o.target == "aws-sagemaker")
    assert f"| aws-sagemaker | yes | ≈ {sagemaker.monthly_cost_eur:,.2f} |" in text  # derived eu-central-1 prices
    assert "| onprem-k8s | yes | 430.07 |" in text  # on-prem uses profile assumptions only: exact
    assert "- Callers reach the endpoints through an API Gateway HTTP API and a Lambda proxy" in text  # consequences
    assert "review the diff.\n\n## Operations\n" in text


def test_adr_holds_the_totals_over_the_horizon_and_the_break_even(bundled):
    """The record says what the decision-maker asks next: the totals over decision.horizon_years and where another
    option would be cheaper."""
    profile, decision = bundled
    text = render_adr(decision, profile)
    years = profile.decision.horizon_years
    assert f"Totals over {years} years (decision.horizon_years) for every environment (dev, staging, prod)" in text
    for o in decision.options:
        if o.horizon:
            h = o.horizon
            assert f"| {o.target} | {'≈ ' if o.estimated else ''}{h.on_demand_eur:,.2f} |" in text
            for name, total in h.commitments:
                assert f"≈ {total:,.2f} ({name})" in text
    assert f"today {decision.average_rps:g} req/s average over all models" in text


def test_adr_names_the_break_even_traffic():
    """On premise against SageMaker (test_decision pins the crossing near 30 req/s): the record carries the sentence."""
    profile = profile_from_data({
        "version": 1, "name": "svc", "environments": ["dev", "prod"],
        "models": [{"name": "scorer", "framework": "sklearn", "artifact": "s3://b/scorer",
                    "resources": {"cpu": 1, "memory_gib": 2}, "traffic": {"average_rps": 5, "peak_rps": 10},
                    "slo": {"latency_p95_ms": 300, "availability": 0.995}}],
        "data": {"sovereignty": "none", "classification": "internal"},
        "security": {"exposure": "internal", "authentication": "api_key"},
        "onprem": {"kube_context": "dc", "cpu_nodes": 4}, "cloud": {"region": "eu-central-1"},
    })
    decision = decide(profile)
    text = render_adr(decision, profile)
    (b,) = [b for b in decision.break_even if b.cheaper_above == "onprem-k8s"]
    assert f"- break-even: onprem-k8s costs less than {b.cheaper_below} above ~" in text
    assert f"- {b.text(decision.average_rps)}\n" in text


def test_adr_names_the_cheapest_when_there_is_no_break_even():
    profile = load_profile_data_one_option()
    decision = decide(profile)
    text = render_adr(decision, profile)
    assert decision.cost_curves and not decision.break_even
    assert "no break-even from 0.0625 to 16 times today's traffic nor across peak ratios 1 to 16: " in text


def load_profile_data_one_option():
    """Steady small CPU traffic in the cloud: SageMaker Serverless stays cheaper than EKS at every scale swept."""
    return profile_from_data({
        "version": 1, "name": "tiny", "environments": ["dev", "prod"],
        "models": [{"name": "m", "framework": "sklearn", "artifact": "s3://b/m",
                    "traffic": {"average_rps": 0.5, "peak_rps": 1}, "slo": {"latency_p95_ms": 8000, "availability": 0.99}}],
        "security": {"exposure": "internal", "authentication": "api_key"},
    })


def test_adr_is_deterministic(bundled):
    profile, decision = bundled
    again = decide(profile)
    assert render_adr(decision, profile) == render_adr(again, profile)


def test_adr_for_an_infeasible_profile():
    profile = profile_from_data(
        {
            "version": 1,
            "name": "vault",
            "models": [
                {
                    "name": "m",
                    "framework": "onnx",
                    "artifact": "s3://b/m",
                    "traffic": {"average_rps": 2, "peak_rps": 3},
                    "slo": {"latency_p95_ms": 90, "availability": 0.99},
                }
            ],
            "data": {"sovereignty": "on_premise", "classification": "confidential"},
        }
    )
    text = render_adr(decide(profile), profile)
    assert text.startswith("# 0001. Deployment target for vault: no feasible option\n")
    assert "No option is feasible, so nothing is deployed until a requirement changes." in text
    assert "- no target is feasible: aws-eks, aws-sagemaker: data.sovereignty is 'on_premise'" in text
    assert "onprem-k8s: data must stay on premise (data.sovereignty: on_premise) but no on-premise cluster" in text
    assert "- On premise: no cluster declared." in text


def test_template_is_strict(tmp_path, bundled):
    profile, decision = bundled
    template = tmp_path / "adr.md.j2"
    template.write_text("# {{ d.target }} {{ d.no_such_field }}\n", encoding="utf-8")
    import jinja2

    with pytest.raises(jinja2.UndefinedError, match="no_such_field"):
        render_adr(decision, profile, template=template)


def test_write_refuses_to_overwrite_an_edited_record(tmp_path):
    path, what = write_adr(tmp_path / "adr", "first\n")
    assert (path, what) == (tmp_path / "adr" / ADR_FILE, "written")
    assert write_adr(tmp_path / "adr", "first\n") == (path, "unchanged")
    assert write_adr(tmp_path / "adr", "second\n") == (path, "updated"), "an unedited older record is updated"
    path.write_text("second\nedited by a reviewer\n", encoding="utf-8")
    with pytest.raises(WriteError, match=r"refusing to overwrite .*0001-deployment-target.md: edited since mlinfra "
                                         r"decide --adr wrote it; .* pass --force to overwrite it"):
        write_adr(tmp_path / "adr", "third\n")
    assert path.read_text(encoding="utf-8") == "second\nedited by a reviewer\n"
    assert write_adr(tmp_path / "adr", "third\n", force=True) == (path, "overwritten")
    assert path.read_text(encoding="utf-8") == "third\n"
    manifest = json.loads((tmp_path / "adr" / ADR_MANIFEST).read_text(encoding="utf-8"))
    assert (manifest["generator"], [f["path"] for f in manifest["files"]]) == ("mlinfra decide --adr", [ADR_FILE])


def test_write_refuses_a_record_mlinfra_never_wrote(tmp_path):
    (tmp_path / ADR_FILE).write_text("# 0001. Our own record\n", encoding="utf-8")
    with pytest.raises(WriteError, match=r"not written by mlinfra decide --adr; .* pass --force"):
        write_adr(tmp_path, "generated\n")
    assert write_adr(tmp_path, "generated\n", force=True) == (tmp_path / ADR_FILE, "overwritten")
