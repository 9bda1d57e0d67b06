"""Fire drill plan for SNS alert topics: the topics an environment's alarms publish to, whom each should reach,
and the clearly-marked test message `mlinfra drill --send` publishes to each (pure data; drill/sns.py sends).

Topic ARNs come from the naming conventions (notifications.topic_name: the topics are created with exactly that
name) and the account and partition of the caller's credentials (STS GetCallerIdentity) in the profile's region,
not from stack outputs: the drill needs no Pulumi backend, and it checks the account it is pointed at.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlinfra.targets.aws.notifications import NotificationPlan, SubscriptionSpec

DRILL_SUBJECT = "FIRE DRILL - not an incident"


@dataclass(frozen=True)
class SnsTopicDrill:
    topic: str  # the plan's topic key (`page`, `ticket`, ...)
    name: str  # SNS topic name
    routes: tuple[str, ...]  # the alarms routed to it, as alert_routes' matchers (none: only a fallback)
    subscriptions: tuple[SubscriptionSpec, ...]  # whom the profile subscribes

    @property
    def route(self) -> str:
        return "; ".join(self.routes) or "(no alarm routed here)"


@dataclass(frozen=True)
class SnsDrill:
    """What `mlinfra drill` publishes for one environment on AWS."""

    profile: str
    environment: str
    region: str
    topics: tuple[SnsTopicDrill, ...]


def sns_drill(profile: str, environment: str, region: str, plan: NotificationPlan) -> SnsDrill:
    """One test message per topic of the plan - the platform's and every model owner's."""
    routes: dict[str, list[str]] = {}
    for owner, by_severity in sorted(plan.owner_routes.items()):
        for severity, topics in sorted(by_severity.items()):
            for topic in topics:
                routes.setdefault(topic, []).append(f'owner="{owner}", severity="{severity}"')
    for severity, topic in sorted(plan.routes.items()):
        routes.setdefault(topic, []).append(f'severity="{severity}"')
    topics = tuple(
        SnsTopicDrill(
            topic=topic,
            name=name,
            routes=tuple(routes.get(topic, ())),
            subscriptions=tuple(s for s in plan.subscriptions if s.topic == topic),
        )
        for topic, name in sorted(plan.topics.items())
    )
    return SnsDrill(profile=profile, environment=environment, region=region, topics=topics)


def topic_arn(partition: str, region: str, account: str, name: str) -> str:
    return f"arn:{partition}:sns:{region}:{account}:{name}"


def drill_message(drill: SnsDrill, topic: SnsTopicDrill, run: str) -> tuple[str, str]:
    """(subject, body) of the test message: says it is a drill, which profile, environment and route."""
    subject = f"{DRILL_SUBJECT}: {drill.profile}/{drill.environment} {topic.topic} alerts"
    body = (
        f"{DRILL_SUBJECT}.\n\nmlinfra drill (run {run}) published this test message to the SNS topic {topic.name}, "
        f"which CloudWatch alarms of {drill.profile}/{drill.environment} publish to for {topic.route}. "
        "It proves that alarm notifications reach you; nothing to do."
    )
    return subject[:100], body  # SNS subjects: at most 100 characters
