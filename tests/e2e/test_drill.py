"""`mlinfra drill --send` against a real Alertmanager (0.28, .tools) running the rendered configuration (fast
timing), its receivers pointed at local webhook sinks - one sink per credential file, so one receiver can break
alone: every route of prod (paging Slack, ticket Slack and webhook) and of dev (on prod's Alertmanager) reports
delivered, the sinks got the drill alerts, Alertmanager holds no firing drill alert and no silence afterwards;
with the webhook's sink down, exactly the webhook rows report failed (Alertmanager gave up on them) and the
command exits 1. Both take under a minute with the fast timing's group_wait of 1 s."""

from __future__ import annotations

import contextlib
import json
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from e2e_harness.notifications import decode
from e2e_harness.sink import NotificationSink
from e2e_harness.stack import Alertmanager, credential_files

from mlinfra.cli.main import cli

pytestmark = pytest.mark.e2e

PROFILE = Path(__file__).resolve().parent / "profile.yaml"
TARGET = "onprem-k8s"


@contextlib.contextmanager
def running(binaries, config: dict, config_path: Path, tmp_path: Path, features: tuple[str, ...] = ()):
    """One sink per credential file (its secret name = its path), and Alertmanager with the rendered config."""
    with contextlib.ExitStack() as stack:
        sinks: dict[str, NotificationSink] = {}
        for file in sorted(set(credential_files(config))):
            path = Path(file)
            sink = sinks[path.name] = NotificationSink()
            stack.callback(sink.close)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{sink.url}/{path.name}")
        workdir = tmp_path / "am"
        workdir.mkdir()
        alertmanager = Alertmanager(binaries.alertmanager, workdir, config_path, features=features)
        stack.callback(alertmanager.process.stop)
        alertmanager.wait_ready()
        yield alertmanager, sinks


def drill(*args: str, profile: Path = PROFILE) -> tuple[int, dict]:
    argv = ["drill", str(profile), "--target", TARGET, "--format", "json", *args]
    result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "200"}).invoke(cli, argv, catch_exceptions=False)
    try:
        return result.exit_code, json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"mlinfra {' '.join(argv)} gave no JSON (exit {result.exit_code}):\n{result.output}") from None


def rows(report: dict) -> set[tuple[str, str, str]]:
    return {(r["route"], r["receiver"], r["integration"]) for r in report["routes"]}


