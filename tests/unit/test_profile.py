"""The requirements profile: good and bad cases with the exact user-facing messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from profile_data import changed

from mlinfra.profiles import Profile, ProfileError, load_profile, profile_from_data
from mlinfra.profiles.environments import UnknownEnvironment, resolve_environment, tier_for
from mlinfra.profiles.schema import profile_json_schema

BASE = {
    "version": 1,
    "name": "fraud-check",
    "environments": ["dev", "prod"],
    "models": [
        {
            "name": "fraud",
            "framework": "xgboost",
            "artifact": "s3://models/fraud/v11",
            "resources": {"cpu": 3, "memory_gib": 7},
            "traffic": {"average_rps": 13, "peak_rps": 170},
            "slo": {"latency_p95_ms": 190, "availability": 0.997},
        }
    ],
}


def with_(**changes) -> dict:
    """BASE with dotted-path changes, e.g. with_(**{"models.0.framework": "x"}); None deletes."""
    return changed(BASE, **changes)


def problems(data) -> list[str]:
    with pytest.raises(ProfileError) as exc:
        profile_from_data(data, "p.yaml")
    return [str(p) for p in exc.value.problems]


# --- good profiles ----------------------------------------------------------------------------------------


def test_minimal_profile_gets_documented_defaults():
    profile = profile_from_data(BASE)
    assert profile.data.sovereignty == "none"
    assert profile.security.exposure == "internal"
    assert profile.team.kubernetes_skills == "basic"
    assert profile.monitoring.retention_days == 30  # the 30-day SLO window
    assert profile.monitoring.grafana_admin_password_secret == "grafanaAdminPassword"
    assert profile.monitoring.runbook_url == "https://github.com/mlinfra/mlinfra/blob/main/docs/runbooks.md"
    assert profile.region == "eu-central-1"
    assert profile.models[0].resources.gpus == 0


def test_contract_sample_loads_with_team_name_and_skills(repo_root: Path):
    """The v1 contract shows `team: <name>` and `team: {skills}` in one file; both are kept."""
    profile = load_profile(repo_root / "stacks" / "profile.yaml")
    assert profile.team.name == "data-platform"
    assert profile.team.kubernetes_skills == "basic"
    assert profile.team.ops_fte == 0.5
    assert [n.type for n in profile.monitoring.notify] == ["email", "slack"]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"data": {"sovereignty": "eu"}, "cloud": {"region": "eu-west-3"}}, id="eu-paris"),
        pytest.param({"data": {"sovereignty": "eu"}}, id="eu-without-cloud-block"),
        pytest.param({"data": {"sovereignty": "on_premise"}, "cloud": {"region": "us-west-2"}}, id="onprem-any-cloud"),
        pytest.param(
            {"security": {"exposure": "public", "authentication": "none"}, "data": {"classification": "public"}},
            id="public-open-data",
        ),
        pytest.param({"models.0.framework": "custom", "models.0.image": "ghcr.io/acme/scorer:1.4.2"}, id="custom-image"),
        pytest.param({"models.0.artifact": "pvc://model-store/fraud/v11"}, id="pvc"),
        pytest.param({"environments": {"dev": None, "prod": {"min_replicas": 3, "max_replicas": 9}}}, id="env-mapping"),
        pytest.param({"models.0.traffic": {"average_rps": 0, "peak_rps": 0}}, id="no-traffic"),
        pytest.param({"monitoring": {"runbook_url": "https://wiki.example.com/ml/runbooks",
                                     "grafana_admin_password_secret": "opsGrafana_pw-2"}}, id="runbooks-grafana-key"),
    ],
)
def test_valid_variants(changes):
    assert isinstance(profile_from_data(with_(**changes)), Profile)


# --- bad profiles: every message names the field, what was found and what is allowed -------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            with_(**{"cloud": {"region": "us-east-1"}, "data": {"sovereignty": "eu"}}),
            "data.sovereignty is 'eu' but cloud.region is 'us-east-1'; use an EU region",
            id="eu-sovereignty-us-region",
        ),
        pytest.param(
            with_(**{"cloud": {"region": "eu-west-2"}, "data": {"sovereignty": "eu"}}),
            "cloud.region is 'eu-west-2' (in Europe but outside the EU)",
            id="eu-sovereignty-london",
        ),
        pytest.param(
            with_(
                **{
                    "security": {"exposure": "public", "authentication": "none"},
                    "data": {"classification": "personal"},
                }
            ),
            "security.exposure is 'public' and data.classification is 'personal' but security.authentication is 'none'",
            id="public-personal-no-auth",
        ),
        pytest.param(
            with_(**{"models.0.framework": "custom"}),
            "models[0]: model 'fraud': framework 'custom' needs an image; set models[].image",
            id="custom-without-image",
        ),
        pytest.param(
            with_(**{"models.0.artifact": "pvc://fraud-models/v3", "models.0.artifact_credentials_secret": "fraudCreds"}),
            "models[0]: model 'fraud': artifact_credentials_secret 'fraudCreds' is set but the artifact "
            "pvc://fraud-models/v3 is mounted from its claim and reads no credentials; remove it",
            id="credentials-for-a-pvc-artifact",
        ),
        pytest.param(
            with_(**{"models.0.traffic": {"average_rps": 31, "peak_rps": 29}}),
            "models[0].traffic: peak_rps (29) is below average_rps (31); peak_rps must be at least average_rps",
            id="peak-below-average",
        ),
        pytest.param(
            with_(**{"models.0.framework": "sklern"}),
            "models[0].framework: input should be 'sklearn', 'xgboost', 'lightgbm', 'onnx', 'pytorch', "
            "'tensorflow', 'huggingface', 'llm' or 'custom' (got 'sklern')",
            id="framework-typo-lists-allowed",
        ),
        pytest.param(
            with_(**{"models.0.resouces": {"cpu": 2}}),
            "models[0].resouces: unknown field; did you mean 'resources'?",
            id="unknown-key-did-you-mean",
        ),
        pytest.param(
            with_(**{"paint": "blue"}),
            "paint: unknown field (allowed: autoscaling, budget, cloud, costs, data, decision, environments, models, "
            "monitoring, name, onprem, owners, security, team, version)",
            id="unknown-key-lists-allowed",
        ),
        pytest.param(
            with_(**{"name": "Fraud_Check"}),
            "name: must be an RFC 1123 label: lower-case letters, digits and '-', starting and ending with a "
            "letter or digit (got 'Fraud_Check')",
            id="name-not-rfc1123",
        ),
        pytest.param(
            with_(**{"models.0.artifact": "ftp://models/fraud"}),
            "models[0].artifact: artifact must start with s3://, pvc://, oci:// or https:// followed by a letter or "
            "digit, and contain no spaces or control characters (got 'ftp://models/fraud')",
            id="artifact-scheme",
        ),
        pytest.param(
            with_(**{"models.0.slo": {"latency_p95_ms": 190, "availability": 99.5}}),
            "models[0].slo.availability: input should be less than 1 (got 99.5)",
            id="availability-as-percent",
        ),
        pytest.param(
            with_(**{"monitoring": {"notify": [{"type": "sms", "to": "+49"}]}}),
            "monitoring.notify[0]: type 'sms' is not known; allowed: 'email', 'slack', 'msteams', 'webhook', 'pagerduty'",
            id="notify-type",
        ),
        pytest.param(
            with_(**{"monitoring": {"notify": [{"type": "slack", "webhook": "https://hooks.slack.com/x"}]}}),
            "monitoring.notify[0].webhook: unknown field; did you mean 'webhook_secret'?",
            id="slack-url-instead-of-secret-key",
        ),
        pytest.param(
            with_(**{"environments": {"prod": {"min_replicas": 5, "max_replicas": 4}}}),
            "environments.prod: min_replicas (5) is above max_replicas (4); set min_replicas <= max_replicas",
            id="env-min-above-max",
        ),
        pytest.param(
            with_(**{"environments": {"dev": {"kube_context": ""}}}),
            "environments.dev.kube_context: must be a kubeconfig context name: letters, digits and . _ : @ / + -, "
            "starting with a letter or digit, on one line (got '')",
            id="env-empty-kube-context",
        ),
        pytest.param(
            with_(**{"environments": ["dev", "dev"]}),
            "environments: environment names must be unique; repeated: dev",
            id="env-duplicate",
        ),
        pytest.param(
            with_(**{"models": [BASE["models"][0], BASE["models"][0]]}),
            "models: model names must be unique; repeated: fraud",
            id="model-duplicate",
        ),
        pytest.param(with_(**{"models": []}), "models: list should have at least 1 item after validation, not 0", id="no-models"),
        pytest.param(with_(**{"version": 2}), "version: input should be 1 (got 2)", id="version"),
        pytest.param(
            with_(**{"monitoring": {"runbook_url": "https://wiki.example.com/runbooks#top"}}),
            "monitoring.runbook_url: must be an http(s) URL without spaces or a #fragment (each alert appends "
            "#<alert>), e.g. https://wiki.example.com/ml/runbooks (got 'https://wiki.example.com/runbooks#top')",
            id="runbook-url-fragment",
        ),
        pytest.param(
            with_(**{"monitoring": {"runbook_url": "wiki.example.com/runbooks"}}),
            "monitoring.runbook_url: must be an http(s) URL", id="runbook-url-scheme",
        ),
        pytest.param(
            with_(**{"monitoring": {"grafana_admin_password_secret": "s3cr3t pass"}}),
            "monitoring.grafana_admin_password_secret: string should match pattern '^[A-Za-z][A-Za-z0-9_-]*$' "
            "(got 's3cr3t pass')",
            id="grafana-key-not-a-key-name",
        ),
        pytest.param(with_(**{"models.0.traffic": None}), "models[0].traffic: required field is missing", id="missing"),
    ],
)
def test_bad_profile_messages(data, expected):
    found = problems(data)
    assert any(expected in p for p in found), found


def test_all_problems_are_reported_together():
    data = with_(**{"name": "X", "models.0.framework": "sklern", "models.0.colour": "red", "budget": {"monthly_eur": -5}})
    found = problems(data)
    assert len(found) == 4, found
    assert [p.split(":")[0] for p in found] == ["name", "models[0].framework", "models[0].colour", "budget.monthly_eur"]


# --- loading files -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("version: 1\nname: [unclosed\n", "line 3, column 1: YAML syntax error", id="syntax"),
        pytest.param("- just\n- a list\n", "a profile is a YAML mapping of fields (got list)", id="not-mapping"),
        pytest.param("", "a profile is a YAML mapping of fields (got empty)", id="empty"),
        pytest.param("version: 1\nname: a\nname: b\n", "line 3: duplicate key 'name'", id="duplicate-key"),
        pytest.param("version: 1\nteam: a\nteam: b\n", "line 3: duplicate key 'team'", id="two-team-names"),
        pytest.param(
            "version: 1\nmonitoring:\n  drift: true\n  drift: false\n", "line 4: duplicate key 'drift'", id="nested-duplicate"
        ),
    ],
)
def test_file_level_problems(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "profile.yaml"
    path.write_text(text)
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    report = exc.value.report()
    assert report.startswith(f"{path}: 1 problem\n"), report
    assert expected in report


def test_missing_file_names_the_file(tmp_path: Path):
    with pytest.raises(ProfileError) as exc:
        load_profile(tmp_path / "nope.yaml")
    assert exc.value.report() == f"{tmp_path / 'nope.yaml'}: 1 problem\n  file not found; pass the path of a profile YAML file"


def test_report_counts_problems(tmp_path: Path):
    path = tmp_path / "p.yaml"
    path.write_text("version: 3\nname: OK_NOT\n")
    with pytest.raises(ProfileError) as exc:
        load_profile(path)
    assert exc.value.report().splitlines()[0] == f"{path}: 3 problems"


# --- environments ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tier"),
    [("prod", "prod"), ("production", "prod"), ("staging", "staging"), ("preprod", "staging"), ("dev", "dev"), ("sandbox", "dev")],
)
def test_tier_from_name(name, tier):
    assert tier_for(name) == tier


def test_prod_defaults_to_high_availability_and_dev_to_minimal():
    profile = profile_from_data(BASE)
    dev, prod = resolve_environment(profile, "dev"), resolve_environment(profile, "prod")
    assert (dev.min_replicas, dev.alerts_page, dev.protect, dev.high_availability) == (1, False, False, False)
    assert (prod.min_replicas, prod.alerts_page, prod.protect, prod.high_availability) == (2, True, True, True)


def test_environment_overrides_win():
    profile = profile_from_data(
        with_(environments={"qa": {"tier": "prod", "min_replicas": 3, "max_replicas": 8, "alerts_page": False, "retention_days": 21}})
    )
    qa = resolve_environment(profile, "qa")
    assert (qa.tier, qa.min_replicas, qa.max_replicas, qa.alerts_page, qa.retention_days) == ("prod", 3, 8, False, 21)


def test_environment_kube_context_defaults_to_the_onprem_one():
    profile = profile_from_data(
        with_(environments={"dev": {"kube_context": "lab-3"}, "prod": None}, onprem={"kube_context": "dc-9"})
    )
    assert [resolve_environment(profile, e).kube_context for e in ("dev", "prod")] == ["lab-3", "dc-9"]
    assert resolve_environment(profile_from_data(BASE), "dev").kube_context is None, "no onprem block, no context"


def test_explicit_ceiling_lowers_the_tier_floor():
    profile = profile_from_data(with_(environments={"prod": {"max_replicas": 1}}))
    assert resolve_environment(profile, "prod").min_replicas == 1


def test_unknown_environment_lists_declared_ones():
    with pytest.raises(UnknownEnvironment, match=r"environment 'qa' is not in the profile; declared: dev, prod"):
        resolve_environment(profile_from_data(BASE), "qa")


# --- schema ----------------------------------------------------------------------------------------------


def test_json_schema_validates_the_examples(repo_root: Path):
    import jsonschema
    import yaml

    schema = profile_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in [repo_root / "stacks" / "profile.yaml", *(repo_root / "docs" / "examples").glob("*.yaml")]:
        data = yaml.safe_load(path.read_text())
        if isinstance(data.get("team"), dict) and "name" not in data["team"]:
            data["team"] = {**data["team"]}
        jsonschema.validate(data, schema)
    assert schema["properties"]["models"]["minItems"] == 1
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        pytest.param("a\x1eb", "'a\\x1eb'", id="control-char"),
        pytest.param("two words", "'two words'", id="space"),
        pytest.param("a.b", "'a.b'", id="dot"),
        pytest.param("", "''", id="empty"),
    ],
)
def test_unusual_unknown_keys_are_quoted_on_one_line(key, shown):
    found = problems(with_(**{"team": {key: 1}}))
    assert found == [f"team.{shown}: unknown field (allowed: kubernetes_skills, name, ops_fte)"]
    assert all(len(p.splitlines()) == 1 for p in found)


def test_only_secret_key_fields_end_in_secret():
    """Fields ending in `_secret` name Pulumi secret config keys (guardrails/preview/scaffold rely on that)."""
    from mlinfra.guardrails.secrets import secret_config_keys

    data = with_(
        security={"tls_secret_name": "wildcard-tls", "exposure": "internal"},
        monitoring={"notify": [{"type": "slack", "webhook_secret": "hookKey"}]},
    )
    assert secret_config_keys(profile_from_data(data)) == ["grafanaAdminPassword", "hookKey"]


def test_found_values_with_line_breaks_stay_on_one_line():
    found = problems(with_(version={"\n\n": 0}))
    assert found == ["version: input should be 1 (got {'\\n\\n': 0})"]
