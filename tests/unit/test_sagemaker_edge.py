"""The API Gateway edge in front of SageMaker endpoints as plain data (targets/aws_sagemaker/edge.py): when a profile
gets one, what keeps it from one (deployment gaps), the spec the component maps, what it costs, and how render and
the decision show it. Numbers come from the lab profile (tests/sagemaker_profile.py): scorer peaks at 12 req/s,
ranker at 30, retention 11 days."""

from __future__ import annotations

import json

import pytest
import yaml
from sagemaker_profile import lab_data

from mlinfra.costs.prices import price_table
from mlinfra.manifests.common import find_none
from mlinfra.profiles import ProfileError, profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.aws_sagemaker import AwsSageMaker
from mlinfra.targets.aws_sagemaker.cost import edge_lines, edge_monthly_eur
from mlinfra.targets.aws_sagemaker.edge import (
    edge_gaps,
    edge_spec,
    handler_sha256,
    handler_source,
    has_edge,
    invoke_source_arn,
    proxy_policy,
    proxy_trust_policy,
    throttle,
)
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.render import SAGEMAKER_FILE

TARGET = AwsSageMaker()
OIDC = {"issuer": "https://login.example.org/realms/risk", "audience": ["sm-lab-api", "sm-lab-batch"]}
WITH_OIDC = {"exposure": "internal", "authentication": "oidc", "oidc": OIDC}
PUBLIC_NONE = {"exposure": "public", "authentication": "none"}


def _profile(security=WITH_OIDC, **patch):
    return profile_from_data(lab_data(security=security, **patch))


def _edge(env="prod", security=WITH_OIDC, **patch):
    profile = _profile(security, **patch)
    return edge_spec(profile, sagemaker_plan(profile, TARGET.plan(profile, env)))


def _problems(security) -> list[str]:
    with pytest.raises(ProfileError) as exc:
        profile_from_data(lab_data(security=security), "p.yaml")
    return [str(p) for p in exc.value.problems]


# --- the profile's security.oidc --------------------------------------------------------------------------


def test_security_oidc_is_optional_and_kept_as_given():
    assert profile_from_data(lab_data(security={"exposure": "internal", "authentication": "oidc"})).security.oidc is None
    oidc = _profile().security.oidc
    assert (oidc.issuer, oidc.audience) == ("https://login.example.org/realms/risk", ["sm-lab-api", "sm-lab-batch"])


@pytest.mark.parametrize(
    ("oidc", "authentication", "expected"),
    [
        pytest.param({**OIDC, "issuer": "http://login.example.org/realms/risk"}, "oidc",
                     "security.oidc.issuer: must be an https:// URL without spaces, query or #fragment, exactly as the "
                     "tokens' iss claim states it, e.g. https://login.example.com/realms/ml "
                     "(got 'http://login.example.org/realms/risk')", id="http-issuer"),
        pytest.param({**OIDC, "issuer": "https://login.example.org/realms/risk#x"}, "oidc",
                     "security.oidc.issuer: must be an https:// URL", id="issuer-fragment"),
        pytest.param({**OIDC, "audience": []}, "oidc",
                     "security.oidc.audience: list should have at least 1 item after validation, not 0", id="no-audience"),
        pytest.param({**OIDC, "audience": ["sm lab"]}, "oidc", "security.oidc.audience[0]: string should match pattern",
                     id="audience-with-space"),
        pytest.param({"issuer": "https://login.example.org/realms/risk"}, "oidc",
                     "security.oidc.audience: required field is missing", id="audience-missing"),
        pytest.param(OIDC, "api_key",
                     "security: security.oidc is set but security.authentication is 'api_key'; set "
                     "security.authentication to oidc, or remove security.oidc", id="oidc-without-oidc-auth"),
    ],
)
def test_bad_security_oidc_names_the_field(oidc, authentication, expected):
    found = _problems({"exposure": "internal", "authentication": authentication, "oidc": oidc})
    assert any(expected in p for p in found), found


# --- when there is an edge, and what keeps a profile from one ---------------------------------------------


