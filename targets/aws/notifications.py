"""Alert topics on AWS: one SNS topic per severity route of an environment, and who is subscribed to which.

The routing is the Kubernetes targets' (monitoring/alertmanager.py), so a profile pages the same people wherever
it runs:
- critical -> the `page` topic: PagerDuty, Slack and Teams - only where the environment pages (`alerts_page`,
  prod by default); elsewhere critical goes to the `ticket` topic and PagerDuty is never subscribed;
- warning -> the `ticket` topic: email, webhook, Slack and Teams (with no ticket receiver at all, the paging
  receivers, as Alertmanager does).
The `ticket` topic always exists, so every alarm has an action even before anybody is subscribed.

Model owners (the profile's `owners`): each gets the topics `<owner>-page` and `<owner>-ticket` (only those its
routes use), subscribed from its own notify by the same rules, and a model's own alarms (monitoring.rules.
OWNER_ALERTS: latency, error-budget burns, no traffic, drift violations) notify its owner's topic of their
severity - critical ones, where the environment pages, also the platform's critical topic - as Alertmanager's
owner routes do (`continue`). A severity the owner has no receiver for goes to the platform's topic instead; the
platform's alarms (no instance reporting) always go to the platform's topics.

Subscriptions: email -> protocol `email` (the recipient confirms the subscription once, from the mail AWS sends);
webhook, Slack, Teams and PagerDuty -> protocol `https`, the endpoint read from the secret config key the profile
names (it stays a Pulumi secret). SNS posts its own JSON envelope and first a SubscriptionConfirmation:
- PagerDuty: use an "Amazon CloudWatch" integration; its integration key is the secret, and the endpoint is
  https://events.pagerduty.com/integration/<key>/enqueue, which confirms the subscription itself;
- Slack and Teams incoming webhooks cannot confirm an SNS subscription nor read its envelope: their secret must
  hold the HTTPS URL of a relay that does both and posts the alarm to the channel (a Slack workflow/Teams flow
  webhook behind such a relay, or your own forwarder) - or subscribe AWS Chatbot (Amazon Q Developer in chat
  applications) to the `alert_topics` stack output instead and leave Slack/Teams out of monitoring.notify;
- webhook: your endpoint confirms by fetching the SubscribeURL of the first message it receives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mlinfra.conventions import RECEIVER_PAGE, RECEIVER_TICKET, SEVERITY_PAGE, SEVERITY_TICKET, k8s_name, owner_receiver
from mlinfra.monitoring.alertmanager import PAGING_TYPES, TICKET_TYPES
from mlinfra.monitoring.rules import OWNER_ALERTS
from mlinfra.planning.specs import OwnerSpec, ReceiverSpec

Topic = Literal["page", "ticket"]
TOPIC_PAGE: Topic = "page"
TOPIC_TICKET: Topic = "ticket"
RECEIVER_OF = {TOPIC_PAGE: RECEIVER_PAGE, TOPIC_TICKET: RECEIVER_TICKET}  # the alert_routes names, as on Kubernetes
PAGERDUTY_CLOUDWATCH_URL = "https://events.pagerduty.com/integration/{}/enqueue"
PLAIN_URL = "{}"


@dataclass(frozen=True, kw_only=True)
class SubscriptionSpec:
    receiver: str  # the plan's receiver name (`slack`, `email-2`)
    type: str  # its type
    topic: str  # `page`, `ticket`, or an owner's `<owner>-page`, `<owner>-ticket`
    protocol: Literal["email", "https"]
    endpoint: str | None = None  # email address
    secret_key: str | None = None  # Pulumi secret config key of the URL or key
    endpoint_template: str = PLAIN_URL  # how the secret value becomes the endpoint

    @property
    def name(self) -> str:
        """Child name: topic and receiver (unique per plan)."""
        return f"{self.topic}-{self.receiver}"


@dataclass(frozen=True, kw_only=True)
class NotificationPlan:
    topics: dict[str, str]  # topic -> SNS topic name
    routes: dict[str, str]  # severity -> topic
    subscriptions: tuple[SubscriptionSpec, ...]
    # owner -> severity -> the topics its models' own alarms of that severity notify (its own first; a severity
    # the owner has no receiver for is absent: the platform's route takes it)
    owner_routes: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def topics_for(self, alert: str, severity: str, owner: str | None) -> tuple[str, ...]:
        """The topics an alarm of `alert` with `severity` notifies, for a model of `owner` (None: no owner)."""
        if owner is not None and alert in OWNER_ALERTS and severity in self.owner_routes.get(owner, {}):
            return self.owner_routes[owner][severity]
        return (self.routes[severity],)

    @property
    def secret_keys(self) -> list[str]:
        """The secret config keys the subscriptions read."""
        return sorted({s.secret_key for s in self.subscriptions if s.secret_key})


def routes_for(receivers: tuple[ReceiverSpec, ...], pages: bool) -> dict[str, Topic]:
    """severity -> topic, as monitoring.alertmanager routes them (module docstring)."""
    paging = [r for r in receivers if r.type in PAGING_TYPES] if pages else []
    tickets = [r for r in receivers if r.type in TICKET_TYPES]
    critical: Topic = TOPIC_PAGE if paging else TOPIC_TICKET
    warning: Topic = TOPIC_TICKET if tickets or not paging else TOPIC_PAGE
    return {SEVERITY_PAGE: critical, SEVERITY_TICKET: warning}


def topic_name(profile: str, environment: str, topic: str) -> str:
    return k8s_name(profile, environment, "alerts", topic, max_len=256)


def owner_routes_for(owner: OwnerSpec, routes: dict[str, Topic], pages: bool) -> dict[str, tuple[str, ...]]:
    """severity -> topics of one owner's alarms, as monitoring.alertmanager routes its alerts (module docstring)."""
    paging = [r for r in owner.receivers if r.type in PAGING_TYPES] if pages else []
    tickets = [r for r in owner.receivers if r.type in TICKET_TYPES]
    page, ticket = owner_receiver(owner.name, TOPIC_PAGE), owner_receiver(owner.name, TOPIC_TICKET)
    critical = page if paging else (ticket if tickets else None)
    warning = ticket if tickets else (page if paging else None)
    out: dict[str, tuple[str, ...]] = {}
    if critical:
        out[SEVERITY_PAGE] = (critical, routes[SEVERITY_PAGE]) if pages else (critical,)
    if warning:
        out[SEVERITY_TICKET] = (warning,)
    return out


