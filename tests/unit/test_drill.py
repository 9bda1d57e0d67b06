"""The drill's pure parts: matchers and label derivation, Alertmanager's routing (continue, shadowed routes),
inhibition between drill alerts and the waves that avoid it, the counters and how they are judged - and the
sender refusing to send when the running Alertmanager routes differently from the profile."""

from __future__ import annotations

import datetime as dt

import pytest

from mlinfra.drill.alertmanager import (
    Counts,
    DrillError,
    classify,
    counts_by_key,
    has_receiver_names,
    parse_metrics,
    run_alertmanager_drill,
)
from mlinfra.drill.report import DELIVERED, FAILED, NOT_REACHED
from mlinfra.files.dump import to_yaml
from mlinfra.monitoring.drill import (
    Matcher,
    derive_labels,
    parse_matcher,
    plan_alertmanager_drill,
    route_alert,
    route_tree,
    waves,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('severity="critical"', Matcher("severity", "=", "critical"), id="equal"),
        pytest.param('alertname=~"Watchdog|InfoInhibitor"', Matcher("alertname", "=~", "Watchdog|InfoInhibitor"), id="re"),
        pytest.param("team != ops", Matcher("team", "!=", "ops"), id="unquoted-negative"),
        pytest.param('msg="say \\"hi\\""', Matcher("msg", "=", 'say "hi"'), id="escaped-quote"),
        pytest.param('model!~".+"', Matcher("model", "!~", ".+"), id="negative-re"),
    ],
)
def test_parse_matcher(text, expected):
    assert parse_matcher(text) == expected


def test_parse_matcher_names_what_it_cannot_read():
    with pytest.raises(ValueError, match="matcher '=x'"):
        parse_matcher("=x")


@pytest.mark.parametrize(
    ("matchers", "expected"),
    [
        pytest.param(['severity="critical"'], {"severity": "critical"}, id="equality"),
        pytest.param(['team=~"ml-(a|b)"'], {"team": "ml-a"}, id="regex-example"),
        pytest.param(['team=~"ml-[0-9]+"'], {"team": "ml-0"}, id="regex-class-repeat"),
        pytest.param(['team=~"ml-.*"', 'team!="ml-"'], {"team": "ml-x"}, id="regex-and-negative"),
        pytest.param(['team=~"ml-.*"', 'team!~"ml-.*"'], None, id="no-value"),
        pytest.param(['zone=~"eu|us"'], {"zone": "eu"}, id="regex-literal-alternative"),
        pytest.param(['model=~".+"'], {"model": "drill"}, id="non-empty"),
        pytest.param(['team!="ops"'], {}, id="negative-left-unset"),
        pytest.param(['team!=""'], {"team": "drill"}, id="must-be-set"),
        pytest.param(['severity="critical"', 'severity="warning"'], None, id="contradiction"),
        pytest.param(['alertname=~"MLModel.*"'], {"alertname": "MLModel"}, id="alertname-regex"),
        pytest.param(['alertname=~"MLModelDown|MLModelLatencyHigh"'], {"alertname": "MLModelDown"}, id="alertname-literal"),
    ],
)
def test_derive_labels(matchers, expected):
    got = derive_labels([parse_matcher(m) for m in matchers])
    if expected is None:
        assert got is None
    else:
        assert got == {"alertname": "MLInfraDrill", "drill": "true", **expected}


CONFIG = {
    "route": {
        "receiver": "null", "group_wait": "7s", "group_interval": "3m",
        "routes": [
            {"matchers": ['alertname=~"Watchdog"'], "receiver": "null"},
            {"matchers": ['team="a"', 'severity="critical"'], "receiver": "a-page", "continue": True},
            {"matchers": ['team="a"'], "receiver": "a-ticket", "group_wait": "11s"},
            {"matchers": ['severity="critical"'], "receiver": "page"},
            {"matchers": ['team="a"', 'severity="warning"'], "receiver": "never"},  # shadowed by team="a"
            {"matchers": ['severity="warning"'], "receiver": "ticket"},
        ],
    },
    "receivers": [
        {"name": "null"},
        {"name": "a-page", "pagerduty_configs": [{"routing_key_file": "/k"}]},
        {"name": "a-ticket", "webhook_configs": [{"url_file": "/u"}, {"url_file": "/v"}]},
        {"name": "page", "slack_configs": [{"api_url_file": "/s"}]},
        {"name": "never", "slack_configs": [{"api_url_file": "/s"}]},
        {"name": "ticket", "slack_configs": [{"api_url_file": "/s"}], "email_configs": [{"to": "x@example.com"}]},
    ],
    "inhibit_rules": [
        {"source_matchers": ['severity="critical"'], "target_matchers": ['severity="warning"'], "equal": ["namespace"]},
    ],
}