@pytest.mark.parametrize(
    ("security", "edge", "gap"),
    [
        pytest.param({"exposure": "internal", "authentication": "api_key"}, None, None, id="api-key"),
        pytest.param({"exposure": "public", "authentication": "api_key"}, None, None, id="public-api-key"),
        pytest.param({"exposure": "private", "authentication": "none"}, None, None, id="private-none"),
        pytest.param({"exposure": "internal", "authentication": "none"}, None, None, id="internal-none"),
        pytest.param(WITH_OIDC, "oidc", None, id="internal-oidc"),
        pytest.param({**WITH_OIDC, "exposure": "public"}, "oidc", None, id="public-oidc"),
        pytest.param(PUBLIC_NONE, "none", None, id="public-none"),
        pytest.param({**WITH_OIDC, "exposure": "private"}, None,
                     "security.exposure is 'private' with authentication 'oidc': the edge that checks OIDC tokens in "
                     "front of SageMaker endpoints is an API Gateway HTTP API, which is reachable from the internet, "
                     "and SageMaker callers inside the account authenticate with IAM (SigV4); set security.exposure "
                     "to internal or public (the edge, JWT-protected) or security.authentication to api_key (IAM "
                     "access keys)", id="private-oidc"),
        pytest.param({"exposure": "internal", "authentication": "oidc"}, None,
                     "security.authentication is 'oidc' but security.oidc is not set: SageMaker endpoints answer only "
                     "IAM-signed requests, so an API Gateway JWT authorizer checks the callers' tokens and needs their "
                     "issuer; set security.oidc.issuer (https://..., the tokens' iss claim) and "
                     "security.oidc.audience (the accepted aud values)", id="oidc-without-issuer"),
    ],
)
def test_edge_and_gaps_per_exposure_and_authentication(security, edge, gap):
    profile = _profile(security)
    assert TARGET.deployment_gaps(profile) == ([gap] if gap else [])
    assert has_edge(profile) is (edge is not None)
    spec = edge_spec(profile, sagemaker_plan(profile, TARGET.plan(profile, "prod")))
    assert (spec.authentication if spec else None) == edge


def test_an_slo_longer_than_the_edge_waits_is_a_gap_naming_the_model():
    slow = {**lab_data()["models"][1], "slo": {"latency_p95_ms": 45_000, "availability": 0.999}}
    profile = profile_from_data(lab_data(security=WITH_OIDC, models=[lab_data()["models"][0], slow]))
    assert edge_gaps(profile) == [
        "model 'ranker': models[].slo.latency_p95_ms is 45000 but the API Gateway edge in front of SageMaker waits at "
        "most 30000 ms for an answer; set it to 30000 or less, or security.authentication to api_key (IAM callers "
        "invoke the endpoint directly)"
    ]
    assert not has_edge(profile)
    api_key = profile_from_data(lab_data(models=[lab_data()["models"][0], slow]))
    assert edge_gaps(api_key) == [], "IAM callers invoke the endpoint directly: no edge, no gap"


# --- the spec -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peak", "rate", "burst"),
    [
        pytest.param(12, 24.0, 48, id="twice-the-peak"),
        pytest.param(0, 1.0, 10, id="floor"),
        pytest.param(0.3, 1.0, 10, id="fraction"),
        pytest.param(3_000, 6_000.0, 5_000, id="burst-at-account-limit"),
        pytest.param(7_000, 10_000.0, 5_000, id="rate-at-account-limit"),
    ],
)
def test_throttle_is_twice_the_peak_with_two_seconds_of_burst(peak, rate, burst):
    t = throttle(peak)
    assert (t.rate_limit, t.burst_limit) == (rate, burst)


def test_oidc_edge_spec():
    edge = _edge()
    assert (edge.api_name, edge.function_name, edge.authentication) == ("sm-lab-prod-edge", "sm-lab-prod-edge", "oidc")
    assert [(r.model, r.route_key, r.endpoint_name) for r in edge.routes] == [
        ("scorer", "POST /models/scorer/invocations", "sm-lab-prod-scorer"),
        ("ranker", "POST /models/ranker/invocations", "sm-lab-prod-ranker"),
    ]
    assert edge.authorization_type == "JWT"
    assert edge.authorizer.args() == {
        "name": "oidc",
        "authorizer_type": "JWT",
        "identity_sources": ["$request.header.Authorization"],
        "jwt_configuration": {"issuer": "https://login.example.org/realms/risk", "audiences": ["sm-lab-api", "sm-lab-batch"]},
    }
    assert edge.stage_args() == {
        "name": "$default",
        "auto_deploy": True,
        "default_route_settings": {"throttling_rate_limit": 60.0, "throttling_burst_limit": 120},  # ranker's
        "route_settings": [
            {"route_key": "POST /models/scorer/invocations", "throttling_rate_limit": 24.0, "throttling_burst_limit": 48},
            {"route_key": "POST /models/ranker/invocations", "throttling_rate_limit": 60.0, "throttling_burst_limit": 120},
        ],
    }
    assert edge.integration_args() == {
        "integration_type": "AWS_PROXY", "integration_method": "POST", "payload_format_version": "2.0",
        "timeout_milliseconds": 30_000,
    }
    assert edge.function_args() == {
        "name": "sm-lab-prod-edge",
        "runtime": "python3.13",
        "handler": "edge_handler.handler",
        "architectures": ["x86_64"],
        "memory_size": 256,
        "timeout": 29,
        "environment": {"variables": {
            "MLINFRA_ENDPOINTS": '{"ranker": "sm-lab-prod-ranker", "scorer": "sm-lab-prod-scorer"}',
            # exposure internal: the proxy serves the profile's allowed ranges only (default: the private ones)
            "MLINFRA_ALLOWED_CIDRS": '["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]',
        }},
        "logging_config": {"log_format": "Text", "log_group": "/aws/lambda/sm-lab-prod-edge"},
    }
    assert (edge.access_log_group, edge.proxy_log_group, edge.log_retention_days) == (
        "/aws/vendedlogs/apigateway/sm-lab-prod-edge", "/aws/lambda/sm-lab-prod-edge", 14)  # 11 days -> 14
    log = edge.access_log_format()
    assert (log["routeKey"], log["status"], log["subject"]) == ("$context.routeKey", "$context.status",
                                                                "$context.authorizer.claims.sub")
    assert not any("body" in k.lower() or "body" in v for k, v in log.items()), "no payload in the access log"
    assert _edge("dev").api_name == "sm-lab-dev-edge"


