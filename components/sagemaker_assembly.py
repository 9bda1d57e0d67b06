"""Assemble one aws-sagemaker environment: the explicit provider, the stack's key, the model store, the alert
topics, then per model its SageMakerEndpoint and its CloudWatchMonitoring.

Tree (the Environment is the parent of everything, as the guardrails and the policy pack expect):
    Environment
      aws provider                     the profile's region, default tags
      EncryptionKey                    S3, ECR, SNS, logs and captured requests
      ModelStore                       bucket (artifacts, captured requests), ECR repository (images)
      AlertTopics                      page/ticket topics and their subscriptions
      SageMakerNetwork                 isolated profiles: the VPC the endpoints' containers run in
      SageMakerEndpoint per model      role, log group, model, endpoint configuration, endpoint, autoscaling
      CloudWatchMonitoring per model   alarms to the topics, dashboard
      DataQualityMonitor per model     monitoring.drift: monitoring role, job definition, schedule, violations rule
      SageMakerEdge                    OIDC or unauthenticated public callers: HTTP API, JWT authorizer, Lambda proxy
"""

from __future__ import annotations

from typing import Any

import pulumi

from mlinfra.components.aws import (
    AlertTopics,
    AlertTopicsArgs,
    EncryptionKey,
    EncryptionKeyArgs,
    ModelStore,
    ModelStoreArgs,
    aws_provider,
)
from mlinfra.components.cloudwatch import CloudWatchMonitoring, CloudWatchMonitoringArgs
from mlinfra.components.assembly import environment_scope
from mlinfra.components.sagemaker import SageMakerEndpoint, SageMakerEndpointArgs
from mlinfra.components.sagemaker_monitor import DataQualityMonitor, DataQualityMonitorArgs
from mlinfra.components.sagemaker_network import SageMakerNetwork, SageMakerNetworkArgs
from mlinfra.components.sagemaker_edge import SageMakerEdge, SageMakerEdgeArgs
from mlinfra.conventions import child_name, k8s_name
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.notifications import alert_routes
from mlinfra.targets.aws_sagemaker.alarms import alarm_topics, build_alarms, monitor_topics
from mlinfra.targets.aws_sagemaker.dashboards import dashboard_body, dashboard_name
from mlinfra.targets.aws_sagemaker.edge import edge_spec
from mlinfra.targets.aws_sagemaker.endpoints import SageMakerPlan
from mlinfra.targets.aws_sagemaker.model_monitor import data_quality_monitors, monitor_spec
from mlinfra.targets.aws_sagemaker.feasibility import deployment_gaps


