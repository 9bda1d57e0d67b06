"""Alertmanager configuration from the plan's receivers: routing by environment and severity, inhibition, no
secret values.

Routing (the decision "does this page?" lives here, not in the rules - rules carry the same severity in every
environment, so the e2e test and production evaluate identical rules). Per environment, from its `alerts_page`:
- critical -> `mlinfra-page`: PagerDuty, Slack and Teams receivers; when the environment does not page
  (`alerts_page` false, dev by default) critical goes to `mlinfra-ticket` instead and PagerDuty is never used.
- warning -> `mlinfra-ticket`: email, webhook, Slack and Teams receivers. With no ticket receiver at all,
  warnings go to the paging receivers (PagerDuty gets severity "warning", which its event rules can map to low
  urgency) rather than nowhere.
- anything else (kube-prometheus-stack's Watchdog/InfoInhibitor, severity info/none) -> `null`.
Model owners (the profile's `owners`, models[].owner): a model's own alerts (rules.OWNER_ALERTS: SLO burns,
latency, no traffic, model down, drift) carry the label `owner`; each owner gets the receivers `<owner>-page`
(its PagerDuty, Slack and Teams receivers) and `<owner>-ticket` (its email, webhook, Slack and Teams ones),
chosen by the same rules as the platform's, and two routes in front of the platform's severity routes:
- `owner="<owner>", severity="critical"` -> `<owner>-page` (`<owner>-ticket` where the environment does not
  page), with `continue: true` where it pages, so the platform's critical route (`mlinfra-page`) gets it too;
- `owner="<owner>", severity="warning"` -> `<owner>-ticket` (its paging receivers when it has no ticket one).
A severity the owner has no receiver for (PagerDuty only, in an environment that does not page) has no owner
route and falls through to the platform's. Everything without `owner` - pod-level tickets, the chart's alerts
about pods and the cluster - is the platform's (monitoring.notify).

The tree, for tools that walk it (`mlinfra drill`): the root's receiver is `null`; its routes are, in order,
the muted alerts, then with several routed environments one route per `environment="<env>"` and one per
`namespace="<its namespace>"`, each with receiver `null` and the environment's routes as children, then the
environment routes of the stack's own environment. An environment's routes are its owners' routes (profile
order, critical before warning), then the platform's `severity="critical"` and `severity="warning"`. Every
matcher is an equality `label="value"` (but the muted alerts' `alertname=~`), so a leaf's matchers joined with
its parents' are exactly the labels an alert needs to take it; `continue` is set only on owners' critical routes.
One Alertmanager serves a whole cluster (planning.plan.monitoring_share): with several routed environments the
routes match the environment first - its `environment` label (mlinfra's alerts), else its models' `namespace`
(kube-prometheus-stack's own alerts about pods, deployments, volumes carry only that) - then severity, so the
shared Alertmanager pages for prod and only tickets for dev, the chart's alerts included. Alerts of no routed
environment (the chart's alerts about the cluster itself) follow the severity routes of the environment that
owns the stack. With one routed environment those severity routes are the whole tree.
- inhibition: a critical mlinfra alert (a model down, a budget burning fast) mutes the warnings of the same
  model and environment - one incident, one notification; a critical chart alert mutes the warning of the
  same alert and namespace (the chart's own default, which this config replaces); and mlinfra's pod-level
  tickets mute the chart's alerts they duplicate (CHART_DUPLICATES: the chart's rules stay for every other
  namespace of the cluster).

Secrets: every credential is a `*_file` path under conventions.ALERTMANAGER_SECRETS_DIR/<Secret>/<key>; the
Secret's keys are the Pulumi secret config keys (`alertmanager_secret_keys`). Needs Alertmanager >= 0.28
(msteamsv2_configs: Teams' Workflows webhooks; the Office 365 connectors msteams_configs posts to are retired);
the chart pins a later one.
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import (
    ALERT_CRASH_LOOPING,
    ALERT_NOT_READY,
    ALERT_SATURATED,
    ALERTMANAGER_SECRETS_DIR,
    RECEIVER_NULL,
    RECEIVER_PAGE,
    RECEIVER_TICKET,
    SEVERITY_PAGE,
    SEVERITY_TICKET,
    owner_receiver,
    secret_file,
)
from mlinfra.monitoring.timing import PRODUCTION, AlertTiming, format_duration
from mlinfra.planning.specs import EnvironmentPlan, OwnerSpec, ReceiverSpec

PAGING_TYPES = ("pagerduty", "slack", "msteams")
TICKET_TYPES = ("email", "webhook", "slack", "msteams")
GROUP_BY = ["alertname", "namespace", "model", "environment"]
MUTED_ALERTS = ("Watchdog", "InfoInhibitor")  # kube-prometheus-stack's heartbeat and helper alerts
MODEL_LABELS = ["namespace", "model", "environment"]
ROUTE_PAGE, ROUTE_TICKET = "page", "ticket"  # an owner's receivers: owner_receiver(owner, route)
RECEIVER_PREFIX = RECEIVER_PAGE.removesuffix("-" + ROUTE_PAGE)  # the platform's: mlinfra-page, mlinfra-ticket
# kube-prometheus-stack 88.5.3 default rules (kubernetes-apps) that mlinfra's per-model tickets duplicate, with
# the labels both carry: ours fires first (shorter `for:`) and mutes the chart's for the same object.
CHART_DUPLICATES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    ALERT_CRASH_LOOPING: (("KubePodCrashLooping", ("namespace", "pod", "container")),),
    ALERT_SATURATED: (("KubeHpaMaxedOut", ("namespace", "horizontalpodautoscaler")),),
    ALERT_NOT_READY: (
        ("KubeDeploymentReplicasMismatch", ("namespace", "deployment")),
        ("KubeDeploymentRolloutStuck", ("namespace", "deployment")),
        # per pod on the chart's side, per model on ours (no pod label): matched by the serving namespace, where
        # every pod belongs to a model, so one not-ready incident is one ticket
        ("KubePodNotReady", ("namespace",)),
    ),
}

_CHAT_TITLE = '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.model }} ({{ .CommonLabels.environment }}, {{ .CommonLabels.severity }})'
_CHAT_TEXT = "{{ range .Alerts }}{{ .Annotations.summary }}\n{{ .Annotations.description }}\nRunbook: {{ .Annotations.runbook_url }}\n{{ end }}"


def build_alertmanager_config(
    plan: EnvironmentPlan, timing: AlertTiming = PRODUCTION, *, secrets_dir: str = ALERTMANAGER_SECRETS_DIR
) -> dict[str, Any]:
    """The alertmanager.yaml of one environment's Alertmanager (the owner's: of every environment on its cluster).

    `secrets_dir` differs from the operator's mount only in tests."""
    mon = plan.monitoring
    routed = mon.routed_environments
    own = _environment_routes(plan, mon.alerts_page)  # also for alerts of no routed environment
    routes: list[dict[str, Any]] = [{"matchers": [f'alertname=~"{"|".join(MUTED_ALERTS)}"'], "receiver": RECEIVER_NULL}]
    if len(routed) > 1:
        routes += [
            {
                "matchers": [matcher],
                "receiver": RECEIVER_NULL,
                "routes": _environment_routes(plan, env.alerts_page),
            }
            for env in routed
            for matcher in (f'environment="{env.name}"', *([f'namespace="{env.namespace}"'] if env.namespace else []))
        ]
    routes += own
    used = {r["receiver"] for r in _leaves(routes)}

    config: dict[str, Any] = {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": RECEIVER_NULL,
            "group_by": GROUP_BY,
            "group_wait": format_duration(timing.group_wait),
            "group_interval": format_duration(timing.group_interval),
            "repeat_interval": format_duration(timing.repeat_interval),
            "routes": routes,
        },
        "inhibit_rules": [
            {  # mlinfra: a model's page mutes its tickets
                "source_matchers": [f'severity="{SEVERITY_PAGE}"', 'model=~".+"'],
                "target_matchers": [f'severity="{SEVERITY_TICKET}"'],
                "equal": MODEL_LABELS,
            },
            {  # the chart's: critical mutes the warning of the same alert and namespace
                "source_matchers": [f'severity="{SEVERITY_PAGE}"', 'model=""'],
                "target_matchers": [f'severity="{SEVERITY_TICKET}"', 'model=""'],
                "equal": ["alertname", "namespace"],
            },
            *(
                {
                    "source_matchers": [f'alertname="{ours}"'],
                    "target_matchers": [f'alertname="{theirs}"'],
                    "equal": list(labels),
                }
                for ours, duplicates in CHART_DUPLICATES.items()
                for theirs, labels in duplicates
            ),
        ],
        "receivers": [{"name": RECEIVER_NULL}],
    }
    tickets = _tickets(mon.receivers)
    if RECEIVER_PAGE in used:
        config["receivers"].append(_receiver(RECEIVER_PAGE, _paging(mon.receivers), secrets_dir))
    if RECEIVER_TICKET in used:
        config["receivers"].append(_receiver(RECEIVER_TICKET, tickets, secrets_dir))
    emails = RECEIVER_TICKET in used and any(r.type == "email" for r in tickets)
    for owner in mon.owners:
        page, ticket = owner_receiver(owner.name, ROUTE_PAGE), owner_receiver(owner.name, ROUTE_TICKET)
        if page in used:
            config["receivers"].append(_receiver(page, _paging(owner.receivers), secrets_dir))
        if ticket in used:
            config["receivers"].append(_receiver(ticket, _tickets(owner.receivers), secrets_dir))
            emails = emails or any(r.type == "email" for r in _tickets(owner.receivers))
    if emails:
        config["global"].update(_smtp(plan, secrets_dir))
    return config


