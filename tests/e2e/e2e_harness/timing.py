"""The detection-time bound the rendered configuration implies, read from the rendered files themselves.

bound(alert) = scrape interval                      (the fault's first sample reaches Prometheus)
             + evaluation interval x (2 + depth)     (the alert's evaluation, the one that finds for: passed,
                                                      and one per recording-rule level in between)
             + window warm-up                        (after the longest range window the alert reads -
                                                      directly or through recording rules - the windowed
                                                      value is the fault's steady state, so a threshold the
                                                      fault crosses has been crossed; for `A or B` alerts
                                                      (multi-window burn-rate pairs) the quickest branch:
                                                      the faults of the test cross every branch's threshold)
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
_OR = re.compile(r"(?<![\w:])or(?![\w:])")  # the binary operator, not a metric or label named like it
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
    labels: dict
    for_s: float
    eval_interval_s: float
    longest_window_s: float  # window warm-up of the quickest `or` branch (detection)
    resolve_window_s: float  # every branch false once its shortest window holds only healthy data (resolution)
    depth: int  # recording-rule levels between the raw metrics and the alert

    @property
    def pipeline_s(self) -> float:
        """Evaluation delay: the alert's evaluation, the one that finds `for:` passed, one per recording level."""
        return self.eval_interval_s * (2 + self.depth)


def _index(rule_file: dict, default_interval_s: float) -> tuple[dict, dict]:
    records: dict[str, tuple[str, float]] = {}
    alerts: dict[str, tuple[dict, float]] = {}
    for group in rule_file["groups"]:
        interval = seconds(group.get("interval")) or default_interval_s
        for rule in group["rules"]:
            if "record" in rule:
                if rule["record"] in records:  # one record per model/runtime: this test serves one
                    raise ValueError(f"record {rule['record']} is defined twice; the e2e profile has one model")
                records[rule["record"]] = (rule["expr"], interval)
            else:
                alerts.setdefault(rule["alert"], (rule, interval))
    return records, alerts


def _references(expr: str, records: dict) -> list[str]:
    return [name for name in records if re.search(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr)]


def rule_timing(rule_file: dict, alert: str, default_interval_s: float) -> RuleTiming:
    """Timing of `alert` in a Prometheus rule file (dict), following the recording rules it reads."""
    records, alerts = _index(rule_file, default_interval_s)
    if alert not in alerts:
        raise KeyError(f"alert {alert} is not in the rendered rules; alerts found: {sorted(alerts)}")
    rule, interval = alerts[alert]

    def walk(expr: str, seen: frozenset[str]) -> tuple[set[float], int, float]:
        windows = {seconds(m.group(1)) for m in _RANGE.finditer(expr)}
        depth, slowest = 0, 0.0
        for name in _references(expr, records):
            if name not in seen:
                sub_expr, sub_interval = records[name]
                sub_windows, sub_depth, sub_slowest = walk(sub_expr, seen | {name})
                windows |= sub_windows
                depth = max(depth, sub_depth + 1)
                slowest = max(slowest, sub_interval, sub_slowest)
        return windows, depth, slowest

    branches = [walk(branch, frozenset()) for branch in top_level_or(rule["expr"])]
    return RuleTiming(
        alert=alert,
        labels=dict(rule.get("labels") or {}),
        for_s=seconds(rule.get("for")),
        eval_interval_s=max([interval, *(b[2] for b in branches)]),
        # fires when any branch holds: the quickest branch bounds detection (branches without a window: 0)
        longest_window_s=min(max(b[0], default=0.0) for b in branches),
        # resolves when every branch is false; `A and B` is false once its shortest window is clean
        resolve_window_s=max(min(b[0], default=0.0) for b in branches),
        depth=max(b[1] for b in branches),
    )


def inline_records(rule_file: dict, expr: str, old: str, new: str) -> str:
    """`expr` with every recording rule it reads inlined (one level) and `old` replaced by `new` in them.

    Used for controls: the same expression over a different status class shows what a fault *would* do.
    """
    records, _ = _index(rule_file, 1.0)
    replaced = 0
    for name in _references(expr, records):
        sub_expr = records[name][0]
        replaced += sub_expr.count(old)
        inlined = f"({sub_expr.replace(old, new)})"
        expr = re.sub(rf"(?<![\w:]){re.escape(name)}(\{{[^}}]*\}})?(?![\w:])", lambda _m: inlined, expr)
    if not replaced:
        raise ValueError(f"{old!r} is in none of the recording rules {expr[:80]!r}... reads")
    return expr


def top_level_or(expr: str) -> list[str]:
    """Split a PromQL expression at its outermost `or` operators (outside (), [], {} and strings)."""
    parts, depth, quote, start, i = [], 0, "", 0, 0
    while i < len(expr):
        char = expr[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and _OR.match(expr, i):
            parts.append(expr[start:i])
            start = i + 2
            i += 1
        i += 1
    parts.append(expr[start:])
    return [p.strip() for p in parts if p.strip()]


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
    """Fault -> first notification (see the module docstring)."""
    window_and_hold = rule.longest_window_s + rule.for_s
    return scrape_interval_s + rule.pipeline_s + window_and_hold + route.group_wait_s + DELIVERY_SLACK_S


def resolution_bound(rule: RuleTiming, route: RouteTiming, scrape_interval_s: float) -> float:
    """Recovery -> resolved notification: no `for:` on the way back, and the group's next flush
    (group_interval) instead of group_wait."""
    return scrape_interval_s + rule.pipeline_s + rule.resolve_window_s + route.group_interval_s + DELIVERY_SLACK_S
