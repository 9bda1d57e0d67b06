"""The SNS drill against boto3's real clients with botocore's Stubber (no AWS here): the ARNs it builds from the
naming conventions and the caller's account, a drill message per topic, every subscription reported with its
confirmation state, a receiver the topic lacks, a topic not deployed, and AWS errors named, never a traceback."""

from __future__ import annotations

import pytest
from sagemaker_profile import lab_data

from mlinfra.drill import DrillError, plan_report, send
from mlinfra.drill.report import DELIVERED, FAILED, NOT_REACHED, PLANNED
from mlinfra.profiles import profile_from_data
from mlinfra.targets.registry import get_target

import boto3  # `make install` installs mlinfra[aws]; missing, this module fails to import (never a silent skip)
from botocore.stub import ANY, Stubber

ACCOUNT = "210987654321"
REGION = "eu-west-1"
PAGE_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:sm-lab-prod-alerts-page"
TICKET_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:sm-lab-prod-alerts-ticket"


class Session:
    """What run_sns_drill asks of a boto3 Session: clients, here real ones answered by Stubbers."""

    def __init__(self):
        keys = {"region_name": REGION, "aws_access_key_id": "AKIDRILL", "aws_secret_access_key": "drill"}
        self.clients = {"sts": boto3.client("sts", **keys), "sns": boto3.client("sns", **keys)}
        self.stubs = {name: Stubber(client) for name, client in self.clients.items()}

    def client(self, name, region_name=None):
        assert region_name == REGION
        return self.clients[name]

    def __enter__(self):
        for stub in self.stubs.values():
            stub.activate()
        return self

    def __exit__(self, *exc):
        for stub in self.stubs.values():
            stub.deactivate()

    def caller(self):
        self.stubs["sts"].add_response("get_caller_identity", {
            "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:user/drill", "UserId": "AIDADRILL"})


def _sub(arn: str, protocol: str, endpoint: str, confirmed: bool = True) -> dict:
    return {"SubscriptionArn": f"{arn}:5d2c-11aa" if confirmed else "PendingConfirmation", "Owner": ACCOUNT,
            "Protocol": protocol, "Endpoint": endpoint, "TopicArn": arn}


def _publish(stub: Stubber, arn: str) -> None:
    stub.add_response("publish", {"MessageId": f"msg-{arn[-4:]}"},
                      {"TopicArn": arn, "Subject": ANY, "Message": ANY, "MessageAttributes": ANY})


@pytest.fixture
def drill():
    return get_target("aws-sagemaker").notification_drill(profile_from_data(lab_data()), "prod")


def test_plan_lists_every_topic_and_subscriber_without_network(drill):
    report = plan_report(drill, "aws-sagemaker")
    assert report.mechanism == "sns" and not report.sent and report.ok
    assert [(r.receiver, r.integration, r.result) for r in report.rows] == [
        ("sm-lab-prod-alerts-page", "https (slack 'slack')", PLANNED),
        ("sm-lab-prod-alerts-page", "https (pagerduty 'pagerduty')", PLANNED),
        ("sm-lab-prod-alerts-ticket", "email:oncall@example.org", PLANNED),
        ("sm-lab-prod-alerts-ticket", "https (slack 'slack')", PLANNED),
    ]
    assert report.rows[0].route == 'severity="critical"' and report.rows[2].route == 'severity="warning"'


def test_send_publishes_a_drill_per_topic_and_reports_confirmation(drill):
    with Session() as session:
        session.caller()
        sns = session.stubs["sns"]
        sns.add_response("list_subscriptions_by_topic", {"Subscriptions": [
            _sub(PAGE_ARN, "https", "https://events.pagerduty.com/integration/SECRETKEY/enqueue"),
            _sub(PAGE_ARN, "https", "https://relay.example.org/hooks/T000/SECRET", confirmed=False),
        ]}, {"TopicArn": PAGE_ARN})
        _publish(sns, PAGE_ARN)
        sns.add_response("list_subscriptions_by_topic", {"Subscriptions": [
            _sub(TICKET_ARN, "https", "https://relay.example.org/hooks/T001/SECRET")]}, {"TopicArn": TICKET_ARN})
        _publish(sns, TICKET_ARN)
        report = send(drill, "aws-sagemaker", session=session)
        sns.assert_no_pending_responses()
    rows = [(r.receiver, r.integration, r.result) for r in report.rows]
    assert rows == [
        ("sm-lab-prod-alerts-page", "https://events.pagerduty.com/...", DELIVERED),
        ("sm-lab-prod-alerts-page", "https://relay.example.org/...", NOT_REACHED),
        ("sm-lab-prod-alerts-ticket", "https://relay.example.org/...", DELIVERED),
        ("sm-lab-prod-alerts-ticket", "email:oncall@example.org", NOT_REACHED),  # the profile's, not subscribed
    ]
    assert "PendingConfirmation" in report.rows[1].detail
    assert "SECRET" not in repr(report.to_dict()), "webhook URLs hold secrets: only their host is shown"
    assert not report.ok and report.sent
    assert any(ACCOUNT in note for note in report.notes)


