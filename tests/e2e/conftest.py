"""Fixtures of the end-to-end alert test: the real binaries, the rendered monitoring, the running stack, the report.

Every process is started on 127.0.0.1 on ports the OS picks at run time and stopped by its pid when the test
ends, also when it fails (ExitStack callbacks). Data directories are removed; logs, configs and the report stay
in pytest's tmp dir (it keeps the last three runs) for diagnosis.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:  # --import-mode=importlib: make the e2e_harness package importable
    sys.path.insert(0, str(HERE))

from e2e_harness.processes import http_status  # noqa: E402
from e2e_harness.sink import NotificationSink  # noqa: E402
from e2e_harness.stack import Alertmanager, ModelServer, Prometheus, credential_files  # noqa: E402
from e2e_harness.timing import seconds  # noqa: E402
from e2e_harness.traffic import TrafficDriver  # noqa: E402

PROFILE = HERE / "profile.yaml"
ENVIRONMENT = "prod"
DEV_ENVIRONMENT = "dev"  # on prod's cluster: prod's Alertmanager routes its alerts (never to the pager)
TARGET = "onprem-k8s"
TIMING = "fast"
TRAFFIC_RPS = 20  # the profile's average_rps
TRAFFIC_THREADS = 8  # enough that 0.6 s of injected latency still leaves traffic flowing
MAX_TEST_SECONDS = 480  # the whole test's budget: traffic threads stop by themselves after it

REPORT = pytest.StashKey[list]()
INSTALL_HINT = (
    "`make test` (or `make e2e`) installs them: .ci/install-system.sh (Debian prometheus) and "
    ".ci/install-tools.sh (.tools/mlserver: mlserver 1.7 + mlserver-sklearn; .tools/alertmanager: Alertmanager "
    ">= 0.26, which the rendered config needs)"
)


@dataclass(frozen=True)
class Binaries:
    prometheus: str
    alertmanager: str
    mlserver_venv: Path


@pytest.fixture(scope="session")
def e2e_binaries(tools_dir: Path) -> Binaries:
    """The real servers; missing ones FAIL the test (never a silent skip) and say how to install them."""
    prometheus = shutil.which("prometheus")
    alertmanager = tools_dir / "alertmanager" / "bin" / "prometheus-alertmanager"
    mlserver = tools_dir / "mlserver" / "bin" / "mlserver"
    missing = [
        label
        for label, ok in (
            ("prometheus (Debian package `prometheus`, on PATH)", prometheus),
            (f"Alertmanager >= 0.26 ({alertmanager})", alertmanager.is_file()),
            (f"MLServer ({mlserver})", mlserver.is_file()),
        )
        if not ok
    ]
    if missing:
        pytest.fail(f"the e2e alert test needs {', '.join(missing)}; {INSTALL_HINT}", pytrace=False)
    return Binaries(prometheus=prometheus, alertmanager=str(alertmanager), mlserver_venv=mlserver.parents[1])


@dataclass(frozen=True)
class Rendered:
    out: Path
    rules_path: Path
    rules: dict
    alertmanager_path: Path
    alertmanager: dict
    secrets_dir: Path
    model: str
    scrape_labels: dict  # target labels the production ServiceMonitor gives every series of the model
    dev_rules_path: Path  # the dev environment's rule file (its own render), loaded by the same Prometheus
    dev_scrape_labels: dict  # the same server scraped a second time as dev's model
    scrape_interval_s: float  # from the rendered ServiceMonitor
    metrics_path: str


@pytest.fixture
def rendered(tmp_path: Path) -> Rendered:
    """`mlinfra render` of the e2e profile's prod and dev environments with the fast timing - the same builders
    as production. prod owns the cluster's monitoring stack: its Alertmanager config routes dev's alerts too.

    The rendered Alertmanager config reads every credential from a file. In a cluster those files are the
    operator's mount of the notify Secret under /etc/alertmanager/secrets; here render's
    `--alertmanager-secrets-dir` points them at a tmp dir, and the stack fixture writes the sink's URL there.
    """
    from mlinfra.cli.main import cli
    from mlinfra.monitoring.objects import scrape_labels
    from mlinfra.targets.registry import plan_for
    from mlinfra.profiles import load_profile

    out, secrets = tmp_path / "render", tmp_path / "secrets"
    for env, directory in ((ENVIRONMENT, out), (DEV_ENVIRONMENT, tmp_path / "render-dev")):
        args = ["render", str(PROFILE), "--env", env, "--target", TARGET, "--timing", TIMING]
        args += ["--alertmanager-secrets-dir", str(secrets), "--out", str(directory)]
        result = CliRunner(env={"NO_COLOR": "1", "COLUMNS": "120"}).invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, f"mlinfra {' '.join(args)} failed:\n{result.output}"

    profile = load_profile(str(PROFILE))
    plan = plan_for(profile, ENVIRONMENT, TARGET)
    dev_plan = plan_for(profile, DEV_ENVIRONMENT, TARGET)
    assert plan.monitoring.owns_stack and [e.name for e in plan.monitoring.routed_environments] == [
        DEV_ENVIRONMENT, ENVIRONMENT
    ], "prod must own the monitoring stack dev shares"
    assert len(plan.models) == 1, "the e2e profile serves exactly one model"
    model = plan.models[0]
    assert model.runtime == "mlserver", f"the e2e profile's model must run on MLServer (got {model.runtime})"
    monitors = [
        doc
        for path in sorted((out / "kubernetes").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc.get("kind") == "ServiceMonitor"
    ]
    assert len(monitors) == 1, f"expected one rendered ServiceMonitor, found {len(monitors)}"
    endpoint = monitors[0]["spec"]["endpoints"][0]
    return Rendered(
        out=out,
        rules_path=out / "prometheus" / "rules.yaml",
        rules=yaml.safe_load((out / "prometheus" / "rules.yaml").read_text()),
        alertmanager_path=out / "alertmanager" / "alertmanager.yaml",
        alertmanager=yaml.safe_load((out / "alertmanager" / "alertmanager.yaml").read_text()),
        secrets_dir=secrets,
        model=model.name,
        scrape_labels=scrape_labels(plan, model),
        dev_rules_path=tmp_path / "render-dev" / "prometheus" / "rules.yaml",
        dev_scrape_labels=scrape_labels(dev_plan, dev_plan.models[0]),
        scrape_interval_s=seconds(endpoint["interval"]),
        metrics_path=endpoint.get("path", "/metrics"),
    )


@dataclass
class Stack:
    model_server: ModelServer
    prometheus: Prometheus
    alertmanager: Alertmanager
    sink: NotificationSink
    traffic: TrafficDriver
    workdir: Path
    started: float  # time.monotonic() when the fixture began starting processes


@pytest.fixture
def e2e_stack(e2e_binaries: Binaries, rendered: Rendered, tmp_path: Path):
    """Sink, MLServer, Alertmanager, Prometheus and traffic, all on 127.0.0.1; stopped by pid in reverse order."""
    started = time.monotonic()
    workdir = tmp_path / "run"
    workdir.mkdir()
    with contextlib.ExitStack() as stack:
        stack.callback(_remove_data_dirs, workdir)  # runs last, after every process is stopped

        sink = NotificationSink()
        stack.callback(sink.close)
        files = credential_files(rendered.alertmanager)
        assert files, "the rendered Alertmanager config reads no credential file: where would notifications go?"
        for file in files:
            path = Path(file)
            assert path.is_relative_to(rendered.secrets_dir), (
                f"{file} is outside --alertmanager-secrets-dir {rendered.secrets_dir}: render ignored the option"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{sink.url}/{path.name}")  # the sink path names the secret (= receiver integration)

        model_server = ModelServer(e2e_binaries.mlserver_venv, workdir, rendered.model)
        stack.callback(lambda: model_server.process.stop())  # the current process: the test may restart it
        alertmanager = Alertmanager(e2e_binaries.alertmanager, workdir, rendered.alertmanager_path)
        stack.callback(alertmanager.process.stop)
        model_server.wait_ready()
        alertmanager.wait_ready()
        assert http_status(f"http://127.0.0.1:{model_server.metrics_port}{rendered.metrics_path}") == 200

        traffic = TrafficDriver(
            model_server.infer_url, rps=TRAFFIC_RPS, threads=TRAFFIC_THREADS, max_seconds=MAX_TEST_SECONDS
        ).start()
        stack.callback(traffic.stop)

        prometheus = Prometheus(
            e2e_binaries.prometheus,
            workdir,
            scrape_interval_s=rendered.scrape_interval_s,
            metrics_path=rendered.metrics_path,
            targets=[  # one server, scraped as prod's model and as dev's
                {"targets": [f"127.0.0.1:{model_server.metrics_port}"], "labels": rendered.scrape_labels},
                {"targets": [f"127.0.0.1:{model_server.metrics_port}"], "labels": rendered.dev_scrape_labels},
            ],
            rule_files=[rendered.rules_path, rendered.dev_rules_path],
            alertmanager_port=alertmanager.port,
        )
        stack.callback(prometheus.process.stop)
        prometheus.wait_ready()
        deadline = time.monotonic() + 30  # every target scraped twice, then the rules
        while len(prometheus.query("count_over_time(up[1m]) >= 2")) < 2:
            assert time.monotonic() < deadline, f"Prometheus did not scrape both targets: {prometheus.describe('up')}"
            time.sleep(0.2)
        prometheus.load_rules()
        yield Stack(model_server, prometheus, alertmanager, sink, traffic, workdir, started)


def _remove_data_dirs(workdir: Path) -> None:
    for name in ("prometheus-data", "alertmanager-data", "mlserver", "mlserver-metrics"):
        shutil.rmtree(workdir / name, ignore_errors=True)


@pytest.fixture
def e2e_report(request: pytest.FixtureRequest, tmp_path: Path):
    """Lines of the detection report: written to tmp_path/alert-report.txt and printed in pytest's summary."""
    lines: list[str] = []
    yield lines
    if lines:
        (tmp_path / "alert-report.txt").write_text("\n".join(lines) + "\n")
        request.config.stash.setdefault(REPORT, []).extend([*lines, f"(written to {tmp_path / 'alert-report.txt'})"])


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    lines = config.stash.get(REPORT, None)
    if lines:
        terminalreporter.section("e2e alert detection report")
        for line in lines:
            terminalreporter.write_line(line)
