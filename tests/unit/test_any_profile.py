"""Profiles nobody wrote by hand: any valid profile decides, plans and renders without an unexpected error.

hypothesis draws valid profiles across the whole contract (frameworks, GPUs, artifacts, traffic, sovereignty,
exposure, clusters, environments and their overrides, receivers) and checks the pure pipeline end to end:
the decision is well formed, and every environment renders to parseable, deterministic, None-free files on
each Kubernetes target the profile can use. Speed is not asserted here (see bench/).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from profile_strategies import profiles

from mlinfra.manifests.common import find_none
from mlinfra.cli.main import cli
from mlinfra.targets.resolve import decision_for as decide
from mlinfra.planning.plan import PlanError
from mlinfra.profiles import profile_from_data
from mlinfra.targets.registry import get_target


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=profiles())
def test_any_valid_profile_decides_and_renders(data):
    profile = profile_from_data(data)
    decision = decide(profile)
    result = decision.to_dict()
    _decide_cli_prints(data, decision.target)
    json.dumps(result)  # JSON-serialisable, as `decide --format json` prints it
    assert result["feasible"] == (result["target"] is not None)
    assert {o["target"] for o in result["options"]} >= {"aws-eks", "aws-sagemaker", "onprem-k8s"}
    for option in result["options"]:
        assert option["feasible"] == (not option["violations"]), option
    if not result["feasible"]:
        assert result["reasons"], "an infeasible decision must say why"

    targets = ["onprem-k8s"] if profile.onprem else []
    targets.append("aws-eks")
    for env in profile.environment_names:
        for target in targets:
            try:
                files = get_target(target).render(profile, env)
            except PlanError as exc:  # a clear, user-facing refusal is fine; a crash is not
                assert str(exc)
                continue
            again = get_target(target).render(profile, env)
            assert [(f.path, f.text) for f in files] == [(f.path, f.text) for f in again], "render is deterministic"
            for f in files:
                if f.path.endswith(".json"):  # Grafana dashboards: null is meaningful there (threshold base)
                    assert isinstance(json.loads(f.text), dict), f.path
                    continue
                if f.path.endswith(".md"):  # SECRETS.md: how to create the Secrets render never writes
                    assert "kubectl" in f.text and "<pulumi secret:" not in f.text, f.path
                    continue
                docs = list(yaml.safe_load_all(f.text))
                assert all(d is not None for d in docs), f.path
                assert [p for d in docs for p in find_none(d)] == [], f"{f.path} holds a null value"


def _decide_cli_prints(data: dict, target: str | None) -> None:
    """`mlinfra decide` prints the table for this profile: exit 0 with a target, 1 without, never a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "profile.yaml"
        path.write_text(yaml.safe_dump(data))
        result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "100"}).invoke(
            cli, ["decide", str(path)], catch_exceptions=False
        )
    assert result.exit_code == (0 if target else 1), result.output
    assert (f"-> {target}" in result.output) if target else ("no target" in result.output.lower()), result.output