def notification_plan(
    profile: str, environment: str, receivers: tuple[ReceiverSpec, ...], *, pages: bool,
    owners: tuple[OwnerSpec, ...] = (),
) -> NotificationPlan:
    """Topics, severity routes and subscriptions of one environment (with its model owners' own)."""
    routes = routes_for(receivers, pages)
    used = sorted({TOPIC_TICKET, *routes.values()})
    members = {
        TOPIC_PAGE: [r for r in receivers if r.type in PAGING_TYPES] if pages else [],
        TOPIC_TICKET: [r for r in receivers if r.type in TICKET_TYPES],
    }
    subscriptions = [_subscription(r, topic) for topic in used for r in members[topic]]
    topics = {topic: topic_name(profile, environment, topic) for topic in used}
    by_owner = {}
    for owner in owners:
        by_owner[owner.name] = owner_routes_for(owner, routes, pages)
        own = sorted({t for ts in by_owner[owner.name].values() for t in ts} - set(used))
        for topic in own:
            kind = topic.removeprefix(f"{owner.name}-")
            types = PAGING_TYPES if kind == TOPIC_PAGE else TICKET_TYPES
            topics[topic] = topic_name(profile, environment, topic)
            subscriptions += [_subscription(r, topic) for r in owner.receivers if r.type in types]
    return NotificationPlan(
        topics=topics, routes=dict(routes), subscriptions=tuple(subscriptions), owner_routes=by_owner,
    )


def _subscription(receiver: ReceiverSpec, topic: str) -> SubscriptionSpec:
    if receiver.type == "email":
        if not receiver.to:
            raise ValueError(f"receiver '{receiver.name}' (email) has no recipient")
        return SubscriptionSpec(receiver=receiver.name, type="email", topic=topic, protocol="email", endpoint=receiver.to)
    if not receiver.secret_key:
        raise ValueError(f"receiver '{receiver.name}' ({receiver.type}) has no secret_key naming its URL or key")
    template = PAGERDUTY_CLOUDWATCH_URL if receiver.type == "pagerduty" else PLAIN_URL
    return SubscriptionSpec(
        receiver=receiver.name, type=receiver.type, topic=topic, protocol="https",
        secret_key=receiver.secret_key, endpoint_template=template,
    )


def alert_routes(plan: NotificationPlan) -> list[dict[str, object]]:
    """The `alert_routes` stack output, in the Kubernetes targets' shape: the owners' routes (receiver: the topic
    key, `continue` where the platform's route gets the alert too), then per severity the platform's receiver
    (topic), each with the integrations subscribed to it."""
    integrations = {
        topic: sorted({s.type for s in plan.subscriptions if s.topic == topic}) for topic in plan.topics
    }
    owners = [
        {"matchers": [f'owner="{owner}"', f'severity="{severity}"'], "receiver": topics[0],
         "integrations": integrations[topics[0]], **({"continue": True} if len(topics) > 1 else {})}
        for owner, by_severity in plan.owner_routes.items()
        for severity, topics in sorted(by_severity.items())
    ]
    return owners + [
        {"matchers": [f'severity="{severity}"'], "receiver": RECEIVER_OF[topic], "integrations": integrations[topic]}
        for severity, topic in sorted(plan.routes.items())
    ]


def topic_policy(topic_arn: str, *, eventbridge: bool = False) -> dict[str, object]:
    """CloudWatch alarms of this account may publish (with `eventbridge`, its EventBridge rules too); nothing
    reaches the topic without TLS."""
    partition, _service, region, account, _name = topic_arn.split(":", 5)[1:]
    policy: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            _publish("CloudWatchAlarmsOfThisAccountPublish", "cloudwatch", topic_arn, account,
                     f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"),
            {
                "Sid": "DenyRequestsWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:*",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
    if eventbridge:
        policy["Statement"].insert(1, _publish("EventBridgeRulesOfThisAccountPublish", "events", topic_arn, account,
                                               f"arn:{partition}:events:{region}:{account}:rule/*"))
    return policy


def _publish(sid: str, service: str, topic_arn: str, account: str, source_arn: str) -> dict[str, Any]:
    """An AWS service may publish to the topic on behalf of this account's resources matching `source_arn` only."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"Service": f"{service}.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic_arn,
        "Condition": {"StringEquals": {"aws:SourceAccount": account}, "ArnLike": {"aws:SourceArn": source_arn}},
    }
