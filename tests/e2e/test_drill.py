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
from click.testing import CliRunner
from e2e_harness.notifications import decode
from e2e_harness.sink import NotificationSink
from e2e_harness.stack import Alertmanager, credential_files

from mlinfra.cli.main import cli

pytestmark = pytest.mark.e2e

PROFILE = Path(__file__).resolve().parent / "profile.yaml"
TARGET = "onprem-k8s"


@contextlib.contextmanager
def running(binaries, rendered, tmp_path: Path):
    """One sink per credential file (its secret name = its path), and Alertmanager with the rendered config."""
    with contextlib.ExitStack() as stack:
        sinks: dict[str, NotificationSink] = {}
        for file in sorted(set(credential_files(rendered.alertmanager))):
            path = Path(file)
            sink = sinks[path.name] = NotificationSink()
            stack.callback(sink.close)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{sink.url}/{path.name}")
        assert set(sinks) == {"e2eOncallSlack", "e2eTicketWebhook"}, sinks
        workdir = tmp_path / "am"
        workdir.mkdir()
        alertmanager = Alertmanager(binaries.alertmanager, workdir, rendered.alertmanager_path)
        stack.callback(alertmanager.process.stop)
        alertmanager.wait_ready()
        yield alertmanager, sinks


def drill(*args: str) -> tuple[int, dict]:
    argv = ["drill", str(PROFILE), "--target", TARGET, "--format", "json", *args]
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
    with running(e2e_binaries, rendered, tmp_path) as (alertmanager, sinks):
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
    with running(e2e_binaries, rendered, tmp_path) as (alertmanager, sinks):
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
