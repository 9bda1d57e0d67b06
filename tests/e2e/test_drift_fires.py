"""End-to-end: the drift alert `mlinfra render` writes fires on real shifted traffic and reaches a receiver.

Real processes on 127.0.0.1: MLServer 1.7 serving the e2e profile's scikit-learn iris model; the real drift monitor
(`python -m mlinfra drift serve`) in front of it with the config render wrote (drift/iris.yaml: its sampling,
window, min_samples, bins and interval as rendered; only the addresses are loopback ports and the reference the
file written here, where the pod's fetch would put it); Prometheus (Debian) with the rendered prod rules, scraping
the server with the production ServiceMonitor's target labels and the monitor with its second endpoint's (labels,
`endpoint` as the operator sets it, honorLabels); Alertmanager with the rendered config and the webhook sink.
Every request goes through the monitor's proxy, as the Service sends it in a cluster.

Phases:
  calm      rows drawn from the reference's distribution   -> scores exported (window >= min_samples) and low;
                                                              no alert pending or firing, nothing notified
  shifted   petal_length + SHIFT_CM in every request         -> MLModelDriftSevere (critical) pages within the bound;
                                                              its ticket twin MLModelDriftHigh is muted under it
  back      rows from the reference's distribution again   -> the page resolves within its bound
Throughout: every request answers 200 through the proxy, and no other alert of the model is pending or firing.
Bounds (e2e_harness/timing.py, from the rendered files): the rule's scrape/evaluation/for:/group_wait bound, plus
the monitor's own clock from its rendered config - the window refills with new rows in window / (rows sampled per
second: the traffic measured here x sample_rate) and scores are recomputed every interval_seconds.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from e2e_harness.notifications import AlertEvent, decode
from e2e_harness.processes import ManagedProcess, free_port
from e2e_harness.sink import NotificationSink
from e2e_harness.stack import Alertmanager, ModelServer, Prometheus
from e2e_harness.timing import (
    DELIVERY_SLACK_S,
    detection_bound,
    resolution_bound,
    route_timing,
    rule_timing,
    seconds,
)
from e2e_harness.traffic import TrafficDriver

from mlinfra.conventions import (
    ALERT_DRIFT_HIGH,
    ALERT_DRIFT_SEVERE,
    DRIFT_SCORE_METRIC,
    DRIFT_WINDOW_SAMPLES_METRIC,
    PORT_DRIFT_METRICS,
    RECEIVER_PAGE,
    SEVERITY_PAGE,
)
from mlinfra.drift.config import load_config
from mlinfra.drift.score import psi_to_score, score_to_psi

pytestmark = pytest.mark.e2e

RPS = 30  # requests/s through the monitor's proxy
THREADS = 6
MAX_TEST_SECONDS = 300
REFERENCE_ROWS = 3000
SHIFT_CM = 2.5  # added to petal_length: every species' petals look a class larger
WAIT_MARGIN_S = 15
FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
# Fisher's iris per species: means and standard deviations of the four features (the model is trained on it)
SPECIES = (
    ((5.006, 3.428, 1.462, 0.246), (0.352, 0.379, 0.174, 0.105)),
    ((5.936, 2.770, 4.260, 1.326), (0.516, 0.314, 0.470, 0.198)),
    ((6.588, 2.974, 5.552, 2.026), (0.636, 0.322, 0.552, 0.275)),
)


def iris_row(rng: random.Random, shift: float = 0.0) -> list[float]:
    means, stds = SPECIES[rng.randrange(3)]
    row = [max(0.1, round(rng.gauss(m, s), 2)) for m, s in zip(means, stds)]
    row[2] = round(row[2] + shift, 2)
    return row


class IrisTraffic(TrafficDriver):
    """The harness' paced threads, sending one iris-like row a request: from the reference's distribution, or
    with petal_length shifted."""

    def __init__(self, url: str, **kwargs):
        super().__init__(url, **kwargs)
        self._rng = random.Random(20240607)
        self._rows_lock = threading.Lock()
        self.shift = 0.0

    def _next_body(self) -> dict | None:
        with self._rows_lock:
            row = iris_row(self._rng, self.shift)
        return {"inputs": [{"name": "features", "shape": [1, 4], "datatype": "FP64", "data": row}]}

    def total(self) -> int:
        return sum(self.counts().values())


def _objects(out: Path) -> list[dict]:
    return [doc for path in sorted((out / "kubernetes").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture
def drift_stack(e2e_binaries, rendered, tmp_path):
    """Sink, MLServer, the drift monitor in front of it, Alertmanager and Prometheus on 127.0.0.1; stopped by pid."""
    import contextlib
    import shutil

    started = time.monotonic()
    workdir = tmp_path / "drift-run"
    workdir.mkdir()
    monitor_endpoint = next(
        e for doc in _objects(rendered.out) if doc["kind"] == "ServiceMonitor"
        for e in doc["spec"]["endpoints"] if e["port"] == PORT_DRIFT_METRICS
    )
    rendered_config = rendered.out / "drift" / f"{rendered.model}.yaml"
    assert rendered_config.is_file(), f"render wrote no drift monitor config ({rendered_config})"
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [shutil.rmtree(workdir / d, ignore_errors=True)
                                for d in ("prometheus-data", "alertmanager-data", "mlserver", "mlserver-metrics")])
        sink = NotificationSink()
        stack.callback(sink.close)
        for file in _credential_files(rendered.alertmanager):
            path = Path(file)
            assert path.is_relative_to(rendered.secrets_dir), f"{file} is outside --alertmanager-secrets-dir"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{sink.url}/{path.name}")

        model_server = ModelServer(e2e_binaries.mlserver_venv, workdir, rendered.model)
        stack.callback(lambda: model_server.process.stop())
        alertmanager = Alertmanager(e2e_binaries.alertmanager, workdir, rendered.alertmanager_path)
        stack.callback(alertmanager.process.stop)

        # the reference the pod's init container would fetch: rows of the distribution the calm traffic follows
        rendered_data = yaml.safe_load(rendered_config.read_text())
        reference = workdir / Path(rendered_data["models"][0]["reference"]).name
        rng = random.Random(7)
        reference.write_text(",".join(FEATURES) + "\n" + "".join(
            ",".join(f"{v:g}" for v in iris_row(rng)) + "\n" for _ in range(REFERENCE_ROWS)))
        proxy_port, metrics_port = free_port(), free_port()
        rendered_data.update(listen=f"127.0.0.1:{proxy_port}", metrics_listen=f"127.0.0.1:{metrics_port}",
                             upstream=f"http://127.0.0.1:{model_server.http_port}")
        rendered_data["models"][0]["reference"] = str(reference)
        config_path = workdir / "drift.yaml"
        config_path.write_text(yaml.safe_dump(rendered_data, sort_keys=True))
        config = load_config(config_path)  # what the monitor will read, validated as it validates it

        model_server.wait_ready()
        monitor = ManagedProcess("drift", [sys.executable, "-m", "mlinfra", "drift", "serve", "--config",
                                           str(config_path)], workdir / "drift.log")
        stack.callback(monitor.stop)
        monitor.wait_ready(f"http://127.0.0.1:{metrics_port}/readyz", 60)
        alertmanager.wait_ready()

        infer_url = f"http://127.0.0.1:{proxy_port}/v2/models/{rendered.model}/infer"
        traffic = IrisTraffic(infer_url, rps=RPS, threads=THREADS, max_seconds=MAX_TEST_SECONDS).start()
        stack.callback(traffic.stop)

        monitor_labels = {**rendered.scrape_labels, "endpoint": monitor_endpoint["port"]}  # the operator's `endpoint`
        prometheus = Prometheus(
            e2e_binaries.prometheus, workdir,
            scrape_interval_s=rendered.scrape_interval_s, metrics_path=rendered.metrics_path,
            targets=[{"targets": [f"127.0.0.1:{model_server.metrics_port}"], "labels": rendered.scrape_labels}],
            scrape_configs=[{
                "job_name": "drift",
                "metrics_path": monitor_endpoint.get("path", "/metrics"),
                "honor_labels": bool(monitor_endpoint.get("honorLabels", False)),
                "scrape_interval": monitor_endpoint["interval"],
                "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"], "labels": monitor_labels}],
            }],
            rule_files=[rendered.rules_path],
            alertmanager_port=alertmanager.port,
        )
        stack.callback(prometheus.process.stop)
        prometheus.wait_ready()
        deadline = time.monotonic() + 30
        while len(prometheus.query("count_over_time(up[1m]) >= 2")) < 2:
            assert time.monotonic() < deadline, f"Prometheus did not scrape both targets: {prometheus.describe('up')}"
            time.sleep(0.2)
        prometheus.load_rules()
        yield {"prometheus": prometheus, "alertmanager": alertmanager, "sink": sink, "traffic": traffic,
               "monitor": monitor, "config": config, "started": started, "model_server": model_server}


def _credential_files(config: object) -> list[str]:
    if isinstance(config, dict):
        found = [v for k, v in config.items() if k.endswith("_file") and isinstance(v, str)]
        return found + [f for k, v in config.items() if not k.endswith("_file") for f in _credential_files(v)]
    if isinstance(config, list):
        return [f for item in config for f in _credential_files(item)]
    return []


def test_rendered_drift_alert_fires_on_shifted_inputs(drift_stack, rendered, e2e_report):
    prom, sink, traffic = drift_stack["prometheus"], drift_stack["sink"], drift_stack["traffic"]
    watched = drift_stack["config"].models[0]
    scrape = rendered.scrape_interval_s
    rules = {n: rule_timing(rendered.rules, n, scrape) for n in (ALERT_DRIFT_HIGH, ALERT_DRIFT_SEVERE)}
    routes = {n: route_timing(rendered.alertmanager, {**r.labels, "alertname": n}) for n, r in rules.items()}
    severe, severe_route = rules[ALERT_DRIFT_SEVERE], routes[ALERT_DRIFT_SEVERE]
    thresholds = {n: float(_alert(rendered.rules, n)["expr"].rsplit(">", 1)[1]) for n in rules}
    sel = ", ".join(f'{k}="{v}"' for k, v in rendered.scrape_labels.items())
    others = 'ALERTS{alertname!~"MLModelDrift.*"}'

    def events() -> list[AlertEvent]:
        return [e for n in sink.snapshot() for e in decode(n)]

    def diagnostics() -> str:
        return (f"\nALERTS: {prom.describe('ALERTS')}\nscores: {prom.describe(f'{DRIFT_SCORE_METRIC}{{{sel}}}')}"
                f"\nwindow: {prom.describe(f'{DRIFT_WINDOW_SAMPLES_METRIC}{{{sel}}}')}\ntraffic: {traffic.counts()}"
                f"\nnotifications: {[(e.alertname, e.status, e.receiver) for e in events()]}"
                f"\ndrift monitor log:\n{drift_stack['monitor'].log_tail(15)}")

    def top_score() -> float | None:
        found = prom.query(f"max({DRIFT_SCORE_METRIC}{{{sel}}})")
        return float(found[0]["value"][1]) if found else None

    def wait_event(alert: str, status: str, since: float, timeout: float) -> AlertEvent | None:
        def match(e: AlertEvent) -> bool:
            return e.alertname == alert and e.status == status and e.arrival >= since
        found = sink.wait_for(lambda n: any(match(e) for e in decode(n)), timeout)
        return None if found is None else min((e for e in decode(found) if match(e)), key=lambda e: e.arrival)

    def no_other_alert() -> None:
        assert not prom.query(others), f"another alert of the model is pending or firing{diagnostics()}"

    # -- wiring: the monitor's series carry the production labels (honorLabels keeps its own `model`) ----------
    _wait(lambda: prom.query(f"{DRIFT_WINDOW_SAMPLES_METRIC}{{{sel}}}"), 20, f"no window gauge{diagnostics()}")
    labels = prom.query(f"{DRIFT_WINDOW_SAMPLES_METRIC}{{{sel}}}")[0]["metric"]
    assert {k: labels.get(k) for k in rendered.scrape_labels} == rendered.scrape_labels, labels
    assert "exported_model" not in labels, labels

    # -- calm: scores exported once the window holds min_samples rows, low, and nothing alerts -----------------
    t0, n0 = time.time(), traffic.total()
    _wait(lambda: top_score() is not None, watched.window / RPS + 30,
          f"no drift score after the window should hold {watched.min_samples} rows{diagnostics()}")
    hold_s = max(r.for_s + r.pipeline_s + routes[n].group_wait_s for n, r in rules.items()) + scrape + DELIVERY_SLACK_S
    calm_start, calm_max = time.time(), 0.0
    while time.time() - calm_start < hold_s:
        assert not prom.query("ALERTS"), f"an alert on unshifted traffic{diagnostics()}"
        calm_max = max(calm_max, top_score() or 0.0)
        time.sleep(1)
    assert not events(), f"notifications on unshifted traffic{diagnostics()}"
    assert calm_max < thresholds[ALERT_DRIFT_HIGH], f"unshifted score {calm_max:.3f}{diagnostics()}"
    rows_per_s = (traffic.total() - n0) / (time.time() - t0) * watched.sample_rate
    e2e_report.append(
        f"drift calm: {time.time() - calm_start:.0f} s of unshifted traffic ({rows_per_s:.1f} sampled rows/s) with "
        f"scores exported: highest {calm_max:.3f} < {thresholds[ALERT_DRIFT_HIGH]:g} (PSI warn); no alert, nothing sent")

    # -- shifted: the page reaches the paging receiver within the bound -----------------------------------------
    refill_s = watched.window / rows_per_s + watched.interval_seconds  # the monitor's clock (rendered config)
    bound = detection_bound(severe, severe_route, scrape) + refill_s
    start = time.time()
    traffic.shift = SHIFT_CM
    fired = None
    while fired is None and time.time() - start < bound + WAIT_MARGIN_S:
        no_other_alert()
        fired = wait_event(ALERT_DRIFT_SEVERE, "firing", start, 1.0)
    assert fired is not None, f"{ALERT_DRIFT_SEVERE} never reached the sink within {bound + WAIT_MARGIN_S:.0f}s{diagnostics()}"
    detected = fired.arrival - start
    shifted_score = top_score() or 0.0
    assert severe.for_s <= detected <= bound, f"{ALERT_DRIFT_SEVERE} after {detected:.1f}s, bound {bound:.1f}s"
    prod = [e for e in events() if e.alertname == ALERT_DRIFT_SEVERE and e.status == "firing" and e.arrival >= start]
    assert severe.labels["severity"] == SEVERITY_PAGE and RECEIVER_PAGE in severe_route.receivers
    assert {e.receiver for e in prod} == set(severe_route.receivers), (prod, severe_route.receivers)
    for event in prod:
        for label in ("model", "environment", "severity"):
            assert event.shows(label, severe.labels[label]), (label, event)

    # -- back: the page resolves once the window holds unshifted rows again ------------------------------------
    traffic.shift = 0.0
    recovered = time.time()
    resolve_bound = resolution_bound(severe, severe_route, scrape) + refill_s
    resolved = None
    while resolved is None and time.time() - recovered < resolve_bound + WAIT_MARGIN_S:
        no_other_alert()
        resolved = wait_event(ALERT_DRIFT_SEVERE, "resolved", recovered, 1.0)
    assert resolved is not None, f"{ALERT_DRIFT_SEVERE} never resolved{diagnostics()}"
    resolved_s = resolved.arrival - recovered
    assert resolved_s <= resolve_bound, f"resolved after {resolved_s:.1f}s, bound {resolve_bound:.1f}s"

    # -- one incident, one notification; nothing else alerted; the proxy answered everything --------------------
    # the ticket twin is muted while the page fires (Alertmanager's inhibition: a model's page mutes its tickets);
    # once the page stops firing the score may still be over warn_psi until the window has turned over: a ticket
    # then. When the page last fired, by Prometheus' own clock (the same host's):
    found = prom.query(f'max_over_time(timestamp(ALERTS{{alertname="{ALERT_DRIFT_SEVERE}", alertstate="firing"}})[10m:])')
    assert found, f"Prometheus holds no firing {ALERT_DRIFT_SEVERE}{diagnostics()}"
    page_last_fired = float(found[0]["value"][1])
    tickets = [e for e in events() if e.alertname == ALERT_DRIFT_HIGH and e.status == "firing"]
    assert all(e.arrival > page_last_fired for e in tickets), (
        f"{ALERT_DRIFT_HIGH} was sent while the page it is muted under fired (until {page_last_fired:.1f}): "
        f"{tickets}{diagnostics()}")
    assert {e.alertname for e in events()} <= {ALERT_DRIFT_SEVERE, ALERT_DRIFT_HIGH}, diagnostics()
    counts = traffic.counts()
    assert set(counts) == {200}, f"requests through the drift monitor's proxy did not all answer 200: {counts}"
    e2e_report += [
        f"{'alert':20} {'fault':26} {'severity':9} {'receiver':13} {'for':>5} {'detected':>9} {'bound':>7} "
        f"{'resolved':>9} {'bound':>7}",
        f"{ALERT_DRIFT_SEVERE:20} {f'petal_length +{SHIFT_CM:g} cm':26} {severe.labels['severity']:9} "
        f"{','.join(severe_route.receivers):13} {severe.for_s:>3.0f} s {detected:>7.1f} s {bound:>5.1f} s "
        f"{resolved_s:>7.1f} s {resolve_bound:>5.1f} s",
        f"drift: score {shifted_score:.3f} shifted (page at {thresholds[ALERT_DRIFT_SEVERE]:g} = PSI "
        f"{score_to_psi(thresholds[ALERT_DRIFT_SEVERE]):.2f}); bounds include the window refill {refill_s:.1f} s "
        f"({watched.window} rows at {rows_per_s:.1f} rows/s, recomputed every {watched.interval_seconds:g} s); "
        f"{ALERT_DRIFT_HIGH} muted under the page"
        + (f", a ticket {tickets[0].arrival - page_last_fired:.1f} s after it stopped firing (the window still "
           "turning over)" if tickets else "") + f"; {sum(counts.values())} requests through the proxy, all 200",
        f"drift runtime: {time.monotonic() - drift_stack['started']:.0f} s from starting the processes",
    ]
    assert time.monotonic() - drift_stack["started"] < MAX_TEST_SECONDS


def _alert(rule_file: dict, name: str) -> dict:
    return next(r for g in rule_file["groups"] for r in g["rules"] if r.get("alert") == name)


def _wait(check, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, message
        time.sleep(0.5)


def test_thresholds_are_the_profile_psi(rendered):
    """The rendered thresholds are the profile's PSI (defaults 0.1 and 0.25) as scores."""
    assert float(_alert(rendered.rules, ALERT_DRIFT_HIGH)["expr"].rsplit(">", 1)[1]) == round(psi_to_score(0.1), 6)
    assert float(_alert(rendered.rules, ALERT_DRIFT_SEVERE)["expr"].rsplit(">", 1)[1]) == round(psi_to_score(0.25), 6)
    assert seconds(_alert(rendered.rules, ALERT_DRIFT_SEVERE)["for"]) < seconds(_alert(rendered.rules, ALERT_DRIFT_HIGH)["for"])
