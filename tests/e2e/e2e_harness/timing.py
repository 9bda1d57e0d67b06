"""The detection-time bound the rendered configuration implies, read from the rendered files themselves.

bound(alert) = scrape interval                      (the fault's first sample reaches Prometheus)
             + evaluation interval x (1 + depth)     (each recording-rule level adds one evaluation of its group)
             + longest range window the alert reads  (window warm-up: after it, the windowed value is the
                                                      fault's steady state, so any threshold the fault
                                                      crosses has been crossed)
             + for:                                  (pending -> firing)
             + group_wait of the alert's route       (Alertmanager's first notification of a new group)
             + DELIVERY_SLACK                        (resend delay 1 s, HTTP hops, clock reads)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DELIVERY_SLACK_S = 3.0
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")
_RANGE = re.compile(r"\[\s*([0-9smhdwy]+)\s*(?::\s*([0-9smhdwy]*))?\s*\]")


def seconds(duration: str | int | float | None) -> float:
    """Prometheus/Alertmanager duration ('1m30s', '5s', '250ms') in seconds; None/'' is 0."""
    if duration in (None, ""):
        return 0.0
    if isinstance(duration, (int, float)):
        return float(duration)
    parts = _DURATION.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class RuleTiming:
    alert: str
    for_s: float
    eval_interval_s: float
    longest_window_s: float
    depth: int  # recording-rule levels between the raw metrics and the alert


def rule_timing(rule_file: dict, alert: str, default_interval_s: float) -> RuleTiming:
    """Timing of `alert` in a Prometheus rule file (dict), following the recording rules it reads."""
    records: dict[str, tuple[str, float]] = {}
    alerts: dict[str, tuple[dict, float]] = {}
    for group in rule_file["groups"]:
        interval = seconds(group.get("interval")) or default_interval_s
        for rule in group["rules"]:
            if "record" in rule:
                records.setdefault(rule["record"], ("", interval))
                # one name may be recorded by several rules (one per model/runtime): read all their expressions
                records[rule["record"]] = (records[rule["record"]][0] + "\n" + rule["expr"], interval)
            else:
                alerts.setdefault(rule["alert"], (rule, interval))
    if alert not in alerts:
        raise KeyError(f"alert {alert} is not in the rendered rules; alerts found: {sorted(alerts)}")
    rule, interval = alerts[alert]

    def walk(expr: str, seen: frozenset[str]) -> tuple[float, int, float]:
        longest = max((seconds(m.group(1)) for m in _RANGE.finditer(expr)), default=0.0)
        depth, slowest = 0, 0.0
        for name, (sub_expr, sub_interval) in records.items():
            if name not in seen and re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr):
                sub_longest, sub_depth, sub_slowest = walk(sub_expr, seen | {name})
                longest = max(longest, sub_longest)
                depth = max(depth, sub_depth + 1)
                slowest = max(slowest, sub_interval, sub_slowest)
        return longest, depth, slowest

    longest, depth, slowest = walk(rule["expr"], frozenset())
    return RuleTiming(
        alert=alert,
        for_s=seconds(rule.get("for")),
        eval_interval_s=max(interval, slowest),
        longest_window_s=longest,
        depth=depth,
    )


@dataclass(frozen=True)
class RouteTiming:
    receivers: tuple[str, ...]
    group_wait_s: float
    group_interval_s: float
    group_by: tuple[str, ...]


_MATCHER = re.compile(r'^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


def _matches(route: dict, labels: dict[str, str]) -> bool:
    for name, value in (route.get("match") or {}).items():
        if labels.get(name, "") != value:
            return False
    for name, pattern in (route.get("match_re") or {}).items():
        if not re.fullmatch(pattern, labels.get(name, "")):
            return False
    for matcher in route.get("matchers") or []:
        found = _MATCHER.match(matcher)
        if not found:
            raise ValueError(f"cannot read matcher {matcher!r}")
        name, op, value = found.groups()
        actual = labels.get(name, "")
        ok = {
            "=": actual == value,
            "!=": actual != value,
            "=~": re.fullmatch(value, actual) is not None,
            "!~": re.fullmatch(value, actual) is None,
        }[op]
        if not ok:
            return False
    return True


def route_timing(am_config: dict, labels: dict[str, str]) -> RouteTiming:
    """Receivers an alert with `labels` reaches, and the grouping timers of the route(s) that send it."""
    defaults = {"group_wait": "30s", "group_interval": "5m", "group_by": []}  # Alertmanager's defaults
    found: list[tuple[str, dict]] = []

    def visit(route: dict, inherited: dict) -> bool:
        settings = {k: route.get(k, inherited[k]) for k in defaults}
        settings["receiver"] = route.get("receiver", inherited.get("receiver"))
        matched_child = False
        for child in route.get("routes") or []:
            if _matches(child, labels) and visit(child, settings):
                matched_child = True
                if not child.get("continue", False):
                    break
        if not matched_child:
            found.append((settings["receiver"], settings))
        return True

    visit(am_config["route"], defaults)
    return RouteTiming(
        receivers=tuple(r for r, _ in found),
        group_wait_s=max(seconds(s["group_wait"]) for _, s in found),
        group_interval_s=max(seconds(s["group_interval"]) for _, s in found),
        group_by=tuple(sorted({g for _, s in found for g in s["group_by"]})),
    )


def detection_bound(rule: RuleTiming, route: RouteTiming, scrape_interval_s: float) -> float:
    return (
        scrape_interval_s
        + rule.eval_interval_s * (1 + rule.depth)
        + rule.longest_window_s
        + rule.for_s
        + route.group_wait_s
        + DELIVERY_SLACK_S
    )