def alert_routes(config: dict[str, Any]) -> list[dict[str, Any]]:
    """Which receiver (and which integrations) each route of an Alertmanager config reaches - environment routes
    flattened into their severity routes, matchers joined (`continue`: the alert also takes the next matching
    route): the `alert_routes` stack output."""
    integrations = {
        r["name"]: sorted(k.removesuffix("_configs") for k in r if k.endswith("_configs")) for r in config["receivers"]
    }

    def leaves(routes: list[dict[str, Any]], matchers: list[str]) -> list[dict[str, Any]]:
        out = []
        for route in routes:
            here = matchers + route.get("matchers", [])
            if route.get("routes"):
                out += leaves(route["routes"], here)
            else:
                out.append({"matchers": here, "receiver": route["receiver"],
                            "integrations": integrations.get(route["receiver"], []),
                            **({"continue": True} if route.get("continue") else {})})
        return out

    return leaves(config["route"].get("routes", []), [])


def monitoring_secret_keys(plan: EnvironmentPlan) -> list[str]:
    """The Pulumi secret config keys the cluster's monitoring stack reads - Grafana's admin password and every
    notification credential - when this environment installs it; none otherwise (the owner's stack holds them)."""
    if not plan.monitoring.owns_stack:
        return []
    return sorted({plan.monitoring.grafana_admin_password_secret, *alertmanager_secret_keys(plan).values()})