def test_routing_follows_continue_and_first_match():
    root = route_tree(CONFIG)
    taken = lambda **labels: [r.receiver for r in route_alert(root, labels)]  # noqa: E731
    assert taken(team="a", severity="critical") == ["a-page", "a-ticket"]
    assert taken(team="a", severity="warning") == ["a-ticket"]
    assert taken(severity="critical") == ["page"]
    assert taken(severity="info") == ["null"]
    assert [r.group_wait for r in route_alert(root, {"team": "a"})] == [11]


def test_plan_covers_every_notifying_route_and_says_why_it_skips_the_others():
    drill = plan_alertmanager_drill(CONFIG, profile="p", environment="prod", namespaces={}, default_environment="prod")
    assert [(a.route, [h.receiver for h in a.hits]) for a in drill.alerts] == [
        ('team="a", severity="critical"', ["a-page", "a-ticket"]),
        ('team="a"', ["a-ticket"]),
        ('severity="critical"', ["page"]),
        ('severity="warning"', ["ticket"]),
    ]
    skipped = {s.route: s.reason for s in drill.skipped}
    assert set(skipped) == {'alertname=~"Watchdog"', 'team="a", severity="warning"'}
    assert skipped['team="a", severity="warning"'].startswith("unreachable")
    assert dict(drill.alerts[1].hits[0].integrations) == {"webhook": 2}


def test_an_environment_gets_only_its_routes():
    config = {"route": {"receiver": "null", "routes": [
        {"matchers": ['environment="dev"'], "receiver": "ticket"},
        {"matchers": ['namespace="shop-dev"'], "receiver": "ticket"},
        {"matchers": ['environment="prod"'], "receiver": "page"},
        {"matchers": ['severity="critical"'], "receiver": "page"},
    ]}, "receivers": [{"name": "null"}, {"name": "ticket", "webhook_configs": [{"url": "http://t"}]},
                      {"name": "page", "webhook_configs": [{"url": "http://p"}]}]}
    routes = lambda env: [a.route for a in plan_alertmanager_drill(  # noqa: E731
        config, profile="p", environment=env, namespaces={"shop-dev": "dev"}, default_environment="prod").alerts]
    assert routes("dev") == ['environment="dev"', 'namespace="shop-dev"']
    assert routes("prod") == ['environment="prod"', 'severity="critical"']


def test_drill_alerts_that_mute_each_other_go_target_first_and_real_risks_are_stated():
    drill = plan_alertmanager_drill(CONFIG, profile="p", environment="prod", namespaces={}, default_environment="prod")
    routes = [a.route for a in drill.alerts]
    warning = routes.index('severity="warning"')
    # every critical drill alert (same empty namespace) mutes the warning one
    assert set(drill.alerts[warning].inhibited_by) == {routes.index('team="a", severity="critical"'),
                                                       routes.index('severity="critical"')}
    assert drill.alerts[warning].risks and "inhibit rule 1" in drill.alerts[warning].risks[0]
    order = waves(drill.alerts, lambda hit, name: (name,))
    position = {i: n for n, wave in enumerate(order) for i in wave}
    assert all(position[warning] < position[j] for j in drill.alerts[warning].inhibited_by)
    assert sorted(i for wave in order for i in wave) == list(range(len(drill.alerts)))
    for wave in order:  # one alert per counter in a wave
        keys = [name for i in wave for h in drill.alerts[i].hits for name, _ in h.integrations]
        assert len(keys) == len(set(keys)), wave


def test_waves_per_receiver_when_alertmanager_names_receivers():
    """Two receivers on Slack: one at a time when the counters are per integration, together when per receiver."""
    config = {"route": {"receiver": "null", "routes": [{"matchers": ['team="a"'], "receiver": "a"},
                                                       {"matchers": ['team="b"'], "receiver": "b"}]},
              "receivers": [{"name": "null"}, {"name": "a", "slack_configs": [{"api_url": "http://a"}]},
                            {"name": "b", "slack_configs": [{"api_url": "http://b"}]}]}
    drill = plan_alertmanager_drill(config, profile="p", environment="e", namespaces={}, default_environment="e")
    assert waves(drill.alerts, lambda hit, name: (name,)) == [[0], [1]]
    assert waves(drill.alerts, lambda hit, name: (name, hit.receiver)) == [[0, 1]]


