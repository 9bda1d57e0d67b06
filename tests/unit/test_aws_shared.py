"""The pure AWS data every AWS target deploys on (targets/aws/): tags, key policy, store, topics and routing."""

from __future__ import annotations

import pytest

from mlinfra.conventions import RECEIVER_PAGE, RECEIVER_TICKET
from mlinfra.planning.specs import ReceiverSpec
from mlinfra.targets.aws.arns import account_of, partition_of, split_s3_uri
from mlinfra.targets.aws.kms import key_alias, key_policy
from mlinfra.targets.aws.logs import log_retention_days
from mlinfra.targets.aws.notifications import (
    PAGERDUTY_CLOUDWATCH_URL,
    alert_routes,
    notification_plan,
    routes_for,
    topic_policy,
)
from mlinfra.targets.aws.storage import (
    PUBLIC_ACCESS_BLOCK,
    lifecycle_rules,
    repository_lifecycle_policy,
    store_spec,
    tls_only_bucket_policy,
)
from mlinfra.targets.aws.tags import model_tags, stack_tags

EMAIL = ReceiverSpec(type="email", name="email", to="ops@example.org")
SLACK = ReceiverSpec(type="slack", name="slack", secret_key="slackHook")
PAGER = ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="pdKey")
HOOK = ReceiverSpec(type="webhook", name="webhook", secret_key="hookUrl")


def test_tags():
    assert stack_tags("fraud-lab", "prod") == {
        "mlinfra.io/profile": "fraud-lab", "mlinfra.io/environment": "prod", "managed-by": "mlinfra",
    }
    assert model_tags("ranker") == {"mlinfra.io/model": "ranker"}


def test_arns():
    arn = "arn:aws-cn:kms:cn-north-1:210987654321:key/abc"
    assert (partition_of(arn), account_of(arn)) == ("aws-cn", "210987654321")
    assert split_s3_uri("s3://models-lab/fraud/v7") == ("models-lab", "fraud/v7")
    with pytest.raises(ValueError, match="not an ARN"):
        account_of("models-lab")


def test_key_policy_names_the_account_cloudwatch_and_this_regions_logs():
    assert key_alias("fraud-lab", "prod") == "alias/mlinfra/fraud-lab-prod"
    policy = key_policy(partition="aws", region="eu-west-3", account="210987654321")
    root, alarms, logs = policy["Statement"]
    assert root["Principal"] == {"AWS": "arn:aws:iam::210987654321:root"} and root["Action"] == "kms:*"
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert logs["Principal"] == {"Service": "logs.eu-west-3.amazonaws.com"}
    assert logs["Condition"] == {
        "ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:eu-west-3:210987654321:log-group:*"}
    }


@pytest.mark.parametrize(("days", "accepted"), [(1, 1), (2, 3), (7, 7), (15, 30), (400, 400), (3000, 3288), (9999, 3653)])
def test_log_retention_rounds_up_to_an_accepted_value(days, accepted):
    assert log_retention_days(days) == accepted


def test_store_spec_and_bucket_documents():
    spec = store_spec("a-rather-long-profile-name-for-tests", "production", protect=True)
    assert spec.bucket_prefix == "a-rather-long-profile-name-072aa4c9-"  # 36 + the suffix S3 appends <= 63
    assert store_spec("fraud-lab", "prod", protect=False).bucket_prefix == "fraud-lab-prod-models-"
    assert spec.repository == "mlinfra/a-rather-long-profile-name-for-tests-production"
    assert spec.protect is True
    assert PUBLIC_ACCESS_BLOCK == {"block_public_acls": True, "block_public_policy": True, "ignore_public_acls": True,
                                   "restrict_public_buckets": True}
    assert lifecycle_rules() == [
        {"id": "expire-old-versions", "status": "Enabled", "filter": {"prefix": ""},
         "noncurrent_version_expiration": {"noncurrent_days": 90},
         "abort_incomplete_multipart_upload": {"days_after_initiation": 7}},
        {"id": "expire-captured-requests", "status": "Enabled", "filter": {"prefix": "data-capture/"},
         "expiration": {"days": 30}},
    ]
    assert tls_only_bucket_policy("arn:aws:s3:::models-x") == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyRequestsWithoutTls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::models-x", "arn:aws:s3:::models-x/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }],
    }
    rule = repository_lifecycle_policy()["rules"][0]
    assert rule["selection"]["tagStatus"] == "untagged" and rule["action"] == {"type": "expire"}


@pytest.mark.parametrize(
    ("receivers", "pages", "expected"),
    [
        pytest.param((EMAIL, SLACK, PAGER), True, {"critical": "page", "warning": "ticket"}, id="prod"),
        pytest.param((EMAIL, SLACK, PAGER), False, {"critical": "ticket", "warning": "ticket"}, id="dev-never-pages"),
        pytest.param((PAGER,), True, {"critical": "page", "warning": "page"}, id="only-paging-receivers"),
        pytest.param((PAGER,), False, {"critical": "ticket", "warning": "ticket"}, id="dev-pagerduty-only"),
        pytest.param((), True, {"critical": "ticket", "warning": "ticket"}, id="nobody"),
        pytest.param((HOOK,), True, {"critical": "ticket", "warning": "ticket"}, id="webhook-only"),
    ],
)
def test_routes_follow_the_alertmanager_policy(receivers, pages, expected):
    assert routes_for(receivers, pages) == expected


def test_prod_plan_pages_pagerduty_and_slack_and_tickets_email_and_slack():
    plan = notification_plan("fraud-lab", "prod", (EMAIL, SLACK, PAGER), pages=True)
    assert plan.topics == {"page": "fraud-lab-prod-alerts-page", "ticket": "fraud-lab-prod-alerts-ticket"}
    assert [(s.topic, s.receiver, s.protocol) for s in plan.subscriptions] == [
        ("page", "slack", "https"), ("page", "pagerduty", "https"),
        ("ticket", "email", "email"), ("ticket", "slack", "https"),
    ]
    pager = next(s for s in plan.subscriptions if s.type == "pagerduty")
    assert (pager.secret_key, pager.endpoint_template) == ("pdKey", PAGERDUTY_CLOUDWATCH_URL)
    assert pager.endpoint_template.format("KEY") == "https://events.pagerduty.com/integration/KEY/enqueue"
    email = next(s for s in plan.subscriptions if s.type == "email")
    assert (email.endpoint, email.secret_key) == ("ops@example.org", None)
    assert plan.secret_keys == ["pdKey", "slackHook"]
    assert alert_routes(plan) == [
        {"matchers": ['severity="critical"'], "receiver": RECEIVER_PAGE, "integrations": ["pagerduty", "slack"]},
        {"matchers": ['severity="warning"'], "receiver": RECEIVER_TICKET, "integrations": ["email", "slack"]},
    ]


def test_dev_plan_has_no_page_topic_and_never_subscribes_pagerduty():
    plan = notification_plan("fraud-lab", "dev", (EMAIL, SLACK, PAGER), pages=False)
    assert list(plan.topics) == ["ticket"]
    assert all(s.topic == "ticket" for s in plan.subscriptions)
    assert "pagerduty" not in {s.type for s in plan.subscriptions}
    assert plan.secret_keys == ["slackHook"]


def test_topic_policy_lets_only_this_accounts_alarms_publish():
    arn = "arn:aws:sns:eu-west-3:210987654321:fraud-lab-prod-alerts-page"
    allow, deny = topic_policy(arn)["Statement"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Resource"] == arn
    assert allow["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "210987654321"},
        "ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:eu-west-3:210987654321:alarm:*"},
    }
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
