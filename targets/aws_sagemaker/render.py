"""`mlinfra render --target aws-sagemaker`: aws/sagemaker.yaml, everything the stack deploys as plain data - the
endpoints (as priced), their alarms and dashboards, the model store, the key, the alert topics and - for OIDC
or unauthenticated public callers - the API Gateway edge.

Values that exist only once the stack does (ARNs, the bucket's generated name, the repository URL) are shown as
`<...>` placeholders; everything else is what the components pass to the resources.
"""

from __future__ import annotations

import json
from typing import Any

from mlinfra.files.dump import to_yaml
from mlinfra.files.rendered import RenderedFile
from mlinfra.targets.aws.notifications import alert_routes
from mlinfra.targets.aws_sagemaker.alarms import AlarmSpec, alarm_topics, build_alarms, monitor_topics
from mlinfra.targets.aws_sagemaker.dashboards import build_dashboard, dashboard_name
from mlinfra.targets.aws_sagemaker.edge import EdgeSpec, describe_edge
from mlinfra.targets.aws_sagemaker.endpoints import EndpointSpec, SageMakerPlan
from mlinfra.targets.aws_sagemaker.model_monitor import MonitorSpec, monitor_spec

SAGEMAKER_FILE = "aws/sagemaker.yaml"
STORE_BUCKET = "<model-store-bucket>"  # placeholders of values known only once the stack exists
REPOSITORY_URL = "<account>.dkr.ecr.{region}.amazonaws.com/{repository}"
KMS_KEY_ARN = "<kms-key-arn>"
MONITOR_ROLE_ARN = "<model-monitor-role-arn>"
JOB_DEFINITION_NAME = "<data-quality-job-definition-name>"


def describe(sm: SageMakerPlan, edge: EdgeSpec | None = None) -> dict[str, Any]:
    """The whole environment as one document (with its API Gateway edge, when it has one)."""
    n = sm.notifications
    doc = {
        "profile": sm.plan.profile_name,
        "environment": sm.plan.environment,
        "target": sm.plan.target,
        "region": sm.region,
        "default_tags": dict(sm.tags),
        "protect_stateful": sm.plan.protect,
        "kms_key": {"alias": sm.key_alias, "rotation": True},
        "model_store": {
            "bucket_prefix": sm.store.bucket_prefix,
            "encryption": "aws:kms (the stack's key)",
            "versioning": "Enabled",
            "public_access_block": sm.store.public_access_block,
            "policy": "TLS only (aws:SecureTransport)",
            "lifecycle_rules": sm.store.lifecycle_rules,
            "repository": sm.store.repository,
            "repository_settings": {"image_tag_mutability": "IMMUTABLE", "scan_on_push": True,
                                    "lifecycle_policy": sm.store.repository_lifecycle_policy},
        },
        "alerts": {
            "topics": dict(n.topics),
            "routes": alert_routes(n),
            "subscriptions": [
                {k: v for k, v in {"topic": s.topic, "receiver": s.receiver, "type": s.type, "protocol": s.protocol,
                                   "endpoint": s.endpoint, "secret_key": s.secret_key}.items() if v is not None}
                for s in n.subscriptions
            ],
        },
        "endpoints": [_endpoint(sm, spec) for spec in sm.endpoints],
    }
    if sm.network:
        doc["network"] = sm.network.as_dict()
    if edge:
        doc["edge"] = describe_edge(edge)
    return doc


def _endpoint(sm: SageMakerPlan, spec: EndpointSpec) -> dict[str, Any]:
    alarms = build_alarms(sm, spec)
    repository = REPOSITORY_URL.format(region=sm.region, repository=sm.store.repository)
    out: dict[str, Any] = {
        "model": spec.model,
        "endpoint_name": spec.endpoint_name,
        "mode": spec.mode,
        "why": spec.choice.why,
        "priced": {"item": spec.choice.line.item, "monthly_eur": spec.choice.line.monthly_eur},
        "image": f"{repository}:{spec.image_tag}",
        "model_data": {
            "s3_uri": spec.artifact.uri(STORE_BUCKET),
            "s3_data_type": spec.artifact.s3_data_type,
            "compression_type": spec.artifact.compression_type,
            **({"copy_from": spec.artifact.origin} if spec.artifact.staged else {}),
        },
        "production_variant": spec.production_variant(),
        **({"vpc_config": "the network's private subnets and security group"} if spec.in_vpc else {}),
        "log_group": {"name": spec.log_group, "retention_in_days": spec.log_retention_days},
        "tags": dict(spec.tags),
        "alarms": [_alarm(sm, spec, a) for a in alarms],
        "dashboard": {"dashboard_name": dashboard_name(spec), "dashboard_body": build_dashboard(sm, spec, alarms)},
    }
    capture = spec.data_capture_config(STORE_BUCKET)
    if capture:
        out["data_capture"] = capture
    monitor = monitor_spec(sm, spec)
    if monitor:
        out["model_monitor"] = _monitor(sm, monitor)
    if spec.autoscaled:
        out["autoscaling"] = {"target": spec.scalable_target(), "policy": spec.scaling_policy()}
    return out


def _monitor(sm: SageMakerPlan, m: MonitorSpec) -> dict[str, Any]:
    """The drift monitor: its schedule and job definition, the monitoring role's policy and the violations rule with
    the topic its severity routes to."""
    schedule_arn = f"arn:<partition>:sagemaker:{sm.region}:<account>:monitoring-schedule/{m.schedule_name}"
    return {
        "baseline": {"s3_uri": m.baseline_uri(STORE_BUCKET), "from_profile": m.baseline is not None},
        "schedule": m.schedule(JOB_DEFINITION_NAME),
        "job_definition": m.job_definition(store_bucket=STORE_BUCKET, key_arn=KMS_KEY_ARN,
                                           endpoint_name=m.endpoint_name, role_arn=MONITOR_ROLE_ARN),
        "role_policy": m.role_policy(partition="<partition>", account="<account>", store_bucket=STORE_BUCKET,
                                     key_arn=KMS_KEY_ARN),
        "violations_rule": {**m.rule(), "event_pattern": m.event_pattern(schedule_arn),
                            "input_transformer": m.input_transformer(), "severity": m.severity,
                            **_topics(monitor_topics(sm, m))},
    }


def _alarm(sm: SageMakerPlan, spec: EndpointSpec, alarm: AlarmSpec) -> dict[str, Any]:
    """An alarm as the component creates it; a notifying one with the topic its severity routes to (the conditions
    of a composite alarm have neither severity nor topic)."""
    out = {k: v for k, v in alarm.as_dict().items() if v is not None}
    if alarm.severity:
        out.update(_topics(alarm_topics(sm, spec, alarm)))
    return out


def _topics(topics: tuple[str, ...]) -> dict[str, Any]:
    """`topic`: the route's; `also_topics`: the platform's critical topic a model owner's critical alarm notifies too."""
    return {"topic": topics[0], **({"also_topics": list(topics[1:])} if len(topics) > 1 else {})}


def render_sagemaker(sm: SageMakerPlan, edge: EdgeSpec | None = None) -> list[RenderedFile]:
    return [RenderedFile(SAGEMAKER_FILE, to_yaml(json.loads(json.dumps(describe(sm, edge)))))]