def test_the_message_says_it_is_a_drill(drill):
    with Session() as session:
        session.caller()
        sns = session.stubs["sns"]
        for arn in (PAGE_ARN, TICKET_ARN):
            sns.add_response("list_subscriptions_by_topic", {"Subscriptions": [_sub(arn, "email", "oncall@example.org")]},
                             {"TopicArn": arn})
            sns.add_response("publish", {"MessageId": "m-1"}, {
                "TopicArn": arn, "Subject": ANY, "Message": ANY,
                "MessageAttributes": {"mlinfra_drill": {"DataType": "String", "StringValue": ANY}}})
        sent = []
        session.clients["sns"].meta.events.register("provide-client-params.sns.Publish",
                                                    lambda params, **_: sent.append(params))
        report = send(drill, "aws-sagemaker", session=session)
    assert len(sent) == 2 and all(p["Subject"].startswith("FIRE DRILL - not an incident") for p in sent)
    assert all("sm-lab/prod" in p["Message"] and "nothing to do" in p["Message"] for p in sent)
    assert {r.result for r in report.rows if r.integration == "email:oncall@example.org"} == {DELIVERED}


def test_a_topic_not_deployed_and_a_publish_denied(drill):
    with Session() as session:
        session.caller()
        sns = session.stubs["sns"]
        sns.add_client_error("list_subscriptions_by_topic", service_error_code="NotFound", http_status_code=404,
                             expected_params={"TopicArn": PAGE_ARN})
        sns.add_response("list_subscriptions_by_topic", {"Subscriptions": [
            _sub(TICKET_ARN, "email", "oncall@example.org")]}, {"TopicArn": TICKET_ARN})
        sns.add_client_error("publish", service_error_code="AuthorizationError", service_message="not allowed",
                             http_status_code=403)
        report = send(drill, "aws-sagemaker", session=session)
    page = [r for r in report.rows if r.receiver.endswith("page")]
    assert {r.result for r in page} == {NOT_REACHED} and all("does not exist" in r.detail for r in page)
    email = next(r for r in report.rows if r.integration == "email:oncall@example.org")
    assert email.result == FAILED and "AuthorizationError" in email.detail


def test_no_credentials_is_a_clear_error(drill):
    with Session() as session:
        session.stubs["sts"].add_client_error("get_caller_identity", service_error_code="InvalidClientTokenId",
                                              service_message="bad token", http_status_code=403)
        with pytest.raises(DrillError, match="AWS credentials: sts:GetCallerIdentity failed .InvalidClientTokenId."):
            send(drill, "aws-sagemaker", session=session)


def test_owners_topics_are_drilled_with_the_routes_that_reach_them():
    data = lab_data()
    data["owners"] = {"risk-ds": {"contact": "risk-ds@example.org", "notify": [
        {"type": "email", "to": "risk-ds@example.org"}]}}
    for model in data["models"]:
        model["owner"] = "risk-ds"
    drill = get_target("aws-sagemaker").notification_drill(profile_from_data(data), "prod")
    assert {t.name: t.route for t in drill.topics} == {
        "sm-lab-prod-alerts-page": 'owner="risk-ds", severity="critical"; severity="critical"',
        "sm-lab-prod-alerts-risk-ds-ticket": 'owner="risk-ds", severity="critical"; owner="risk-ds", severity="warning"',
        "sm-lab-prod-alerts-ticket": 'severity="warning"',
    }
    owner = [r for r in plan_report(drill, "aws-sagemaker").rows if "risk-ds-ticket" in r.receiver]
    assert [r.integration for r in owner] == ["email:risk-ds@example.org"]