def get(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
        return json.loads(response.read())


def test_drill_delivers_every_route_and_leaves_nothing_behind(e2e_binaries, rendered, tmp_path):
    started = time.monotonic()
    with running(e2e_binaries, rendered.alertmanager, rendered.alertmanager_path, tmp_path) as (alertmanager, sinks):
        assert set(sinks) == {"e2eOncallSlack", "e2eTicketWebhook"}, sinks
        for env, receivers in (("prod", {"mlinfra-page", "mlinfra-ticket"}), ("dev", {"mlinfra-ticket"})):
            code, planned = drill("--env", env)
            assert code == 0 and not planned["sent"] and {r["result"] for r in planned["routes"]} == {"planned"}
            code, report = drill("--env", env, "--alertmanager", alertmanager.url, "--send")
            assert code == 0, json.dumps(report, indent=1)
            assert report["sent"] and report["ok"]
            assert rows(report) == rows(planned), "the drill must check exactly the planned routes"
            assert {r["result"] for r in report["routes"]} == {"delivered"}, json.dumps(report["routes"], indent=1)
            assert {r["receiver"] for r in report["routes"]} == receivers
            assert len({r["route"] for r in report["routes"]}) == (6 if env == "prod" else 4)

        events = [e for sink in sinks.values() for n in sink.snapshot() for e in decode(n) if e.status == "firing"]
        hooks = [e for e in events if e.channel == "webhook"]
        assert hooks and all(e.labels.get("drill") == "true" and e.alertname == "MLInfraDrill" for e in hooks)
        assert {e.labels.get("environment") or e.labels.get("namespace") or "-" for e in hooks} == {
            "prod", "e2e-alerts-prod", "-", "dev", "e2e-alerts-dev"}
        chats = [e for e in events if e.channel == "slack"]
        assert chats and all("FIRE DRILL" in e.message for e in chats), [e.message for e in chats]

        alerts = get(f"{alertmanager.url}/api/v2/alerts?filter=drill%3D%22true%22")
        assert alerts == [], f"drill alerts still firing after the drill: {alerts}"
        assert get(f"{alertmanager.url}/api/v2/silences") == [], "the drill must never create a silence"
    assert time.monotonic() - started < 60


def test_a_receiver_whose_sink_is_down_reports_failed(e2e_binaries, rendered, tmp_path):
    with running(e2e_binaries, rendered.alertmanager, rendered.alertmanager_path, tmp_path) as (alertmanager, sinks):
        sinks["e2eTicketWebhook"].close()  # nothing listens there any more: connection refused
        code, report = drill("--env", "prod", "--alertmanager", alertmanager.url, "--send")
        assert code == 1 and not report["ok"]
        by_integration = {}
        for row in report["routes"]:
            by_integration.setdefault(row["integration"], set()).add(row["result"])
        assert by_integration == {"slack": {"delivered"}, "webhook": {"failed"}}, json.dumps(report["routes"], indent=1)
        assert len([r for r in report["routes"] if r["result"] == "failed"]) == 3  # prod's three ticket routes
        # the default wait (group_wait + 30 s) outlasts Alertmanager's retries (max(group_interval, 10 s)): it gave up
        assert all("Alertmanager gave up after" in r["detail"] for r in report["routes"] if r["result"] == "failed")


OWNERS = {
    "iris-team": {"contact": "iris@example.org", "notify": [{"type": "webhook", "url_secret": "irisTeamHook"}]},
    "shadow-team": {"contact": "#shadow", "notify": [{"type": "slack", "webhook_secret": "shadowTeamSlack"}]},
}


def test_each_owner_gets_its_drill_on_its_own_sink(e2e_binaries, tmp_path):
    """The e2e profile with two model owners, on an Alertmanager that counts per receiver
    (receiver-name-in-metrics): every owner, platform and `continue` route delivers, and each owner's sink gets
    the drill alerts of its own routes only."""
    data = yaml.safe_load(PROFILE.read_text())
    model = data["models"][0]
    data["models"] = [{**model, "owner": "iris-team"}, {**model, "name": "iris-shadow", "owner": "shadow-team"}]
    data["owners"] = OWNERS
    profile = tmp_path / "owners.yaml"
    profile.write_text(yaml.safe_dump(data))
    out, secrets = tmp_path / "render", tmp_path / "secrets"
    args = ["render", str(profile), "--env", "prod", "--target", TARGET, "--timing", "fast",
            "--alertmanager-secrets-dir", str(secrets), "--out", str(out)]
    result = CliRunner(env={"NO_COLOR": "1"}).invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = out / "alertmanager" / "alertmanager.yaml"
    with running(e2e_binaries, yaml.safe_load(path.read_text()), path, tmp_path,
                 features=("receiver-name-in-metrics",)) as (alertmanager, sinks):
        assert set(sinks) == {"e2eOncallSlack", "e2eTicketWebhook", "irisTeamHook", "shadowTeamSlack"}, sinks
        code, report = drill("--env", "prod", "--alertmanager", alertmanager.url, "--send", profile=profile)
        assert code == 0, json.dumps(report, indent=1)
        assert {r["result"] for r in report["routes"]} == {"delivered"}
        assert not any("counters per integration only" in n for n in report["notes"]), "receiver_name not seen"
        receivers = {r["receiver"] for r in report["routes"]}
        assert receivers >= {"iris-team-ticket", "shadow-team-page", "shadow-team-ticket", "mlinfra-page",
                             "mlinfra-ticket"}, receivers
        continued = [r for r in report["routes"] if 'owner="iris-team", severity="critical"' in r["route"]]
        assert {r["receiver"] for r in continued} == {"iris-team-ticket", "mlinfra-page"}  # prod pages the platform too
        iris = [e for n in sinks["irisTeamHook"].snapshot() for e in decode(n) if e.status == "firing"]
        assert iris and {e.labels.get("owner") for e in iris} == {"iris-team"}
        assert {e.receiver for e in iris} == {"iris-team-ticket"}
        shadow = [e for n in sinks["shadowTeamSlack"].snapshot() for e in decode(n) if e.status == "firing"]
        assert shadow and {e.receiver for e in shadow} == {"shadow-team-page", "shadow-team-ticket"}
