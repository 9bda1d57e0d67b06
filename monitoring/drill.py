"""Fire drill plan for an Alertmanager: one synthetic alert per route that notifies somebody, with labels that
take exactly that route - derived from the configuration's route tree, never from receiver names.

Which routes count: every node of the tree an alert can end on (leaves, and parents an alert reaches when no
child takes it) whose receiver has at least one integration (`*_configs`). Receivers without any (`null`) are
blackholes: nobody would be told, so there is nothing to prove, and they are listed as skipped. A route counts
for an environment when its alert belongs to it: the `environment` label its matchers require, else the
environment whose namespace they require, else (an alert of no environment: the cluster's own alerts) the
environment that owns the monitoring stack, whose severity routes take those.

Labels: the matchers on the path from the root, joined - an equality sets its label, a regex gets a value
`re.fullmatch` accepts (its literal alternatives first, then a short example built from the pattern), a negative matcher leaves the label unset when the empty
value passes it, else a value that does - plus `drill="true"` and `alertname="MLInfraDrill"` unless a matcher needs another name. Each
label set is then routed exactly as Alertmanager routes (`route_alert`: children in order, first match wins unless
`continue`, a node no child takes is the match): a route its own labels do not reach (an earlier sibling takes
them) is reported as unreachable, and a route reached with `continue` lists every receiver the alert takes.

Inhibition: drill alerts carry no `model` label and a name no real alert has, so mlinfra's rules (a model's page
mutes its tickets: `model=~".+"`; the chart's: same `alertname`) let no real alert mute them. Drill alerts can
mute each other (a critical drill alert mutes the warning one of the same namespace under the chart's rule):
`inhibited_by` lists those pairs and `waves` sends the muted one, and waits for its notification, before the one
that would mute it. Rules a real alert could still match are stated per alert (`risks`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

try:  # Python >= 3.11
    from re import _parser as sre_parse  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - 3.10
    import sre_parse  # type: ignore[no-redef]

DRILL_LABEL = "drill"
DRILL_ALERTNAME = "MLInfraDrill"
_DEFAULT_VALUES = ("drill", "MLInfraDrill", "x", "a", "1", "true")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$')


@dataclass(frozen=True)
class Matcher:
    """One Alertmanager label matcher; a missing label has the value ""."""

    label: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        got = labels.get(self.label, "")
        if self.op == "=":
            return got == self.value
        if self.op == "!=":
            return got != self.value
        hit = re.fullmatch(self.value, got) is not None  # Alertmanager anchors every regex
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        return f'{self.label}{self.op}"{self.value}"'


def parse_matcher(text: str) -> Matcher:
    """`label="value"`, `label=~"regex"`, `label!=value` ...; raises ValueError naming the matcher."""
    found = _MATCHER.match(text)
    if not found:
        raise ValueError(f"matcher {text!r}: expected label, one of = != =~ !~, and a value")
    label, op, raw = found.groups()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = re.sub(r'\\(["\\n])', lambda m: "\n" if m.group(1) == "n" else m.group(1), raw[1:-1])
    return Matcher(label, op, raw)


@dataclass(frozen=True)
class Route:
    """A node of the route tree: its own matchers, its receiver, and its timing with the parents' defaults."""

    key: tuple[int, ...]  # position in the tree (root: ())
    matchers: tuple[Matcher, ...]
    path: tuple[Matcher, ...]  # the matchers from the root down to this node
    receiver: str
    cont: bool
    group_wait: int  # seconds
    group_interval: int
    children: tuple[Route, ...] = ()

    @property
    def name(self) -> str:
        """The joined matchers from the root, as the `alert_routes` stack output names a route."""
        return ", ".join(str(m) for m in self.path) or "(default route)"

    def walk(self) -> list[Route]:
        return [self, *(node for child in self.children for node in child.walk())]