def test_public_unauthenticated_edge_has_no_authorizer():
    edge = _edge(security=PUBLIC_NONE)
    assert (edge.authorizer, edge.authorization_type, edge.authentication) == (None, "NONE", "none")
    assert "subject" not in edge.access_log_format() and "authorizerError" not in edge.access_log_format()
    assert edge.why == ("security.exposure is public with authentication none: unauthenticated callers cannot sign "
                        "requests for SageMaker endpoints")


def test_iam_documents():
    assert proxy_trust_policy() == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
    scorer = "arn:aws:sagemaker:eu-west-1:210987654321:endpoint/sm-lab-prod-scorer"
    ranker = "arn:aws:sagemaker:eu-west-1:210987654321:endpoint/sm-lab-prod-ranker"
    logs = "arn:aws:logs:eu-west-1:210987654321:log-group:/aws/lambda/sm-lab-prod-edge"
    assert proxy_policy(endpoint_arns=[scorer, ranker], log_group_arn=logs) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "InvokeTheEnvironmentsEndpoints", "Effect": "Allow", "Action": "sagemaker:InvokeEndpoint",
             "Resource": [ranker, scorer]},
            {"Sid": "WriteItsOwnLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [logs, f"{logs}:*"]},
        ],
    }
    assert invoke_source_arn("arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5") == (
        "arn:aws:execute-api:eu-west-1:210987654321:a1b2c3d4e5/*/POST/models/*/invocations")


def test_the_handler_ships_as_the_file_it_is():
    source = handler_source()
    assert source.startswith('"""The Lambda proxy') and "def handler(event" in source
    assert "mlinfra" not in source.split('"""', 2)[2], "the shipped file imports nothing of mlinfra"
    assert len(handler_sha256()) == 64


# --- cost ------------------------------------------------------------------------------------------------------

PRICED = {"cloud": {"region": "us-east-1"}, "data": {"sovereignty": "none", "classification": "internal"},
          "costs": {"usd_to_eur": 0.9}}


def _lines(env, security=WITH_OIDC):
    profile = _profile(security, **PRICED)
    return profile, edge_lines(profile, resolve_environment(profile, env), price_table(profile))


def test_edge_cost_lines_by_hand():
    profile, (http, proxy, logs) = _lines("prod")
    requests = (4 + 0.05) * 730 * 3600  # 10,643,400 (prod sees all of the profile's traffic)
    gb_seconds = requests * (1 / 40 + 0.03) * 256 / 1024  # 25 ms on the endpoint + 30 ms of its own, 256 MB
    assert http.item == "API Gateway HTTP API (edge): 10.643 M requests"
    assert http.monthly_eur == round(requests / 1e6 * 1.00 * 0.9, 2) == 9.58
    assert http.price_keys == ("apigateway-http/requests-million/us-east-1",)
    assert proxy.item == "Lambda edge proxy: 10.643 M requests, 146,347 GB-s"
    assert proxy.monthly_eur == round((requests / 1e6 * 0.20 + gb_seconds * 0.0000166667) * 0.9, 2) == 4.11
    assert proxy.price_keys == ("lambda/requests-million/us-east-1", "lambda/gb-second-x86/us-east-1")
    assert logs.item == "CloudWatch Logs (edge): 10.64 GB"
    assert logs.monthly_eur == round(requests / 1e6 * 0.50 * 0.9, 2) == 4.79
    _, dev = _lines("dev")
    assert dev[0].item == "API Gateway HTTP API (edge): 0.532 M requests"  # dev sees 5 %
    assert edge_monthly_eur(profile, price_table(profile)) == round(
        sum(line.monthly_eur for line in (*dev, http, proxy, logs)), 2)