def _paging(receivers: tuple[ReceiverSpec, ...]) -> list[ReceiverSpec]:
    return [r for r in receivers if r.type in PAGING_TYPES]


def _tickets(receivers: tuple[ReceiverSpec, ...]) -> list[ReceiverSpec]:
    return [r for r in receivers if r.type in TICKET_TYPES]


def _severity_routes(receivers: tuple[ReceiverSpec, ...], pages: bool) -> list[dict[str, Any]]:
    """critical and warning routes of one paging policy (module docstring)."""
    paging = _paging(receivers) if pages else []
    tickets = _tickets(receivers)
    fallback = RECEIVER_TICKET if tickets else RECEIVER_NULL
    critical = RECEIVER_PAGE if paging else fallback
    warning = RECEIVER_TICKET if tickets else (RECEIVER_PAGE if paging else RECEIVER_NULL)
    return [
        {"matchers": [f'severity="{SEVERITY_PAGE}"'], "receiver": critical},
        {"matchers": [f'severity="{SEVERITY_TICKET}"'], "receiver": warning},
    ]


def receivers_of_model_alert(
    platform: tuple[ReceiverSpec, ...], owner: OwnerSpec | None, pages: bool, severity: str
) -> list[str]:
    """The receivers a model's own alert of `severity` reaches, in order, walking the routes this module builds
    (the owner's, then the platform's): the Operations section says the same as the config does."""
    routes = [*(_owner_routes(owner, pages) if owner else []), *_severity_routes(platform, pages)]
    labels = {f'severity="{severity}"', *([f'owner="{owner.name}"'] if owner else [])}
    out = []
    for route in routes:
        if set(route["matchers"]) <= labels:
            out.append(route["receiver"])
            if not route.get("continue"):
                break
    return out


def receiver_integrations(name: str, platform: tuple[ReceiverSpec, ...], owners: tuple[OwnerSpec, ...]) -> list[str]:
    """The integration types (pagerduty, email, ...) behind a receiver name this module builds."""
    for prefix, receivers in ((RECEIVER_PREFIX, platform), *((o.name, o.receivers) for o in owners)):
        if name == owner_receiver(prefix, ROUTE_PAGE):
            return [r.type for r in _paging(receivers)]
        if name == owner_receiver(prefix, ROUTE_TICKET):
            return [r.type for r in _tickets(receivers)]
    return []