def _seconds(text: str | None, default: int) -> int:
    if text is None:
        return default
    total = 0
    for number, unit in re.findall(r"(\d+)(ms|y|w|d|h|m|s)", str(text)):
        total += int(number) * {"ms": 0, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[unit]
    return total


def route_tree(config: Mapping[str, Any]) -> Route:
    """The config's `route` as a tree; `match`/`match_re` (the older form) become matchers too."""

    def build(raw: Mapping[str, Any], key: tuple[int, ...], parent: Route | None) -> Route:
        own = [parse_matcher(m) for m in raw.get("matchers", [])]
        own += [Matcher(k, "=", str(v)) for k, v in sorted((raw.get("match") or {}).items())]
        own += [Matcher(k, "=~", str(v)) for k, v in sorted((raw.get("match_re") or {}).items())]
        node = Route(
            key=key,
            matchers=tuple(own),
            path=(*(parent.path if parent else ()), *own),
            receiver=raw.get("receiver") or (parent.receiver if parent else ""),
            cont=bool(raw.get("continue", False)),
            group_wait=_seconds(raw.get("group_wait"), parent.group_wait if parent else 30),
            group_interval=_seconds(raw.get("group_interval"), parent.group_interval if parent else 300),
        )
        children = tuple(build(child, (*key, i), node) for i, child in enumerate(raw.get("routes") or []))
        return Route(**{**node.__dict__, "children": children})

    return build(config["route"], (), None)


def route_alert(root: Route, labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert with `labels` takes, as Alertmanager's dispatcher (and `amtool config routes test`)
    finds them: children in order, a match stops the search unless that child has `continue`."""

    def match(node: Route) -> list[Route]:
        if not all(m.matches(labels) for m in node.matchers):
            return []
        found: list[Route] = []
        for child in node.children:
            got = match(child)
            found += got
            if got and not child.cont:
                break
        return found or [node]

    return match(root)


def integrations(config: Mapping[str, Any]) -> dict[str, tuple[tuple[str, int], ...]]:
    """receiver -> ((integration, number of its configs), ...), integration as Alertmanager's metrics name it."""
    return {
        r["name"]: tuple(sorted((k.removesuffix("_configs"), len(v or [])) for k, v in r.items()
                                if k.endswith("_configs") and v))
        for r in config.get("receivers", [])
    }


@dataclass(frozen=True)
class Hit:
    """A route a drill alert takes and what its receiver notifies."""

    route: str
    receiver: str
    integrations: tuple[tuple[str, int], ...]
    group_wait: int
    group_interval: int = 300


@dataclass(frozen=True)
class DrillAlert:
    route: str  # the route this alert is for
    environment: str
    labels: dict[str, str] = field(hash=False)
    annotations: dict[str, str] = field(hash=False)
    hits: tuple[Hit, ...]  # every route it takes (more than one with `continue`), each notifying somebody
    inhibited_by: tuple[int, ...] = ()  # indices of drill alerts that would mute this one while they fire
    risks: tuple[str, ...] = ()  # inhibit rules a real alert could use to mute it


@dataclass(frozen=True)
class Skipped:
    route: str
    receiver: str
    reason: str


@dataclass(frozen=True)
class AlertmanagerDrill:
    """What `mlinfra drill` sends to an Alertmanager for one environment (pure data)."""

    profile: str
    environment: str
    config: dict[str, Any] = field(hash=False)  # the configuration the profile deploys
    alerts: tuple[DrillAlert, ...]
    skipped: tuple[Skipped, ...]


def example(pattern: str, *, extra: int = 0) -> str | None:
    """A short string the regex `pattern` matches as a whole (first branch, fewest repeats + `extra`), or None."""
    try:
        parsed = sre_parse.parse(pattern)
    except re.error:
        return None
    categories = {"CATEGORY_DIGIT": "0", "CATEGORY_NOT_DIGIT": "a", "CATEGORY_SPACE": " ",
                  "CATEGORY_NOT_SPACE": "a", "CATEGORY_WORD": "a", "CATEGORY_NOT_WORD": "-"}

    def one(op: Any, arg: Any) -> str:
        name = str(op)
        if name == "LITERAL":
            return chr(arg)
        if name == "ANY":
            return "x"
        if name == "IN":
            for item_op, item_arg in arg:
                if str(item_op) == "LITERAL":
                    return chr(item_arg)
                if str(item_op) == "RANGE":
                    return chr(item_arg[0])
                if str(item_op) == "CATEGORY":
                    return categories.get(str(item_arg), "a")
            return "a"
        if name == "BRANCH":
            return seq(arg[1][0])
        if name == "SUBPATTERN":
            return seq(arg[-1])
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, item = arg
            return seq(item) * min(low + extra, high)
        if name == "CATEGORY":
            return categories.get(str(arg), "a")
        return ""  # anchors, lookarounds

    def seq(items: Any) -> str:
        return "".join(one(op, arg) for op, arg in items)

    text = seq(parsed)
    return text if re.fullmatch(pattern, text) else None


def _choose(label: str, matchers: Sequence[Matcher]) -> str | None:
    """A value of `label` every matcher accepts ("" = leave it unset), or None when there is none."""
    fixed = [m.value for m in matchers if m.op == "="]
    literals = [
        part for m in matchers if m.op == "=~"
        for part in (m.value.strip("()").split("|") if "(" not in m.value.strip("()") else [])
        if not re.search(r"[.*+?\[\]{}()^$\\]", part)
    ]
    examples = [e for m in matchers if m.op == "=~" for n in (0, 1) for e in [example(m.value, extra=n)] if e]
    if label == DRILL_LABEL:
        candidates = ["true"]
    elif fixed:
        candidates = fixed[:1]
    elif label == "alertname":
        candidates = [DRILL_ALERTNAME, *literals, *_DEFAULT_VALUES, *examples]
    else:
        candidates = ["", *literals, *_DEFAULT_VALUES, *examples]
    for value in candidates:
        if all(m.matches({label: value}) for m in matchers):
            return value
    return None


def derive_labels(path: Sequence[Matcher]) -> dict[str, str] | None:
    """Labels satisfying every matcher of `path`, with `drill` and `alertname`; None when they contradict."""
    by_label: dict[str, list[Matcher]] = {DRILL_LABEL: [], "alertname": []}
    for m in path:
        by_label.setdefault(m.label, []).append(m)
    labels: dict[str, str] = {}
    for label, matchers in by_label.items():
        value = _choose(label, matchers)
        if value is None:
            return None
        if value:
            labels[label] = value
    return dict(sorted(labels.items())) if all(m.matches(labels) for m in path) else None


def _environment_of(labels: Mapping[str, str], namespaces: Mapping[str, str], default: str) -> str:
    if labels.get("environment"):
        return labels["environment"]
    if labels.get("namespace") in namespaces:
        return namespaces[labels["namespace"]]
    return default


def plan_alertmanager_drill(
    config: Mapping[str, Any],
    *,
    profile: str,
    environment: str,
    namespaces: Mapping[str, str],
    default_environment: str,
) -> AlertmanagerDrill:
    """The drill alerts of `environment` on the Alertmanager running `config` (module docstring).

    `namespaces`: namespace -> environment of every environment the config routes; `default_environment`: whose
    routes take alerts of no environment (the stack's owner)."""
    root = route_tree(config)
    receivers = integrations(config)
    alerts: list[DrillAlert] = []
    skipped: list[Skipped] = []
    for node in root.walk():
        notifies = receivers.get(node.receiver, ())
        labels = derive_labels(node.path)
        env = _environment_of(labels or {m.label: m.value for m in node.path if m.op == "="}, namespaces,
                              default_environment)
        if env != environment:
            continue
        if not notifies:
            if not node.children:  # a parent's own receiver is what a child-less fallback takes; `null` ones add noise
                skipped.append(Skipped(node.name, node.receiver, "its receiver has no integration: nobody is told"))
            continue
        if labels is None:
            skipped.append(Skipped(node.name, node.receiver, "its matchers contradict each other: no alert takes it"))
            continue
        taken = route_alert(root, labels)
        if node.key not in {t.key for t in taken}:
            if not node.children:
                skipped.append(Skipped(node.name, node.receiver, "unreachable: its labels "
                                       f"{_show(labels)} take {', '.join(t.name for t in taken)} first"))
            continue
        hits = tuple(Hit(t.name, t.receiver, receivers.get(t.receiver, ()), t.group_wait, t.group_interval) for t in taken
                     if receivers.get(t.receiver))
        alerts.append(DrillAlert(route=node.name, environment=env, labels=labels,
                                 annotations=_annotations(profile, env, node.name, hits), hits=hits))
    return AlertmanagerDrill(profile=profile, environment=environment, config=dict(config),
                             alerts=_with_inhibitions(alerts, config.get("inhibit_rules") or []), skipped=tuple(skipped))


def _show(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _annotations(profile: str, env: str, route: str, hits: Sequence[Hit]) -> dict[str, str]:
    to = ", ".join(sorted({h.receiver for h in hits}))
    return {
        "summary": f"FIRE DRILL - not an incident: mlinfra checks that alerts of {profile}/{env} reach {to}",
        "description": (f"mlinfra drill sent this test alert along the route {route}; it resolves within minutes. "
                        "Nothing to do: the drill reads Alertmanager's own counters to see it was delivered."),
    }


@dataclass(frozen=True)
class _Rule:
    index: int
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...]


def _rules(raw: Sequence[Mapping[str, Any]]) -> list[_Rule]:
    def side(rule: Mapping[str, Any], name: str) -> tuple[Matcher, ...]:
        out = [parse_matcher(m) for m in rule.get(f"{name}_matchers", [])]
        out += [Matcher(k, "=", str(v)) for k, v in sorted((rule.get(f"{name}_match") or {}).items())]
        out += [Matcher(k, "=~", str(v)) for k, v in sorted((rule.get(f"{name}_match_re") or {}).items())]
        return tuple(out)

    return [_Rule(i, side(r, "source"), side(r, "target"), tuple(r.get("equal") or [])) for i, r in enumerate(raw)]


def mutes(rule: _Rule, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
    """Whether a firing alert `source` mutes `target` under `rule`, as Alertmanager's inhibitor decides (an alert
    matching both sides is muted only by sources that do not)."""
    if not all(m.matches(target) for m in rule.target) or not all(m.matches(source) for m in rule.source):
        return False
    if all(m.matches(target) for m in rule.source) and all(m.matches(source) for m in rule.target):
        return False
    return all(source.get(label, "") == target.get(label, "") for label in rule.equal)


def _real_risk(rule: _Rule, target: Mapping[str, str]) -> bool:
    """Whether an alert that is not a drill alert could match `rule`'s source with the target's equal labels."""
    if not all(m.matches(target) for m in rule.target):
        return False
    if "alertname" in rule.equal and target.get("alertname") == DRILL_ALERTNAME:
        return False  # the source would need the drill's name
    if DRILL_LABEL in rule.equal:
        return False
    fixed = {label: target.get(label, "") for label in rule.equal}
    return all(m.matches(fixed) for m in rule.source if m.label in fixed)


def _with_inhibitions(alerts: list[DrillAlert], raw_rules: Sequence[Mapping[str, Any]]) -> tuple[DrillAlert, ...]:
    rules = _rules(raw_rules)
    out = []
    for i, alert in enumerate(alerts):
        by = tuple(j for j, other in enumerate(alerts) if j != i and any(mutes(r, other.labels, alert.labels)
                                                                          for r in rules))
        risks = tuple(
            f"inhibit rule {r.index + 1} mutes it while a real alert matching "
            f"{', '.join(map(str, r.source))} with the same {', '.join(r.equal) or 'labels'} fires"
            for r in rules if _real_risk(r, alert.labels)
        )
        out.append(DrillAlert(**{**alert.__dict__, "inhibited_by": by, "risks": risks}))
    return tuple(out)


def waves(alerts: Sequence[DrillAlert], key: Callable[[Hit, str], tuple[str, ...]]) -> list[list[int]]:
    """Alerts in sending order, grouped so that in one wave no two alerts move the same notification counter
    (`key(hit, integration)`: Alertmanager counts per integration, per receiver too with receiver-name-in-metrics)
    and an alert that mutes another is sent only after that one was notified. A cycle of alerts muting each other
    is broken in list order (the muted one reports it)."""
    keys = [{key(h, name) for h in a.hits for name, _ in h.integrations} for a in alerts]
    mutes_of = {i: {j for j, a in enumerate(alerts) if i in a.inhibited_by} for i in range(len(alerts))}
    pending, done, out = list(range(len(alerts))), set(), []
    while pending:
        ready = [i for i in pending if mutes_of[i] <= done] or pending[:1]
        wave: list[int] = []
        used: set[tuple[str, ...]] = set()
        for i in ready:
            if keys[i] & used or any(j in mutes_of[i] or i in mutes_of[j] for j in wave):
                continue
            wave.append(i)
            used |= keys[i]
        out.append(wave)
        done |= set(wave)
        pending = [i for i in pending if i not in done]
    return out
