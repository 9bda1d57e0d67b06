"""`mlinfra validate` and `mlinfra schema`: exit codes, messages, and no traceback for any malformed profile."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mlinfra.cli.main import cli

ENV = {"NO_COLOR": "1", "COLUMNS": "120"}
BASE = yaml.safe_load((Path(__file__).resolve().parents[2] / "stacks" / "profile.yaml").read_text())


def run(*args: str):
    return CliRunner(env=ENV).invoke(cli, list(args), catch_exceptions=False)


def test_valid_profile(repo_root: Path):
    result = run("validate", str(repo_root / "stacks" / "profile.yaml"))
    assert result.exit_code == 0
    assert "valid - churn-scoring, 1 model (churn), environments dev, staging, prod" in result.output


def test_valid_profile_json(repo_root: Path):
    result = run("validate", str(repo_root / "docs" / "examples" / "gpu-onprem.yaml"), "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {
        "environments": ["dev", "prod"],
        "models": ["damage-detector", "claims-assistant"],
        "name": "claims-vision",
        "profile": str(repo_root / "docs" / "examples" / "gpu-onprem.yaml"),
        "secret_config_keys": [
            {"key": "pagerdutyRoutingKey", "holds": "PagerDuty Events API v2 routing key",
             "fields": ["monitoring.notify[0].routing_key_secret"], "every_stack": False},
            {"key": "teamsWebhookUrl", "holds": "Microsoft Teams webhook URL",
             "fields": ["monitoring.notify[1].webhook_secret"], "every_stack": False},
            {"key": "incidentWebhookUrl", "holds": "webhook URL", "fields": ["monitoring.notify[2].url_secret"],
             "every_stack": False},
            {"key": "grafanaAdminPassword", "holds": "Grafana admin password (user admin; Kubernetes targets)",
             "fields": ["monitoring.grafana_admin_password_secret"], "every_stack": False},
        ],
        "valid": True,
        "warnings": [
            {"path": "models[0].slo.latency_p95_ms",
             "message": "the 400 ms SLO lies between triton's latency bucket edges 100 ms and 500 ms: it is measured "
                        "at 500 ms (requests between 400 ms and 500 ms count as fast); set it to 100 ms or 500 ms to "
                        "measure it exactly"},
            {"path": "models[1].slo.latency_p95_ms",
             "message": "the 8000 ms SLO lies between vllm's latency bucket edges 5000 ms and 10000 ms: it is "
                        "measured at 10000 ms (requests between 8000 ms and 10000 ms count as fast); set it to "
                        "5000 ms or 10000 ms to measure it exactly"},
        ],
    }


def test_valid_profile_names_the_secret_config_keys_it_needs(repo_root: Path, tmp_path: Path):
    """Artifact credentials of an s3:// model are a secret config key every stack needs; validate says so."""
    data = yaml.safe_load((repo_root / "docs" / "examples" / "gpu-onprem.yaml").read_text())
    data["models"][1]["artifact_credentials_secret"] = "assistantArtifactConfig"
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run("validate", str(path))
    assert result.exit_code == 0, result.output
    assert ("  assistantArtifactConfig: claims-assistant's artifact credentials (AWS CLI config file) "
            "(models[1].artifact_credentials_secret; every stack)" in result.output)
    assert "  grafanaAdminPassword: Grafana admin password (user admin; Kubernetes targets) " \
           "(monitoring.grafana_admin_password_secret)" in result.output


def test_invalid_profile_exit_1_and_lists_problems(tmp_path: Path):
    bad = copy.deepcopy(BASE)
    bad["models"][0]["framework"] = "scikit"
    bad["security"]["exposur"] = "public"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == f"Error: {path}: 2 problems"
    assert "  models[0].framework: input should be 'sklearn'," in result.output
    assert "  security.exposur: unknown field; did you mean 'exposure'?" in result.output
    assert "Traceback" not in result.output


def test_missing_file_exit_1(tmp_path: Path):
    result = run("validate", str(tmp_path / "gone.yaml"))
    assert result.exit_code == 1
    assert f"{tmp_path / 'gone.yaml'}: 1 problem" in result.output


def test_bad_option_is_usage_error(repo_root: Path):
    result = run("validate", str(repo_root / "stacks" / "profile.yaml"), "--format", "xml")
    assert result.exit_code == 2
    assert "'xml' is not one of 'table', 'json'" in result.output


def test_schema_is_json_schema():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "mlinfra requirements profile v1"
    assert "models" in schema["required"]


