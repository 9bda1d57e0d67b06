"""`mlinfra drill`: the plan without network, the same target as every command, clear errors for every bad input,
and credentials for an Alertmanager behind authentication from the environment only (a real HTTP server here;
tests/e2e/test_drill.py sends to a real Alertmanager)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sagemaker_profile import lab_data

from mlinfra.cli.main import cli
from mlinfra.profiles import load_profile
from mlinfra.targets.resolve import resolve_target

ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
REPO = Path(__file__).resolve().parents[2]
PROFILE = str(REPO / "stacks" / "profile.yaml")
K8S = ("--target", "onprem-k8s")


def run(*args: str, env: dict | None = None):
    return CliRunner(env={**ENV, **(env or {})}).invoke(cli, ["drill", *args], catch_exceptions=False)


def test_the_target_is_the_one_every_command_resolves():
    """The bundled profile is decided for SageMaker: its drill is the SNS one unless --target says otherwise."""
    decided = resolve_target(load_profile(PROFILE), "prod").name
    report = json.loads(run(PROFILE, "--env", "prod", "--format", "json").stdout)
    assert report["target"] == decided and report["mechanism"] == ("sns" if decided == "aws-sagemaker" else "alertmanager")
    pinned = json.loads(run(PROFILE, "--env", "prod", "--target", "onprem-k8s", "--format", "json").stdout)
    assert (pinned["target"], pinned["mechanism"]) == ("onprem-k8s", "alertmanager")


def test_plan_is_the_default_and_sends_nothing():
    result = run(PROFILE, *K8S, "--env", "prod", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["target"], report["mechanism"], report["sent"], report["ok"]) == ("onprem-k8s", "alertmanager",
                                                                                       False, True)
    routes = {r["route"] for r in report["routes"]}
    assert routes == {'environment="prod", severity="critical"', 'environment="prod", severity="warning"',
                      'namespace="churn-scoring-prod", severity="critical"',
                      'namespace="churn-scoring-prod", severity="warning"', 'severity="critical"', 'severity="warning"'}
    assert {r["result"] for r in report["routes"]} == {"planned"}
    assert all(r["labels"]["drill"] == "true" for r in report["routes"])
    assert report["skipped"] == [{"route": 'alertname=~"Watchdog|InfoInhibitor"', "receiver": "null",
                                  "reason": "its receiver has no integration: nobody is told"}]


def test_plan_table_names_routes_receivers_and_integrations():
    result = run(PROFILE, *K8S, "--env", "dev")
    assert result.exit_code == 0, result.output
    assert "plan - nothing sent" in result.output
    for text in ('environment="dev", severity="critical"', "mlinfra-ticket", "email", "slack", "planned"):
        assert text in result.output
    assert "mlinfra-page" not in result.output, "dev never pages"


def test_sagemaker_plan_lists_topics(tmp_path):
    path = tmp_path / "sm.yaml"
    path.write_text(yaml.safe_dump(lab_data()))
    result = run(str(path), "--env", "prod", "--target", "aws-sagemaker", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["mechanism"] == "sns"
    assert {r["receiver"] for r in report["routes"]} == {"sm-lab-prod-alerts-page", "sm-lab-prod-alerts-ticket"}


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        pytest.param(["--env", "qa"], 2, "environment 'qa' is not in the profile; declared: dev, staging, prod", id="env"),
        pytest.param(["--env", "prod", "--send"], 2, "'--alertmanager': --send on target onprem-k8s needs the URL",
                     id="send-without-url"),
        pytest.param(["--env", "prod", "--alertmanager", "127.0.0.1:9093"], 2, "expected an http(s) URL", id="bad-url"),
        pytest.param(["--env", "prod", "--alertmanager", "http://admin:hunter2@127.0.0.1:9093", "--send"], 2,
                     "credentials do not belong on the command line", id="credentials-in-url"),
        pytest.param(["--env", "prod", "--timeout", "0"], 2, "--timeout", id="timeout"),
    ],
)
def test_bad_input_is_named(args, code, message):
    result = run(PROFILE, *K8S, *args)
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


def test_an_unreachable_alertmanager_names_the_option_and_url():
    result = run(PROFILE, *K8S, "--env", "prod", "--send", "--alertmanager", "http://127.0.0.1:9")
    assert result.exit_code == 1
    assert "--alertmanager http://127.0.0.1:9: cannot reach Alertmanager" in result.output


def test_an_unknown_target_is_named():
    result = run(PROFILE, "--env", "prod", "--target", "nomad")
    assert result.exit_code == 2 and "unknown target 'nomad'" in result.output


def test_sns_targets_take_no_alertmanager(tmp_path):
    path = tmp_path / "sm.yaml"
    path.write_text(yaml.safe_dump(lab_data()))
    result = run(str(path), "--env", "prod", "--target", "aws-sagemaker", "--alertmanager", "http://127.0.0.1:9093")
    assert result.exit_code == 2 and "alerts through SNS topics, not an Alertmanager" in result.output


class _Guarded:
    """An HTTP server that wants `Authorization: Bearer s3cret` and then serves a configuration routing nothing."""

    def __init__(self):
        seen = self.seen = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                seen.append((self.path, self.headers.get("Authorization")))
                if self.headers.get("Authorization") != "Bearer s3cret":
                    self.send_response(401)
                    self.end_headers()
                    return
                config = {"route": {"receiver": "null"}, "receivers": [{"name": "null"}]}
                body = json.dumps({"config": {"original": yaml.safe_dump(config)}, "versionInfo": {"version": "0.28.1"}})
                if self.path == "/metrics":
                    body = ""
                self.send_response(200)
                self.end_headers()
                self.wfile.write(body.encode())

            def do_POST(self):  # noqa: N802
                seen.append((self.path, "POST"))
                self.send_response(500)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def test_credentials_come_from_the_environment_and_never_show():
    server = _Guarded()
    try:
        denied = run(PROFILE, *K8S, "--env", "prod", "--send", "--alertmanager", server.url)
        assert denied.exit_code == 1 and "HTTP 401" in denied.output and "MLINFRA_ALERTMANAGER_TOKEN" in denied.output
        allowed = run(PROFILE, *K8S, "--env", "prod", "--send", "--alertmanager", server.url, "--format", "json",
                      env={"MLINFRA_ALERTMANAGER_TOKEN": "s3cret"})
    finally:
        server.close()
    assert ("/api/v2/status", "Bearer s3cret") in server.seen
    assert not [s for s in server.seen if s[1] == "POST"], "routes the running Alertmanager does not take: nothing sent"
    assert allowed.exit_code == 1 and "s3cret" not in allowed.output
    report = json.loads(allowed.stdout)
    assert {r["result"] for r in report["routes"]} == {"not reached"}
    assert "deploy the profile's configuration first" in report["routes"][0]["detail"]


def test_an_environment_whose_alerts_reach_nobody_has_nothing_to_drill(tmp_path):
    """PagerDuty only: dev never pages, so its routes end at `null`; --send says so instead of reporting success."""
    data = yaml.safe_load(Path(PROFILE).read_text())
    data["monitoring"]["notify"] = [{"type": "pagerduty", "routing_key_secret": "pdKey"}]
    path = tmp_path / "pd.yaml"
    path.write_text(yaml.safe_dump(data))
    plan = run(str(path), *K8S, "--env", "dev", "--format", "json")
    assert plan.exit_code == 0 and json.loads(plan.stdout)["routes"] == []
    sent = run(str(path), *K8S, "--env", "dev", "--send", "--alertmanager", "http://127.0.0.1:9")
    assert sent.exit_code == 1 and "nothing to drill: no alert route of 'dev' notifies anybody" in sent.output
