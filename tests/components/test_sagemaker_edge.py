"""The SageMaker edge under Pulumi's official mocks: the real program (mlinfra.program) for the lab profile with OIDC
callers, public unauthenticated callers and API-key callers (no edge); assertions on the recorded graph, after the
runs, against the pure spec (targets/aws_sagemaker/edge.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sagemaker_profile import lab_data

from resource_graph import camel, of_type, one
from mlinfra.conventions import TYPE_SAGEMAKER_EDGE
from mlinfra.guardrails import context_from_graph, run_guardrails
from mlinfra.profiles import load_profile
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.edge import edge_spec, handler_sha256, proxy_policy, proxy_trust_policy
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan

ACCOUNT = "123456789012"  # the offline mocks' account
REGION = "eu-west-1"  # the lab profile's
TARGET = AwsSageMaker()
OIDC = {"exposure": "internal", "authentication": "oidc",
        "oidc": {"issuer": "https://login.example.org/realms/risk", "audience": ["sm-lab-api", "sm-lab-batch"]}}
PUBLIC_NONE = {"exposure": "public", "authentication": "none"}
SECURITY = {"oidc": OIDC, "none": PUBLIC_NONE, "api_key": {"exposure": "internal", "authentication": "api_key"}}

API = "aws:apigatewayv2/api:Api"
AUTHORIZER = "aws:apigatewayv2/authorizer:Authorizer"
INTEGRATION = "aws:apigatewayv2/integration:Integration"
ROUTE = "aws:apigatewayv2/route:Route"
STAGE = "aws:apigatewayv2/stage:Stage"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"




@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for which, security in SECURITY.items():
        path = tmp_path_factory.mktemp(which) / "profile.yaml"
        path.write_text(yaml.safe_dump(lab_data(security=security), sort_keys=False), encoding="utf-8")
        out[which] = path
    return out


@pytest.fixture(scope="module")
def runs(paths):
    from mlinfra.program import run_offline

    return {(which, env): run_offline(path, env, target="aws-sagemaker")
            for which, path in paths.items() for env in ("dev", "prod")}


def _spec(paths, which, env):
    profile = load_profile(str(paths[which]))
    return edge_spec(profile, sagemaker_plan(profile, TARGET.plan(profile, env)))


def _children(run) -> dict[str, dict]:
    """The edge component's children by name, after checking they all hang off it with the explicit provider."""
    edge = one(run, TYPE_SAGEMAKER_EDGE)
    provider = one(run, "pulumi:providers:aws")
    children = [r for r in run.resources if r["parent"] == edge["urn"]]
    assert children and all(r["provider"] == provider["urn"] for r in children)
    assert all(r["name"].startswith("sm-lab-edge-") for r in children)
    return {r["name"].removeprefix("sm-lab-edge-"): r for r in children}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_oidc_edge_has_a_jwt_authorizer_on_every_model_route(runs, paths, env):
    run, spec = runs[("oidc", env)], _spec(paths, "oidc", env)
    api = one(run, API)
    assert api["inputs"] == {"name": f"sm-lab-{env}-edge", "protocolType": "HTTP"}
    authorizer = one(run, AUTHORIZER)
    assert authorizer["inputs"] == {
        "apiId": "sm-lab-edge-api-id", "name": "oidc", "authorizerType": "JWT",
        "identitySources": ["$request.header.Authorization"],
        "jwtConfiguration": {"issuer": "https://login.example.org/realms/risk", "audiences": ["sm-lab-api", "sm-lab-batch"]},
    }
    routes = {r["inputs"]["routeKey"]: r["inputs"] for r in of_type(run, ROUTE)}
    assert set(routes) == {"POST /models/scorer/invocations", "POST /models/ranker/invocations"}
    for route in routes.values():
        assert (route["authorizationType"], route["authorizerId"]) == ("JWT", "sm-lab-edge-authorizer-id")
        assert (route["apiId"], route["target"]) == ("sm-lab-edge-api-id", "integrations/sm-lab-edge-integration-id")
    integration = one(run, INTEGRATION)["inputs"]
    assert integration == {
        "apiId": "sm-lab-edge-api-id", "integrationType": "AWS_PROXY", "integrationMethod": "POST",
        "payloadFormatVersion": "2.0", "timeoutMilliseconds": 30000,
        "integrationUri": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:sm-lab-{env}-edge",
    }
    assert integration == {"apiId": "sm-lab-edge-api-id", **camel(spec.integration_args()),
                           "integrationUri": integration["integrationUri"]}


