"""The e2e harness's own logic, in milliseconds: the bound it reads from rendered files and how it reads a
notification. A wrong bound would make the e2e test pass or fail for the wrong reason."""

from __future__ import annotations

import pytest
from e2e_harness.notifications import decode
from e2e_harness.sink import Notification
from e2e_harness.timing import (
    DELIVERY_SLACK_S,
    detection_bound,
    inline_records,
    resolution_bound,
    route_timing,
    rule_timing,
    seconds,
    top_level_or,
)

RULES = {
    "groups": [
        {
            "name": "recording",
            "interval": "2s",
            "rules": [
                {"record": "job:errors:ratio_long", "expr": 'sum(rate(req{code=~"5.."}[70s])) / sum(rate(req[70s]))'},
                {"record": "job:errors:ratio_short", "expr": 'sum(rate(req{code=~"5.."}[7s])) / sum(rate(req[7s]))'},
                {"record": "job:errors:ratio_slow", "expr": 'sum(rate(req{code=~"5.."}[13m])) / sum(rate(req[13m]))'},
                {"record": "job:errors:ratio_mid", "expr": 'sum(rate(req{code=~"5.."}[31s])) / sum(rate(req[31s]))'},
            ],
        },
        {
            "name": "alerts",
            "interval": "3s",
            "rules": [
                {
                    "alert": "Burn",
                    "expr": '(job:errors:ratio_long{m="a"} > 0.1 and job:errors:ratio_short > 0.1) '
                    "or (job:errors:ratio_slow > 0.05 and job:errors:ratio_mid > 0.05)",
                    "for": "4s",
                    "labels": {"severity": "critical", "model": "a"},
                },
                {"alert": "Slow", "expr": "histogram_quantile(0.95, rate(lat_bucket[11s])) > 0.25", "for": "1m5s",
                 "labels": {"severity": "warning"}},
            ],
        },
    ]
}

ROUTING = {
    "route": {
        "receiver": "null",
        "group_by": ["alertname"],
        "group_wait": "5s",
        "group_interval": "17s",
        "routes": [
            {"matchers": ['alertname=~"Watchdog|InfoInhibitor"'], "receiver": "null"},
            {"matchers": ['severity="critical"'], "receiver": "page", "group_wait": "1s", "continue": True},
            {"match": {"severity": "critical"}, "receiver": "audit"},
            {"match_re": {"severity": "warn.*"}, "receiver": "ticket"},
        ],
    }
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1m30s", 90, id="compound"),
        pytest.param("250ms", 0.25, id="milliseconds"),
        pytest.param("2h", 7200, id="hours"),
        pytest.param(None, 0, id="absent"),
    ],
)
def test_seconds(text, expected):
    assert seconds(text) == expected


def test_seconds_rejects_garbage():
    with pytest.raises(ValueError, match="not a duration: '5 minutes'"):
        seconds("5 minutes")


def test_top_level_or_splits_outside_brackets_and_strings_only():
    expr = '(a > 1 or b > 2) or c{x="or"} > 3 or or_metric'
    assert top_level_or(expr) == ["(a > 1 or b > 2)", 'c{x="or"} > 3', "or_metric"]


def test_rule_timing_follows_recording_rules_and_takes_the_quickest_branch():
    burn = rule_timing(RULES, "Burn", default_interval_s=1)
    assert (burn.for_s, burn.eval_interval_s, burn.depth) == (4, 3, 1)
    assert burn.longest_window_s == 70  # branch 1 (70 s / 7 s) fires before branch 2 (13 min / 31 s)
    assert burn.resolve_window_s == 31  # both branches false once their short windows (7 s, 31 s) are clean
    assert burn.pipeline_s == 9  # 3 s x (alert + for: check + one recording level)
    assert burn.labels == {"severity": "critical", "model": "a"}


def test_rule_timing_without_recording_rules():
    slow = rule_timing(RULES, "Slow", default_interval_s=1)
    assert (slow.for_s, slow.longest_window_s, slow.depth, slow.pipeline_s) == (65, 11, 0, 6)


def test_rule_timing_names_the_alerts_found_when_one_is_missing():
    with pytest.raises(KeyError, match=r"alert Missing is not in the rendered rules; alerts found: \['Burn', 'Slow'\]"):
        rule_timing(RULES, "Missing", default_interval_s=1)


def test_route_timing_follows_continue_and_inherits_timers():
    page = route_timing(ROUTING, {"alertname": "Burn", "severity": "critical"})
    assert page.receivers == ("page", "audit")
    assert (page.group_wait_s, page.group_interval_s) == (5, 17)  # the slower of the two routes' group_wait
    ticket = route_timing(ROUTING, {"alertname": "Slow", "severity": "warning"})
    assert (ticket.receivers, ticket.group_wait_s) == (("ticket",), 5)
    assert route_timing(ROUTING, {"alertname": "Watchdog"}).receivers == ("null",)
    assert route_timing(ROUTING, {"alertname": "Other", "severity": "info"}).receivers == ("null",)


def test_bounds_add_up_the_pipeline():
    burn = rule_timing(RULES, "Burn", default_interval_s=1)
    route = route_timing(ROUTING, {"alertname": "Burn", "severity": "critical"})
    assert detection_bound(burn, route, scrape_interval_s=2) == 2 + 9 + 70 + 4 + 5 + DELIVERY_SLACK_S
    assert resolution_bound(burn, route, scrape_interval_s=2) == 2 + 9 + 31 + 17 + DELIVERY_SLACK_S


def test_inline_records_swaps_the_status_class():
    branch = top_level_or(RULES["groups"][1]["rules"][0]["expr"])[0]
    inlined = inline_records(RULES, branch, 'code=~"5.."', 'code=~"4.."')
    assert inlined == (
        '((sum(rate(req{code=~"4.."}[70s])) / sum(rate(req[70s]))) > 0.1 and '
        '(sum(rate(req{code=~"4.."}[7s])) / sum(rate(req[7s]))) > 0.1)'
    )
    with pytest.raises(ValueError, match="'status=\"500\"' is in none of the recording rules"):
        inline_records(RULES, branch, 'status="500"', 'status="400"')


def test_decode_webhook_and_slack_notifications():
    webhook = Notification(
        arrival=12.5,
        path="/ticketHook",
        body={"receiver": "ticket", "alerts": [{"status": "firing", "labels": {"alertname": "Slow", "model": "a"}}]},
    )
    (event,) = decode(webhook)
    assert (event.channel, event.secret, event.receiver, event.status, event.alertname) == (
        "webhook", "ticketHook", "ticket", "firing", "Slow"
    )
    assert event.shows("model", "a") and not event.shows("model", "b") and not event.shows("alertname", "a")

    slack = Notification(
        arrival=13.5,
        path="/pageSlack",
        body={"attachments": [{"title": "[RESOLVED] Burn a (prod) critical", "text": "p95 of model-a",
                               "title_link": "http://am:9093/#/alerts?receiver=page"}]},
    )
    (event,) = decode(slack)
    assert (event.channel, event.receiver, event.status, event.alertname) == ("slack", "page", "resolved", "Burn")
    assert event.shows("environment", "prod") and event.shows("severity", "critical")
    assert not event.shows("model", "model")  # whole words only: "model-a" does not show the value "model"

    with pytest.raises(AssertionError, match="does not start with"):
        decode(Notification(arrival=1, path="/x", body={"attachments": [{"title": "Burn is firing"}]}))