METRICS = """# HELP alertmanager_notifications_total The total number of attempted notifications.
alertmanager_notifications_total{integration="webhook"} 4
alertmanager_notifications_total{integration="slack"} 2
alertmanager_notifications_failed_total{integration="webhook",reason="other"} 1
alertmanager_notifications_failed_total{integration="webhook",reason="serverError"} 0
alertmanager_notification_requests_total{integration="webhook"} 9
alertmanager_notification_requests_failed_total{integration="webhook"} 6
alertmanager_notification_requests_total{integration="slack"} 2
alertmanager_notification_requests_failed_total{integration="slack"} 0
alertmanager_alerts{state="active"} 3
"""


def test_counters_are_read_per_integration():
    metrics = parse_metrics(METRICS)
    assert not has_receiver_names(metrics)
    counts = counts_by_key(metrics, by_receiver=False)
    assert counts[("webhook",)] == Counts(started=4, gave_up=1, attempts=9, failed_attempts=6, reasons=("other",))
    assert counts[("slack",)].succeeded == 2
    named = parse_metrics('alertmanager_notifications_total{integration="slack",receiver_name="a"} 1\n')
    assert has_receiver_names(named) and ("slack", "a") in counts_by_key(named, by_receiver=True)


@pytest.mark.parametrize(
    ("delta", "expected", "result", "detail"),
    [
        pytest.param(Counts(1, 0, 1, 0), 1, DELIVERED, "1 notification(s) sent", id="delivered"),
        pytest.param(Counts(1, 0, 3, 2), 1, DELIVERED, "after 2 failed attempt(s)", id="delivered-after-retries"),
        pytest.param(Counts(1, 1, 5, 5, ("other",)), 1, FAILED, "gave up after 5 failed attempt(s) (other)", id="gave-up"),
        pytest.param(Counts(1, 0, 2, 2), 1, FAILED, "still retries", id="failing"),
        pytest.param(Counts(2, 0, 1, 0), 2, NOT_REACHED, "1 of 2", id="partly"),
        pytest.param(Counts(), 1, NOT_REACHED, "no notification attempt", id="nothing"),
    ],
)
def test_classify(delta, expected, result, detail):
    got, text = classify(delta, expected)
    assert got == result and detail in text


class FakeAlertmanager:
    """Answers /api/v2/status with another configuration; records any POST (there must be none)."""

    url = "http://am.test"

    def __init__(self, config):
        self.config, self.posted = config, []

    def get_json(self, path):
        assert path == "/api/v2/status", path
        return {"config": {"original": to_yaml(self.config)}, "versionInfo": {"version": "0.28.1"}}

    def get_text(self, path):
        assert path == "/metrics"
        return METRICS

    def post_alerts(self, alerts):
        self.posted.append(alerts)


def test_nothing_is_sent_where_the_running_alertmanager_routes_differently():
    drill = plan_alertmanager_drill(CONFIG, profile="p", environment="prod", namespaces={}, default_environment="prod")
    running = {**CONFIG, "route": {**CONFIG["route"], "routes": [{"matchers": ['severity="critical"'],
                                                                    "receiver": "ticket"}]}}
    fake = FakeAlertmanager(running)
    report = run_alertmanager_drill(drill, fake, target="t", sleep=lambda _: None)
    assert fake.posted == [] and not report.ok
    assert {r.result for r in report.rows} == {NOT_REACHED}
    assert all("deploy the profile's configuration first" in r.detail for r in report.rows)


def test_an_alertmanager_without_configuration_is_named():
    class Broken(FakeAlertmanager):
        def get_json(self, path):
            return {"config": {}}

    drill = plan_alertmanager_drill(CONFIG, profile="p", environment="prod", namespaces={}, default_environment="prod")
    with pytest.raises(DrillError, match="--alertmanager http://am.test: /api/v2/status holds no readable configuration"):
        run_alertmanager_drill(drill, Broken(CONFIG), target="t")