# --- malformed profiles never produce a traceback -------------------------------------------------------

_leaf_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-10**6, max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=6), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


ALL_PATHS = list(_paths(BASE))


@st.composite
def mutated_profiles(draw):
    data = copy.deepcopy(BASE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(ALL_PATHS))
        node = data
        try:
            for part in path[:-1]:
                node = node[part]
            action = draw(st.sampled_from(["replace", "delete", "add-unknown"]))
            if action == "replace":
                node[path[-1]] = draw(_leaf_values)
            elif action == "delete" and isinstance(node, dict):
                node.pop(path[-1], None)
            elif isinstance(node, dict):
                node[draw(st.text(alphabet="abcdefghijklmnop_", min_size=1, max_size=10))] = draw(_leaf_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed or replaced a parent
    return yaml.safe_dump(data, sort_keys=False)


LINE = re.compile(r"^  \S.*$")


def _assert_clean_report(output: str, path: Path):
    lines = output.rstrip("\n").splitlines()
    head = re.fullmatch(rf"Error: {re.escape(str(path))}: (\d+) problems?", lines[0])
    assert head, output
    body = lines[1:]
    # every problem is one line `  path: message`; a message may not span lines
    assert int(head.group(1)) == len(body), output
    assert all(LINE.match(line) for line in body), output
    assert "Traceback" not in output


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=mutated_profiles())
def test_mutated_profiles_give_a_clean_report(tmp_path: Path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.exit_code in (0, 1), result.output
    if result.exit_code == 1:
        _assert_clean_report(result.output, path)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list("abc:-[]{}'\"\n #&*!|>%@`\t,?1.")), max_size=60))
def test_random_yaml_gives_a_clean_report(tmp_path: Path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.exit_code == 1, result.output
    _assert_clean_report(result.output, path)


def _onprem_profile(tmp_path: Path, **monitoring) -> str:
    data = copy.deepcopy(BASE)
    data["decision"] = {"targets": ["onprem-k8s"]}  # Alertmanager sends the mail on a cluster
    data["monitoring"] = {**{k: v for k, v in data["monitoring"].items() if k != "smtp"}, **monitoring}
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_an_email_notify_on_a_cluster_needs_an_smtp_relay(tmp_path: Path):
    path = _onprem_profile(tmp_path)
    result = run("validate", path)
    assert result.exit_code == 1, result.output
    assert f"{path}: 1 problem" in result.output
    assert re.search(r"monitoring\.smtp: monitoring\.notify\[0\] sends email, but no SMTP relay is set \(got none\)"
                     r".* localhost:25 inside its pod.* Set monitoring\.smtp with smarthost", result.output), result.output
    rendered = run("render", path, "--env", "prod", "--out", str(tmp_path / "out"))
    assert rendered.exit_code == 1 and "monitoring.smtp: monitoring.notify[0] sends email" in rendered.output


@pytest.mark.parametrize(
    ("smtp", "message"),
    [
        pytest.param({"smarthost": "localhost:25", "from_address": "am@example.com"},
                     "monitoring.smtp.smarthost: is the Alertmanager pod itself, where no mail server runs; name your "
                     "mail relay, e.g. smtp.example.com:587 (got 'localhost:25')", id="localhost"),
        pytest.param({"smarthost": "smtp.example.com:587", "from_address": "am@example.com", "auth_username": "am"},
                     "monitoring.smtp.auth_username is set but monitoring.smtp.auth_password_secret is not", id="login-pair"),
        pytest.param({"from_address": "am@example.com"}, "monitoring.smtp.smarthost: required field is missing",
                     id="no-smarthost"),
    ],
)
def test_smtp_settings_are_checked(smtp, message, tmp_path: Path):
    result = run("validate", _onprem_profile(tmp_path, smtp=smtp))
    assert result.exit_code == 1 and message in result.output, result.output


def test_retention_under_the_slo_window_warns(tmp_path: Path):
    path = _onprem_profile(tmp_path, retention_days=14, smtp={"smarthost": "smtp.example.com:587",
                                                              "from_address": "am@example.com"})
    result = run("validate", path)
    assert result.exit_code == 0, result.output
    for env in ("staging", "prod"):  # dev keeps 7 days by design and does not page
        assert (f"warning: environments.{env}.retention_days: Prometheus keeps 14 days, less than the 30-day SLO "
                "window") in result.output, result.output
    assert "environments.dev.retention_days" not in result.output
