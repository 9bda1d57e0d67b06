"""Send a fire drill through SNS alert topics: publish a clearly-marked test message per topic and report every
subscription with its confirmation state (boto3, the `aws` extra; credentials as the AWS CLI finds them).

A confirmed subscription of a topic that accepted the message is reported delivered: SNS then delivers to it
(whether an https endpoint accepted it is in the topic's NumberOfNotificationsFailed metric, not seen here). A
subscription still `PendingConfirmation` receives nothing and is reported not reached; so is a receiver of the
profile with no subscription, and every subscription of a topic that does not exist (not deployed yet).
"""

from __future__ import annotations

import urllib.parse
import uuid
from collections.abc import Callable
from typing import Any

from mlinfra.drill.alertmanager import DrillError
from mlinfra.drill.report import DELIVERED, FAILED, NOT_REACHED, PLANNED, DrillReport, Row
from mlinfra.targets.aws.arns import arn_parts
from mlinfra.targets.aws.drill import SnsDrill, SnsTopicDrill, drill_message, topic_arn
from mlinfra.targets.aws.notifications import SubscriptionSpec

PENDING = "PendingConfirmation"
MISSING_BOTO3 = ("mlinfra drill on AWS needs boto3, which is not installed: pip install 'mlinfra[aws]' "
                 "(or pip install boto3)")


def plan_rows(drill: SnsDrill) -> list[Row]:
    rows = [Row(t.route, t.name, _expected(s), PLANNED, f"publish a test message to topic {t.name}")
            for t in drill.topics for s in t.subscriptions]
    rows += [Row(t.route, t.name, "(no subscription)", PLANNED, "the profile subscribes nobody to this topic")
             for t in drill.topics if not t.subscriptions]
    return rows


def _expected(spec: SubscriptionSpec) -> str:
    return f"{spec.protocol}:{spec.endpoint}" if spec.endpoint else f"{spec.protocol} ({spec.type} '{spec.receiver}')"


def _shown(protocol: str, endpoint: str) -> str:
    """A subscription as the report shows it: e-mail addresses in full, URLs by host (their paths hold secrets)."""
    if protocol in ("http", "https"):
        return f"{protocol}://{urllib.parse.urlsplit(endpoint).hostname or '?'}/..."
    if protocol == "email" or protocol == "email-json":
        return f"{protocol}:{endpoint}"
    return protocol


def default_session(region: str) -> Any:
    try:
        import boto3  # noqa: PLC0415 - optional: only this command needs it
    except ImportError:
        raise DrillError(MISSING_BOTO3) from None
    return boto3.session.Session(region_name=region)


def _call(what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except Exception as err:  # noqa: BLE001 - botocore's errors, reported by code and message, never as a traceback
        response = getattr(err, "response", None) or {}
        code = (response.get("Error") or {}).get("Code")
        raise _AwsError(what, code, str(err)) from None


class _AwsError(Exception):
    def __init__(self, what: str, code: str | None, message: str):
        self.what, self.code, self.message = what, code, message
        super().__init__(f"{what}: {message}")


def run_sns_drill(drill: SnsDrill, *, target: str, session: Any = None,
                  progress: Callable[[str], None] = lambda _: None) -> DrillReport:
    """Publish to every topic of the drill and report its subscriptions (module docstring)."""
    session = session or default_session(drill.region)
    try:
        who = _call("sts:GetCallerIdentity", session.client("sts", region_name=drill.region).get_caller_identity)
    except _AwsError as err:
        raise DrillError(f"AWS credentials: {err.what} failed ({err.code or 'no code'}): {err.message}; configure "
                         "credentials for the account that runs the stack (AWS_PROFILE, or the AWS CLI's)") from None
    partition, _, _, account, _ = arn_parts(who["Arn"])
    sns = session.client("sns", region_name=drill.region)
    run = uuid.uuid4().hex[:12]
    rows: list[Row] = []
    for topic in drill.topics:
        arn = topic_arn(partition, drill.region, account, topic.name)
        progress(f"topic {topic.name}: subscriptions and a test message")
        rows += _topic(drill, topic, sns, arn, run)
    notes = (f"account {account}, region {drill.region}; run {run}",
             "delivered: SNS accepted the message for a confirmed subscription (delivery failures to an https "
             "endpoint show in the topic's NumberOfNotificationsFailed metric)")
    return DrillReport(profile=drill.profile, environment=drill.environment, target=target, mechanism="sns",
                       sent=True, rows=tuple(rows), notes=notes)


def _topic(drill: SnsDrill, topic: SnsTopicDrill, sns: Any, arn: str, run: str) -> list[Row]:
    try:
        subs = [s for page in sns.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
                for s in page.get("Subscriptions", [])]
    except Exception as err:  # noqa: BLE001 - botocore errors by code
        code = ((getattr(err, "response", None) or {}).get("Error") or {}).get("Code")
        if code == "NotFound":
            return [Row(topic.route, topic.name, _expected(s), NOT_REACHED,
                        f"topic {arn} does not exist: deploy the stack first") for s in topic.subscriptions] or [
                Row(topic.route, topic.name, "(no subscription)", NOT_REACHED, f"topic {arn} does not exist")]
        raise DrillError(f"sns:ListSubscriptionsByTopic {arn} failed ({code or 'no code'}): {err}") from None
    subject, message = drill_message(drill, topic, run)
    try:
        published = _call("sns:Publish", sns.publish, TopicArn=arn, Subject=subject, Message=message,
                          MessageAttributes={"mlinfra_drill": {"DataType": "String", "StringValue": run}})
        sent, error = published.get("MessageId", "?"), ""
    except _AwsError as err:
        sent, error = "", f"sns:Publish failed ({err.code or 'no code'}): {err.message}"
    rows = []
    for sub in sorted(subs, key=lambda s: (s.get("Protocol", ""), s.get("Endpoint", ""))):
        shown = _shown(sub.get("Protocol", "?"), sub.get("Endpoint", ""))
        if sub.get("SubscriptionArn") == PENDING:
            rows.append(Row(topic.route, topic.name, shown, NOT_REACHED,
                            f"{PENDING}: receives nothing until confirmed (e-mail: the link in AWS's mail; https: "
                            "the endpoint fetches the SubscribeURL of the first message)"))
        elif error:
            rows.append(Row(topic.route, topic.name, shown, FAILED, error))
        else:
            rows.append(Row(topic.route, topic.name, shown, DELIVERED,
                            f"confirmed; the test message {sent} was published to the topic"))
    rows += [Row(topic.route, topic.name, _expected(s), NOT_REACHED,
                 "the profile subscribes it but the topic has no such subscription: `pulumi up` creates it")
             for s in _unmatched(topic.subscriptions, subs)]
    if not subs and not topic.subscriptions:
        rows.append(Row(topic.route, topic.name, "(no subscription)", NOT_REACHED, "nobody is subscribed to this topic"))
    return rows


def _unmatched(expected: tuple[SubscriptionSpec, ...], subs: list[dict[str, Any]]) -> list[SubscriptionSpec]:
    """Expected subscriptions the topic lacks: e-mail by address; https by count (their URLs are secrets)."""
    emails = {s.get("Endpoint", "").lower() for s in subs if s.get("Protocol") == "email"}
    missing = [s for s in expected if s.protocol == "email" and (s.endpoint or "").lower() not in emails]
    https = [s for s in expected if s.protocol == "https"]
    have = sum(1 for s in subs if s.get("Protocol") == "https")
    return missing + https[have:]