class SimulatedAlertmanager:
    """Routes what is posted with the pure router and moves the counters as 0.28 does: an integration in `broken`
    fails every attempt (one per /metrics read) and gives up `retry_s` after the notification started."""

    url = "http://sim.test"

    def __init__(self, config, broken, clock, retry_s=12.0):
        self.config, self.broken, self.clock, self.retry_s = config, broken, clock, retry_s
        self.root = route_tree(config)
        self.configs = {r["name"]: r for r in config["receivers"]}
        self.counts = {}  # integration -> [started, gave_up, attempts, failed_attempts]
        self.pending = []  # [integration, give-up time]
        self.posted = []

    def get_json(self, path):
        if path == "/api/v2/status":
            return {"config": {"original": to_yaml(self.config)}, "versionInfo": {"version": "sim"}}
        return []

    def get_text(self, path):
        for item in list(self.pending):
            name, give_up = item
            c = self.counts[name]
            c[2] += 1
            if name not in self.broken:
                self.pending.remove(item)
            else:
                c[3] += 1
                if self.clock.now >= give_up:
                    c[1] += 1
                    self.pending.remove(item)
        metrics = ("alertmanager_notifications_total", "alertmanager_notifications_failed_total",
                   "alertmanager_notification_requests_total", "alertmanager_notification_requests_failed_total")
        return "".join(f'{m}{{integration="{name}"}} {c[i]}\n' for name, c in self.counts.items()
                       for i, m in enumerate(metrics))

    def post_alerts(self, alerts):
        self.posted += alerts
        for alert in alerts:
            if _seconds(alert["endsAt"]) <= self.clock.now:  # a resolve
                continue
            for route in route_alert(self.root, alert["labels"]):
                for key, value in self.configs[route.receiver].items():
                    if key.endswith("_configs"):
                        name = key.removesuffix("_configs")
                        self.counts.setdefault(name, [0, 0, 0, 0])[0] += len(value)
                        self.pending += [[name, self.clock.now + self.retry_s] for _ in value]


def _seconds(iso: str) -> float:
    return dt.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


TWO_ON_ONE_HOOK = {
    "route": {"receiver": "null", "group_wait": "1s", "group_interval": "2s", "routes": [
        {"matchers": ['team="a"'], "receiver": "hooks"}, {"matchers": ['team="b"'], "receiver": "hooks"},
        {"matchers": ['team="c"'], "receiver": "chat"}]},
    "receivers": [{"name": "null"}, {"name": "hooks", "webhook_configs": [{"url": "http://h"}]},
                  {"name": "chat", "slack_configs": [{"api_url": "http://s"}]}],
}


def _simulated_drill(timeout):
    clock = Clock()
    am = SimulatedAlertmanager(TWO_ON_ONE_HOOK, {"webhook"}, clock)
    drill = plan_alertmanager_drill(TWO_ON_ONE_HOOK, profile="p", environment="e", namespaces={},
                                    default_environment="e")
    report = run_alertmanager_drill(drill, am, target="t", timeout=timeout, clock=clock, sleep=clock.sleep)
    return {r.route: (r.result, r.detail) for r in report.rows}, am


def test_a_failing_integration_is_judged_once_alertmanager_gives_up():
    rows, am = _simulated_drill(timeout=None)
    assert rows['team="a"'][0] == rows['team="b"'][0] == FAILED
    assert "gave up" in rows['team="a"'][1] and "gave up" in rows['team="b"'][1]
    assert rows['team="c"'][0] == DELIVERED
    firing = [a for a in am.posted if _seconds(a["endsAt"]) - _seconds(a["startsAt"]) >= 3600]
    resolved = [a for a in am.posted if a not in firing]
    assert len(firing) == 3 and all(a["labels"]["drill"] == "true" for a in am.posted)
    assert sorted(a["labels"]["team"] for a in resolved) == ["a", "b", "c"], "every drill alert is resolved afterwards"
    assert all(_seconds(a["endsAt"]) <= am.clock.now for a in resolved)


def test_a_short_timeout_never_mixes_a_still_failing_integration_into_the_next_route():
    rows, _ = _simulated_drill(timeout=2)
    assert rows['team="a"'][0] == FAILED and "still retries" in rows['team="a"'][1]
    assert rows['team="b"'][0] == NOT_REACHED and rows['team="b"'][1].startswith("not sent")
    assert rows['team="c"'][0] == DELIVERED