def assemble_sagemaker(sm: SageMakerPlan, profile: Profile, secrets: dict[str, Any]) -> dict[str, Any]:
    """Create the environment's components; returns the stack outputs of the deployment."""
    plan = sm.plan
    env, target = plan.environment, plan.target
    name = profile.name  # as on Kubernetes: names carry no environment, so `diff` pairs resources across stacks
    scope = environment_scope(plan, profile)
    in_scope = pulumi.ResourceOptions(parent=scope)
    gaps = deployment_gaps(profile)
    for gap in gaps:  # a stack that pins this target gets it anyway, told what it lacks
        pulumi.log.warn(f"{target} cannot deploy everything the profile asks for: {gap}", scope)

    provider = aws_provider(child_name(name, "aws"), region=sm.region, tags=sm.tags, opts=in_scope)
    eventbridge = bool(data_quality_monitors(sm))  # drift violations reach the topics through EventBridge
    key = EncryptionKey(
        child_name(name, "key"),
        EncryptionKeyArgs(alias=sm.key_alias, region=sm.region, protect=plan.protect, eventbridge=eventbridge,
                          description=f"mlinfra {profile.name} {env}: model store, alert topics, logs"),
        provider=provider, opts=in_scope,
    )
    store = ModelStore(child_name(name, "store"), ModelStoreArgs(store=sm.store, kms_key_arn=key.arn),
                       provider=provider, opts=in_scope)
    topics = AlertTopics(
        child_name(name, "alerts"),
        AlertTopicsArgs(notifications=sm.notifications, kms_key_arn=key.arn, secrets=secrets, eventbridge=eventbridge),
        provider=provider, opts=in_scope,
    )
    network = SageMakerNetwork(child_name(name, "network"), SageMakerNetworkArgs(network=sm.network),
                               provider=provider, opts=in_scope) if sm.network else None
    vpc: dict[str, Any] = {"subnet_ids": tuple(network.subnet_ids),
                           "security_group_id": network.security_group_id} if network else {}

    endpoints: dict[str, SageMakerEndpoint] = {}
    dashboards: dict[str, str] = {}
    monitors: dict[str, DataQualityMonitor] = {}
    for spec in sm.endpoints:
        model_name = child_name(name, k8s_name(spec.model))
        endpoint = SageMakerEndpoint(
            model_name,
            SageMakerEndpointArgs(endpoint=spec, region=sm.region, kms_key_arn=key.arn, bucket_name=store.bucket_name,
                                  repository_arn=store.repository_arn, repository_url=store.repository_url,
                                  protect=plan.protect, **(vpc if spec.in_vpc else {})),
            provider=provider, opts=in_scope,
        )
        alarms = build_alarms(sm, spec)
        CloudWatchMonitoring(
            child_name(model_name, "monitoring"),
            CloudWatchMonitoringArgs(alarms=tuple(alarms), dashboard_name=dashboard_name(spec),
                                     dashboard_body=dashboard_body(sm, spec, alarms), topic_arns=topics.topic_arns,
                                     alarm_topics={a.key: alarm_topics(sm, spec, a) for a in alarms if a.notifies},
                                     tags=dict(spec.tags)),
            provider=provider, opts=pulumi.ResourceOptions(parent=scope, depends_on=[endpoint]),
        )
        monitor = monitor_spec(sm, spec)
        if monitor:
            monitors[spec.model] = DataQualityMonitor(
                child_name(model_name, "drift"),
                DataQualityMonitorArgs(monitor=monitor, endpoint_name=endpoint.endpoint_name, kms_key_arn=key.arn,
                                       bucket_name=store.bucket_name,
                                       topic_arn=topics.topic_arns[monitor_topics(sm, monitor)[0]]),
                provider=provider, opts=pulumi.ResourceOptions(parent=scope, depends_on=[endpoint]),
            )
        endpoints[spec.model] = endpoint
        dashboards[spec.model] = dashboard_name(spec)

    edge = edge_spec(profile, sm)  # OIDC or unauthenticated public callers: the API Gateway edge
    edge_outputs: dict[str, Any] = {}
    if edge:
        gateway = SageMakerEdge(
            child_name(name, "edge"),
            SageMakerEdgeArgs(edge=edge, kms_key_arn=key.arn, protect=plan.protect,
                              endpoint_arns={model: endpoint.endpoint_arn for model, endpoint in endpoints.items()}),
            provider=provider, opts=in_scope,
        )
        edge_outputs = {"edge_url": gateway.url, "invoke_urls": dict(sorted(gateway.invoke_urls.items()))}

    return {
        **edge_outputs,
        "environment": env,
        "region": sm.region,
        "endpoints": {model: endpoint.endpoint_name for model, endpoint in sorted(endpoints.items())},
        "endpoint_arns": {model: endpoint.endpoint_arn for model, endpoint in sorted(endpoints.items())},
        "dashboards": dict(sorted(dashboards.items())),
        "alert_routes": alert_routes(sm.notifications),
        "alert_topics": dict(sorted(topics.topic_arns.items())),
        "model_store": {"bucket": store.bucket_name, "repository_url": store.repository_url},
        "images": {
            spec.model: pulumi.Output.concat(store.repository_url, ":", spec.image_tag) for spec in sm.endpoints
        },
        "artifact_uploads": [
            {"model": spec.model, "from": spec.artifact.origin,
             "to": store.bucket_name.apply(spec.artifact.uri)}
            for spec in sm.endpoints if spec.artifact.staged
        ],
        "deployment_gaps": gaps,
        **({"drift_schedules": {model: m.schedule_name for model, m in sorted(monitors.items())}} if monitors else {}),
    }