def _environment_routes(plan: EnvironmentPlan, pages: bool) -> list[dict[str, Any]]:
    """One environment's routes: its model owners' (module docstring), then the platform's severity routes."""
    mon = plan.monitoring
    return [*(r for owner in mon.owners for r in _owner_routes(owner, pages)), *_severity_routes(mon.receivers, pages)]


def _owner_routes(owner: OwnerSpec, pages: bool) -> list[dict[str, Any]]:
    """critical and warning routes of one owner's alerts, as the platform's but to the owner's receivers; a
    severity without one of its receivers gets no route (the platform's takes it)."""
    paging = _paging(owner.receivers) if pages else []
    tickets = _tickets(owner.receivers)
    page, ticket = owner_receiver(owner.name, ROUTE_PAGE), owner_receiver(owner.name, ROUTE_TICKET)
    critical = page if paging else (ticket if tickets else None)
    warning = ticket if tickets else (page if paging else None)
    label = f'owner="{owner.name}"'
    routes: list[dict[str, Any]] = []
    if critical:
        routes.append({"matchers": [label, f'severity="{SEVERITY_PAGE}"'], "receiver": critical,
                       **({"continue": True} if pages else {})})
    if warning:
        routes.append({"matchers": [label, f'severity="{SEVERITY_TICKET}"'], "receiver": warning})
    return routes


def _leaves(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [leaf for r in routes for leaf in (_leaves(r["routes"]) if r.get("routes") else [r])]


def alertmanager_secret_keys(plan: EnvironmentPlan) -> dict[str, str]:
    """Secret data key -> Pulumi secret config key, for every credential the config reads from a file."""
    receivers = [*plan.monitoring.receivers, *(r for o in plan.monitoring.owners for r in o.receivers)]
    keys = [r.secret_key for r in receivers if r.secret_key]
    uses_email = any(r.type == "email" for r in receivers)
    if uses_email and plan.monitoring.smtp and plan.monitoring.smtp.auth_password_secret:
        keys.append(plan.monitoring.smtp.auth_password_secret)
    return {key: key for key in sorted(set(keys))}


def _receiver(name: str, receivers: list[ReceiverSpec], secrets_dir: str) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name}
    for spec in receivers:
        kind, config = _integration(spec, secrets_dir)
        out.setdefault(kind, []).append(config)
    return out


def _integration(spec: ReceiverSpec, secrets_dir: str) -> tuple[str, dict[str, Any]]:
    def path() -> str:
        if not spec.secret_key:
            raise ValueError(f"receiver '{spec.name}' ({spec.type}) has no secret_key naming its credential")
        return secret_file(spec.secret_key, secrets_dir)

    if spec.type == "email":
        if not spec.to:
            raise ValueError(f"receiver '{spec.name}' (email) has no recipient")
        return "email_configs", {"to": spec.to, "send_resolved": True}
    if spec.type == "slack":
        config = {"api_url_file": path(), "send_resolved": True, "title": _CHAT_TITLE, "text": _CHAT_TEXT}
        if spec.channel:
            config["channel"] = spec.channel
        return "slack_configs", config
    if spec.type == "msteams":
        return "msteamsv2_configs", {"webhook_url_file": path(), "send_resolved": True, "title": _CHAT_TITLE, "text": _CHAT_TEXT}
    if spec.type == "webhook":
        return "webhook_configs", {"url_file": path(), "send_resolved": True}
    if spec.type == "pagerduty":
        return "pagerduty_configs", {"routing_key_file": path(), "send_resolved": True}
    raise ValueError(f"receiver '{spec.name}': unknown type '{spec.type}'; allowed: email, slack, msteams, webhook, pagerduty")


def _smtp(plan: EnvironmentPlan, secrets_dir: str) -> dict[str, Any]:
    smtp = plan.monitoring.smtp
    if smtp is None:  # never Alertmanager's default localhost:25: nothing listens there in its pod
        raise ValueError(
            "monitoring.smtp: an email notify needs an SMTP relay (got none); set monitoring.smtp.smarthost "
            "(host:port) and monitoring.smtp.from_address"
        )
    out: dict[str, Any] = {
        "smtp_smarthost": smtp.smarthost,
        "smtp_from": smtp.from_address,
        "smtp_require_tls": smtp.require_tls,
    }
    if smtp.auth_username:
        out["smtp_auth_username"] = smtp.auth_username
    if smtp.auth_password_secret:
        out["smtp_auth_password_file"] = secret_file(smtp.auth_password_secret, secrets_dir)
    return out
