"""The rendered Alertmanager config passes the real amtool (0.28, see .ci/install-alertmanager.sh) for every
notify type, and routes by severity as documented: critical pages, warning tickets, dev never pages - also in
the Alertmanager one cluster's environments share (by environment first: prod pages, dev tickets)."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from mlinfra.conventions import RECEIVER_NULL, RECEIVER_PAGE, RECEIVER_TICKET
from mlinfra.monitoring.alertmanager import build_alertmanager_config
from mlinfra.planning.specs import ReceiverSpec, RoutedEnvironment, SmtpSpec
from mlinfra.files.dump import to_yaml

pytestmark = pytest.mark.tools

RECEIVERS = {
    "email": ReceiverSpec(type="email", name="email", to="oncall@example.com"),
    "slack": ReceiverSpec(type="slack", name="slack", secret_key="slackUrl", channel="#ml"),
    "msteams": ReceiverSpec(type="msteams", name="msteams", secret_key="teamsUrl"),
    "webhook": ReceiverSpec(type="webhook", name="webhook", secret_key="hookUrl"),
    "pagerduty": ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="pdKey"),
}
SMTP = SmtpSpec(
    smarthost="smtp.example.com:587", from_address="am@example.com", auth_username="am",
    auth_password_secret="smtpPassword", require_tls=True,
)


def _plan(base, types: tuple[str, ...], *, pages: bool, routed: tuple[tuple[str, bool], ...] | None = None):
    """`base` (prod) with these receivers and paging policy; routing its own alerts only unless `routed`."""
    routed = routed or ((base.environment, pages),)
    monitoring = dataclasses.replace(
        base.monitoring, receivers=tuple(RECEIVERS[t] for t in types), smtp=SMTP, alerts_page=pages,
        routed_environments=tuple(RoutedEnvironment(name=n, alerts_page=p) for n, p in routed),
    )
    return dataclasses.replace(base, monitoring=monitoring)


@pytest.fixture(scope="module")
def base_plan():
    from mlinfra.targets.registry import plan_for
    from mlinfra.profiles import load_profile

    from pathlib import Path

    profile = load_profile(str(Path(__file__).resolve().parents[2] / "stacks" / "profile.yaml"))
    return plan_for(profile, "prod", "onprem-k8s")


def _check(amtool: str, config: dict, tmp_path) -> str:
    path = tmp_path / "alertmanager.yaml"
    path.write_text(to_yaml(config))
    proc = subprocess.run([amtool, "check-config", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0 and "SUCCESS" in proc.stdout, f"amtool check-config:\n{proc.stdout}{proc.stderr}"
    return str(path)


def _route(amtool: str, path: str, **labels: str) -> str:
    args = [amtool, "config", "routes", "test", f"--config.file={path}", *(f"{k}={v}" for k, v in labels.items())]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, f"amtool routes test {labels}: {proc.stdout}{proc.stderr}"
    return proc.stdout.strip()


@pytest.mark.parametrize("notify", [*RECEIVERS, "all"])
@pytest.mark.parametrize("pages", [True, False], ids=["pages", "no-paging"])
def test_config_passes_amtool_for_each_notify_type(notify, pages, base_plan, amtool, tmp_path):
    types = tuple(RECEIVERS) if notify == "all" else (notify,)
    plan = _plan(base_plan, types, pages=pages)
    config = build_alertmanager_config(plan)
    path = _check(amtool, config, tmp_path)
    integrations = {key for r in config["receivers"] for key in r if key.endswith("_configs")}
    for t in types:
        key = {"email": "email_configs", "slack": "slack_configs", "msteams": "msteamsv2_configs",
               "webhook": "webhook_configs", "pagerduty": "pagerduty_configs"}[t]
        if t == "pagerduty" and not pages:
            assert key not in integrations, "dev (no paging) must never configure PagerDuty"
        else:
            assert key in integrations, f"{t} receiver missing from {config['receivers']}"
    assert _route(amtool, path, alertname="Watchdog", severity="none") == RECEIVER_NULL


@pytest.mark.parametrize(
    ("types", "pages", "critical", "warning"),
    [
        pytest.param(("slack", "email"), True, RECEIVER_PAGE, RECEIVER_TICKET, id="prod-slack-email"),
        pytest.param(("slack", "email"), False, RECEIVER_TICKET, RECEIVER_TICKET, id="dev-critical-becomes-ticket"),
        pytest.param(("pagerduty",), True, RECEIVER_PAGE, RECEIVER_PAGE, id="prod-pagerduty-only"),
        pytest.param(("pagerduty",), False, RECEIVER_NULL, RECEIVER_NULL, id="dev-pagerduty-only-never-pages"),
        pytest.param(("webhook",), True, RECEIVER_TICKET, RECEIVER_TICKET, id="prod-webhook-only"),
        pytest.param(("pagerduty", "msteams", "webhook"), True, RECEIVER_PAGE, RECEIVER_TICKET, id="prod-gpu-example"),
    ],
)
def test_routing_by_severity(types, pages, critical, warning, base_plan, amtool, tmp_path):
    path = _check(amtool, build_alertmanager_config(_plan(base_plan, types, pages=pages)), tmp_path)
    labels = {"alertname": "MLModelErrorBudgetFastBurn", "model": "churn", "environment": "prod"}
    assert _route(amtool, path, **labels, severity="critical") == critical
    assert _route(amtool, path, **labels, severity="warning") == warning
    assert _route(amtool, path, **labels, severity="info") == RECEIVER_NULL


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        pytest.param(
            ("slack", "email"),
            {("prod", "critical"): RECEIVER_PAGE, ("prod", "warning"): RECEIVER_TICKET,
             ("staging", "critical"): RECEIVER_TICKET, ("dev", "critical"): RECEIVER_TICKET,
             ("dev", "warning"): RECEIVER_TICKET, ("dev", "info"): RECEIVER_NULL,
             (None, "critical"): RECEIVER_PAGE, (None, "warning"): RECEIVER_TICKET},
            id="slack-email",
        ),
        pytest.param(
            ("pagerduty", "webhook"),
            {("prod", "critical"): RECEIVER_PAGE, ("prod", "warning"): RECEIVER_TICKET,
             ("staging", "critical"): RECEIVER_TICKET, ("dev", "critical"): RECEIVER_TICKET,
             ("dev", "warning"): RECEIVER_TICKET, ("dev", "info"): RECEIVER_NULL,
             (None, "critical"): RECEIVER_PAGE, (None, "warning"): RECEIVER_TICKET},
            id="pagerduty-webhook",
        ),
        pytest.param(
            ("pagerduty",),
            {("prod", "critical"): RECEIVER_PAGE, ("prod", "warning"): RECEIVER_PAGE,
             ("staging", "critical"): RECEIVER_NULL, ("dev", "critical"): RECEIVER_NULL,
             ("dev", "warning"): RECEIVER_NULL, ("dev", "info"): RECEIVER_NULL,
             (None, "critical"): RECEIVER_PAGE, (None, "warning"): RECEIVER_PAGE},
            id="pagerduty-only-never-pages-dev",
        ),
    ],
)
def test_a_shared_alertmanager_pages_for_prod_and_tickets_for_dev(types, expected, base_plan, amtool, tmp_path):
    """The owner (prod) of a cluster shared with staging and dev; `None`: an alert of no environment (the
    chart's own cluster alerts) follows the owner's policy. The real planner's output, checked by amtool."""
    planned = base_plan.monitoring.routed_environments  # stacks/profile.yaml: one cluster for all three
    assert [(r.name, r.alerts_page) for r in planned] == [("dev", False), ("staging", False), ("prod", True)]
    plan = _plan(base_plan, types, pages=True, routed=tuple((r.name, r.alerts_page) for r in planned))
    path = _check(amtool, build_alertmanager_config(plan), tmp_path)
    for (env, severity), receiver in expected.items():
        labels = {"alertname": "MLModelLatencyHigh", "model": "churn", "severity": severity}
        if env is not None:
            labels["environment"] = env
        assert _route(amtool, path, **labels) == receiver, f"{env} {severity}"
    assert _route(amtool, path, alertname="Watchdog", severity="none") == RECEIVER_NULL


@pytest.mark.parametrize("types", [("slack", "email"), ("pagerduty", "webhook")], ids=lambda t: "-".join(t))
def test_chart_alerts_route_by_the_environment_of_their_namespace(types, base_plan, amtool, tmp_path):
    """kube-prometheus-stack's alerts carry `namespace`, never `environment`: an alert about a dev namespace is a
    ticket even when it is critical, one about prod's pages, one about the cluster follows the owner (prod)."""
    planned = base_plan.monitoring.routed_environments
    namespaces = {r.name: r.namespace for r in planned}
    assert namespaces == {"dev": "churn-scoring-dev", "staging": "churn-scoring-staging", "prod": "churn-scoring-prod"}
    plan = _plan(base_plan, types, pages=True, routed=tuple((r.name, r.alerts_page) for r in planned))
    plan = dataclasses.replace(plan, monitoring=dataclasses.replace(plan.monitoring, routed_environments=planned))
    path = _check(amtool, build_alertmanager_config(plan), tmp_path)
    for alert, severity in (("KubePodCrashLooping", "warning"), ("KubeDeploymentReplicasMismatch", "critical"),
                            ("KubePersistentVolumeFillingUp", "critical"), ("TargetDown", "warning")):
        for env, namespace in namespaces.items():
            expected = RECEIVER_PAGE if (env == "prod" and severity == "critical") else RECEIVER_TICKET
            got = _route(amtool, path, alertname=alert, severity=severity, namespace=namespace, pod="x-1")
            assert got == expected, f"{alert} ({severity}) in {namespace}: {got}"
    assert _route(amtool, path, alertname="KubeAPIDown", severity="critical") == RECEIVER_PAGE
    assert _route(amtool, path, alertname="NodeFilesystemAlmostFull", severity="critical",
                  namespace="kube-system") == RECEIVER_PAGE


# --- inhibition, checked by a running Alertmanager (amtool cannot test it) ----------------------------------------


def _alertmanager(amtool: str, config: dict, tmp_path):
    """Start the Alertmanager next to amtool on a free port with `config`; returns (process, base URL)."""
    import socket
    import time
    import urllib.request
    from pathlib import Path

    binary = Path(amtool).with_name("prometheus-alertmanager")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = tmp_path / "alertmanager.yaml"
    path.write_text(to_yaml(config))
    log = open(tmp_path / "alertmanager.log", "wb")  # noqa: SIM115 - closed by the caller's stop
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        [str(binary), f"--config.file={path}", f"--storage.path={tmp_path / 'data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:  # noqa: S310 - 127.0.0.1
                if response.status == 200:
                    return proc, url
        except OSError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "alertmanager.log").read_text()
        time.sleep(0.2)


def _post_and_read(url: str, alerts: list[dict]) -> dict[str, list[str]]:
    """Post `alerts` (label sets), wait until Alertmanager has them all; alertname -> names of the inhibitors."""
    import json
    import time
    import urllib.request

    body = json.dumps([{"labels": a} for a in alerts]).encode()
    request = urllib.request.Request(f"{url}/api/v2/alerts", data=body, headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=5).close()  # noqa: S310 - 127.0.0.1
    deadline = time.monotonic() + 10
    while True:
        with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as response:  # noqa: S310 - 127.0.0.1
            got = json.loads(response.read())
        if len(got) == len(alerts) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    by_fp = {a["fingerprint"]: a["labels"]["alertname"] for a in got}
    return {a["labels"]["alertname"] + "/" + a["labels"].get("environment", a["labels"].get("namespace", "")):
            sorted(by_fp.get(fp, fp) for fp in a["status"]["inhibitedBy"]) for a in got}


def test_a_running_alertmanager_mutes_tickets_of_a_paged_model_and_the_charts_duplicates(base_plan, amtool, tmp_path):
    from mlinfra.monitoring.timing import FAST

    plan = _plan(base_plan, ("slack", "webhook"), pages=True)
    config = build_alertmanager_config(plan, FAST, secrets_dir=str(tmp_path / "secrets"))
    proc, url = _alertmanager(amtool, config, tmp_path)
    try:
        ns = base_plan.namespace
        model = {"namespace": ns, "model": "churn", "environment": "prod"}
        other = {**model, "model": "ranker"}
        alerts = [
            {**model, "alertname": "MLModelDown", "severity": "critical"},
            {**model, "alertname": "MLModelNoTraffic", "severity": "warning"},
            {**other, "alertname": "MLModelNoTraffic", "severity": "warning", "environment": "staging"},
            {"alertname": "MLModelPodCrashLooping", "severity": "warning", **model, "pod": "churn-5d8f-x2", "container": "server"},
            {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": ns, "pod": "churn-5d8f-x2", "container": "server"},
            {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "other-team", "pod": "api-1", "container": "api"},
            {"alertname": "MLModelPodsNotReady", "severity": "warning", **model},
            {"alertname": "KubePodNotReady", "severity": "warning", "namespace": ns, "pod": "churn-5d8f-x2"},
            {"alertname": "KubePodNotReady", "severity": "warning", "namespace": "other-team", "pod": "api-1"},
        ]
        inhibited = _post_and_read(url, alerts)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert inhibited[f"MLModelNoTraffic/prod"] == ["MLModelDown"], inhibited  # one incident, one notification
    assert inhibited["MLModelNoTraffic/staging"] == [], inhibited  # another model/environment: not muted
    # ours mutes the chart's duplicate of the same pod (and, as a ticket of a paged model, MLModelDown mutes ours)
    assert inhibited[f"KubePodCrashLooping/{ns}"] == ["MLModelPodCrashLooping"], inhibited
    assert inhibited["KubePodCrashLooping/other-team"] == [], inhibited  # the chart's alerts stay for other namespaces
    assert inhibited[f"KubePodNotReady/{ns}"] == ["MLModelPodsNotReady"], inhibited  # per pod theirs, per model ours
    assert inhibited["KubePodNotReady/other-team"] == [], inhibited
    assert inhibited["MLModelDown/prod"] == [], inhibited
