"""SageMakerEdge: the API Gateway HTTP API in front of one environment's SageMaker endpoints, from
targets.aws_sagemaker.edge's spec - the access and proxy log groups (KMS), the Lambda proxy (its role and inline
policy, the function with edge_handler.py inline), the API, its JWT authorizer (oidc), one AWS_PROXY integration,
one route per model, the auto-deployed `$default` stage (throttling, access logs) and the permission that lets this
API, and nothing else, invoke the proxy.

Child names end in suffixes no SageMakerEndpoint child of the same type ends in (`-logs`, `-role`, `-role-policy`),
so a model named like one of them (`edge-proxy`, ...) cannot collide with them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from mlinfra.conventions import TYPE_SAGEMAKER_EDGE, child_name
from mlinfra.targets.aws_sagemaker.edge import (
    APIGATEWAY_SERVICE,
    HANDLER_FILE,
    EdgeSpec,
    handler_source,
    invoke_source_arn,
    invoke_url,
    proxy_policy,
    proxy_trust_policy,
)


@dataclass(frozen=True, kw_only=True)
class SageMakerEdgeArgs:
    edge: EdgeSpec
    kms_key_arn: pulumi.Input[str]
    endpoint_arns: Mapping[str, pulumi.Input[str]]  # model -> the ARN of its endpoint
    protect: bool = False  # production: the log groups carry protect=True, as the endpoints' do


class SageMakerEdge(pulumi.ComponentResource):
    url: pulumi.Output[str]
    invoke_urls: dict[str, pulumi.Output[str]]  # model -> POST URL
    function_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: SageMakerEdgeArgs, *, provider: aws.Provider, opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_SAGEMAKER_EDGE, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        spec = args.edge
        kept = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.protect))

        access_logs, proxy_logs = (
            aws.cloudwatch.LogGroup(child_name(name, f"{role}-log-group"), name=group,
                                    retention_in_days=spec.log_retention_days, kms_key_id=args.kms_key_arn, opts=kept)
            for role, group in (("access", spec.access_log_group), ("proxy", spec.proxy_log_group))
        )
        role = aws.iam.Role(child_name(name, "proxy-identity"),
                            assume_role_policy=json.dumps(proxy_trust_policy(), sort_keys=True), opts=child)
        arns = [args.endpoint_arns[r.model] for r in spec.routes]
        grants = aws.iam.RolePolicy(
            child_name(name, "proxy-grants"), role=role.id,
            policy=pulumi.Output.all(proxy_logs.arn, *arns).apply(
                lambda values: json.dumps(proxy_policy(endpoint_arns=list(values[1:]), log_group_arn=values[0]),
                                          sort_keys=True)),
            opts=child,
        )
        function = aws.lambda_.Function(
            child_name(name, "proxy"), role=role.arn,
            code=pulumi.AssetArchive({HANDLER_FILE.name: pulumi.StringAsset(handler_source())}),
            **spec.function_args(),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[grants, proxy_logs])),
        )
        api = aws.apigatewayv2.Api(child_name(name, "api"), name=spec.api_name, protocol_type="HTTP", opts=child)
        authorizer = (
            aws.apigatewayv2.Authorizer(child_name(name, "authorizer"), api_id=api.id, **spec.authorizer.args(),
                                        opts=child)
            if spec.authorizer else None
        )
        integration = aws.apigatewayv2.Integration(
            child_name(name, "integration"), api_id=api.id, integration_uri=function.arn, **spec.integration_args(),
            opts=child,
        )
        routes = [
            aws.apigatewayv2.Route(
                child_name(name, f"route-{r.model}"), api_id=api.id, route_key=r.route_key,
                target=pulumi.Output.concat("integrations/", integration.id),
                authorization_type=spec.authorization_type, authorizer_id=authorizer.id if authorizer else None,
                opts=child,
            )
            for r in spec.routes
        ]
        aws.apigatewayv2.Stage(  # its route settings name the routes: they exist first
            child_name(name, "stage"), api_id=api.id, **spec.stage_args(),
            access_log_settings={"destination_arn": access_logs.arn,
                                 "format": json.dumps(spec.access_log_format(), sort_keys=True)},
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=routes)),
        )
        aws.lambda_.Permission(
            child_name(name, "invoke-permission"), action="lambda:InvokeFunction", function=function.name,
            principal=APIGATEWAY_SERVICE, source_arn=api.execution_arn.apply(invoke_source_arn), opts=child,
        )
        self.url = api.api_endpoint
        self.invoke_urls = {r.model: api.api_endpoint.apply(lambda url, r=r: invoke_url(url, r)) for r in spec.routes}
        self.function_name = function.name
        self.register_outputs({"url": self.url, "invoke_urls": self.invoke_urls, "function_name": self.function_name})