def test_stage_throttles_each_route_and_logs_to_the_encrypted_group(runs, paths):
    run, spec = runs[("oidc", "prod")], _spec(paths, "oidc", "prod")
    children = _children(run)
    stage = children["stage"]
    access = children["access-log-group"]["inputs"]
    assert (access["name"], access["retentionInDays"]) == ("/aws/vendedlogs/apigateway/sm-lab-prod-edge", 14)
    assert access["kmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    inputs = dict(stage["inputs"])
    log = inputs.pop("accessLogSettings")
    assert log["destinationArn"] == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/vendedlogs/apigateway/sm-lab-prod-edge"
    assert json.loads(log["format"]) == spec.access_log_format()
    assert inputs == {
        "apiId": "sm-lab-edge-api-id", "name": "$default", "autoDeploy": True,
        "defaultRouteSettings": {"throttlingRateLimit": 60, "throttlingBurstLimit": 120},
        "routeSettings": [
            {"routeKey": "POST /models/scorer/invocations", "throttlingRateLimit": 24, "throttlingBurstLimit": 48},
            {"routeKey": "POST /models/ranker/invocations", "throttlingRateLimit": 60, "throttlingBurstLimit": 120},
        ],
    }
    routes = {r["urn"] for r in of_type(run, ROUTE)}
    assert routes <= set(stage["options"]["depends_on"]), "route settings name routes that exist first"
    assert access_urn(run) in stage["options"]["depends_on"]


def access_urn(run) -> str:
    return next(r["urn"] for r in of_type(run, LOG_GROUP) if r["name"] == "sm-lab-edge-access-log-group")


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_proxy_may_invoke_only_the_environments_endpoints(runs, paths, env):
    run, spec = runs[("oidc", env)], _spec(paths, "oidc", env)
    children = _children(run)
    assert json.loads(children["proxy-identity"]["inputs"]["assumeRolePolicy"]) == proxy_trust_policy()
    endpoints = [f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/sm-lab-{env}-{m}" for m in ("scorer", "ranker")]
    assert {r["inputs"]["name"] for r in of_type(run, "aws:sagemaker/endpoint:Endpoint")} == {
        f"sm-lab-{env}-scorer", f"sm-lab-{env}-ranker"}
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/sm-lab-{env}-edge"
    policy = json.loads(children["proxy-grants"]["inputs"]["policy"])
    assert policy == proxy_policy(endpoint_arns=endpoints, log_group_arn=logs)
    assert [s["Action"] for s in policy["Statement"]] == ["sagemaker:InvokeEndpoint", ["logs:CreateLogStream", "logs:PutLogEvents"]]
    assert policy["Statement"][0]["Resource"] == sorted(endpoints)
    function = children["proxy"]
    inputs = dict(function["inputs"])
    assert inputs.pop("code") == {"archive": {"edge_handler.py": {"text": {
        "sha256": handler_sha256(), "bytes": len(Path(__file__).parents[2].joinpath(
            "targets", "aws_sagemaker", "edge_handler.py").read_bytes())}}}}
    assert inputs.pop("role") == f"arn:aws:iam::{ACCOUNT}:role/sm-lab-edge-proxy-identity-mock"
    assert inputs == camel(spec.function_args())
    assert json.loads(inputs["environment"]["variables"]["MLINFRA_ENDPOINTS"]) == {
        "scorer": f"sm-lab-{env}-scorer", "ranker": f"sm-lab-{env}-ranker"}
    assert {children["proxy-grants"]["urn"], children["proxy-log-group"]["urn"]} <= set(function["options"]["depends_on"])
    proxy_logs = children["proxy-log-group"]
    assert proxy_logs["inputs"]["name"] == f"/aws/lambda/sm-lab-{env}-edge"
    assert proxy_logs["inputs"]["kmsKeyId"].startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert proxy_logs["options"]["protect"] is children["access-log-group"]["options"]["protect"] is (env == "prod")


def test_only_this_apis_model_routes_may_invoke_the_proxy(runs):
    permission = one(runs[("oidc", "prod")], PERMISSION)["inputs"]
    assert permission == {
        "action": "lambda:InvokeFunction", "function": "sm-lab-prod-edge", "principal": "apigateway.amazonaws.com",
        "sourceArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:sm-lab-edge-api-id/*/POST/models/*/invocations",
    }


def test_outputs_name_the_edge_and_each_models_invoke_url(runs):
    out = runs[("oidc", "prod")].outputs
    url = f"https://sm-lab-edge-api-id.execute-api.{REGION}.amazonaws.com"
    assert out["edge_url"] == url
    assert out["invoke_urls"] == {"ranker": f"{url}/models/ranker/invocations", "scorer": f"{url}/models/scorer/invocations"}
    assert out["deployment_gaps"] == []


def test_public_unauthenticated_routes_have_no_authorizer(runs):
    run = runs[("none", "prod")]
    assert of_type(run, AUTHORIZER) == []
    routes = of_type(run, ROUTE)
    assert len(routes) == 2
    for route in routes:
        assert route["inputs"]["authorizationType"] == "NONE" and "authorizerId" not in route["inputs"]
    assert "subject" not in json.loads(one(run, STAGE)["inputs"]["accessLogSettings"]["format"])


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_api_key_callers_get_no_edge(runs, env):
    run = runs[("api_key", env)]
    types = {r["type"] for r in run.resources}
    assert TYPE_SAGEMAKER_EDGE not in types
    assert not any(t.startswith(("aws:apigatewayv2/", "aws:lambda/")) for t in types)
    assert "edge_url" not in run.outputs and "invoke_urls" not in run.outputs


@pytest.mark.parametrize("which", ["oidc", "none"])
def test_guardrails_pass_with_the_edge_and_nothing_is_invoked(runs, which):
    for env in ("dev", "prod"):
        run = runs[(which, env)]
        checks = run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))
        assert [c.id for c in checks if c.status == "fail"] == [], [c.violations for c in checks]
        assert run.invokes == []
        names = [(r["type"], r["name"]) for r in run.resources]
        assert len(names) == len(set(names))


def test_models_named_like_the_edges_children_do_not_collide(tmp_path):
    """A model `edge-proxy` is a SageMakerEndpoint `sm-lab-edge-proxy` whose role is `sm-lab-edge-proxy-role`: the
    edge's own children end in other suffixes, so both deploy (the mocks reject duplicate names)."""
    from mlinfra.program import run_offline

    scorer, ranker = lab_data()["models"]
    data = lab_data(security=OIDC, models=[{**scorer, "name": "edge-proxy"}, {**ranker, "name": "edge-access"}])
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    run = run_offline(path, "prod", target="aws-sagemaker")
    assert {r["inputs"]["routeKey"] for r in of_type(run, ROUTE)} == {
        "POST /models/edge-proxy/invocations", "POST /models/edge-access/invocations"}
    assert len(of_type(run, "aws:iam/role:Role")) == 3