def test_the_estimate_prices_the_edge_only_where_it_is_deployed():
    def items(security):
        profile = _profile(security, **PRICED)
        est = TARGET.estimate(profile, resolve_environment(profile, "prod"), price_table(profile))
        return [line.item.split(":")[0] for line in est.lines]

    edge = [item for item in items(WITH_OIDC) if "edge" in item]
    assert edge == ["API Gateway HTTP API (edge)", "Lambda edge proxy", "CloudWatch Logs (edge)"]
    for no_edge in ({"exposure": "internal", "authentication": "api_key"}, {"exposure": "internal", "authentication": "oidc"}):
        assert not any("edge" in item for item in items(no_edge)), no_edge
    assert _lines("prod", {"exposure": "internal", "authentication": "api_key"})[1] == []


def test_eu_prices_are_derived_and_marked_unconfirmed():
    profile = _profile()  # eu-west-1: the eu-central-1 prices, derived from us-east-1
    http, proxy, _ = edge_lines(profile, resolve_environment(profile, "prod"), price_table(profile))
    assert "apigateway-http/requests-million/eu-central-1" in http.price_keys and "≈" in http.note
    assert "lambda/gb-second-x86/eu-central-1" in proxy.price_keys and "≈" in proxy.note


# --- decision and render ------------------------------------------------------------------------------------------


def test_consequences_and_components_say_the_edge_exists_and_what_it_costs():
    profile = _profile(**PRICED)
    eur = edge_monthly_eur(profile, price_table(profile))
    assert eur > 0
    assert (f"Callers reach the endpoints through an API Gateway HTTP API and a Lambda proxy (a JWT authorizer checks "
            f"the callers' OIDC tokens; throttled per model, access-logged), priced per request: about {eur:,.2f} "
            "EUR/month over all environments.") in TARGET.consequences(profile)
    assert TARGET.components(profile) == ["SageMakerEndpoint", "CloudWatchMonitoring", "SageMakerEdge"]
    api_key = profile_from_data(lab_data())
    assert TARGET.components(api_key) == ["SageMakerEndpoint", "CloudWatchMonitoring"]
    assert not any("Lambda proxy" in c for c in TARGET.consequences(api_key))
    assert "JWT authorizer" in TARGET.criteria(profile).notes["security"]


def test_render_writes_the_edge_where_there_is_one():
    [file] = [f for f in TARGET.render(_profile(), "prod") if f.path == SAGEMAKER_FILE]
    doc = yaml.safe_load(file.text)
    assert find_none(doc) == []
    edge = doc["edge"]
    assert edge["authorizer"]["jwt_configuration"]["issuer"] == "https://login.example.org/realms/risk"
    assert [(r["route_key"], r["authorization_type"], r["throttle"]["throttling_rate_limit"]) for r in edge["routes"]] == [
        ("POST /models/scorer/invocations", "JWT", 24.0), ("POST /models/ranker/invocations", "JWT", 60.0)]
    assert edge["proxy"]["code"] == {"file": "edge_handler.py", "sha256": handler_sha256()}
    assert edge["proxy"]["role_policy"]["Statement"][0]["Resource"] == [
        "<arn of endpoint sm-lab-prod-ranker>", "<arn of endpoint sm-lab-prod-scorer>"]
    assert json.loads(json.dumps(edge["stage"]["access_log_settings"]["format"]))["status"] == "$context.status"
    [plain] = [f for f in TARGET.render(profile_from_data(lab_data()), "prod") if f.path == SAGEMAKER_FILE]
    assert "edge" not in yaml.safe_load(plain.text)
    none = yaml.safe_load([f for f in TARGET.render(_profile(PUBLIC_NONE), "prod") if f.path == SAGEMAKER_FILE][0].text)
    assert "authorizer" not in none["edge"] and find_none(none) == []


def test_internal_exposure_hands_the_allowed_ranges_to_the_proxy_public_does_not():
    edge = _edge(security={**WITH_OIDC, "allowed_cidrs": ["10.52.0.0/16", "198.51.100.0/24"]})
    assert edge.allowed_cidrs == ("10.52.0.0/16", "198.51.100.0/24")
    assert json.loads(edge.environment()["MLINFRA_ALLOWED_CIDRS"]) == ["10.52.0.0/16", "198.51.100.0/24"]
    public = _edge(security={**WITH_OIDC, "exposure": "public"})
    assert public.allowed_cidrs == () and "MLINFRA_ALLOWED_CIDRS" not in public.environment()
