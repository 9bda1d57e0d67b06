"""Who may call an exposed model (manifests/gate.py): every exposure x authentication renders what it promises."""

from __future__ import annotations

import itertools

import pytest
from profile_data import LOAN_DESK, changed

from mlinfra.manifests import gate
from mlinfra.manifests.serving import build_model_objects
from mlinfra.planning.plan import PlanError  # noqa: F401 - planning errors stay importable here
from mlinfra.profiles.load import profile_from_data
from mlinfra.targets.resolve import resolve_target

OIDC = {"issuer": "https://login.bank.example/realms/loans", "audience": ["loan-desk", "loan-batch"]}


def plan_for(security, target="onprem-k8s", env="prod"):
    profile = profile_from_data(changed(LOAN_DESK, security=security))
    return resolve_target(profile, env, target).target.plan(profile, env)


def objects(security, target="onprem-k8s"):
    plan = plan_for(security, target)
    return {o["kind"]: o for o in build_model_objects(plan, plan.models[0])}


def security(exposure, authentication):
    s = {"exposure": exposure, "authentication": authentication, "domain": "ml.bank.example"}
    return s | ({"oidc": OIDC} if authentication == "oidc" else {})


def test_every_exposure_and_authentication_renders_differently():
    """The six combinations of internal/public x none/api_key/oidc used to render byte-identical objects."""
    seen = {}
    for exposure, auth in itertools.product(("internal", "public"), ("none", "api_key", "oidc")):
        objs = objects(security(exposure, auth))
        seen[(exposure, auth)] = repr(sorted((k, repr(v)) for k, v in objs.items()))
    assert len(set(seen.values())) == 6


def test_public_without_authentication_has_no_gate_everything_else_does():
    open_ = objects(security("public", "none"))
    assert "ConfigMap" not in open_
    assert [c["name"] for c in open_["Deployment"]["spec"]["template"]["spec"]["containers"]] == ["server"]
    for exposure, auth in (("internal", "none"), ("internal", "api_key"), ("public", "api_key"), ("public", "oidc")):
        objs = objects(security(exposure, auth))
        names = [c["name"] for c in objs["Deployment"]["spec"]["template"]["spec"]["containers"]]
        assert names[:2] == ["server", "gate"], (exposure, auth)
        assert objs["Service"]["spec"]["ports"][0]["targetPort"] == "gate"


def test_internal_admits_the_declared_ranges_only():
    conf = gate.nginx_config(plan_for(security("internal", "none") | {"allowed_cidrs": ["10.41.0.0/16", "fd00:7::/48"]}),
                             _runtime())
    assert "    allow 10.41.0.0/16;\n    allow fd00:7::/48;\n    deny all;\n" in conf
    assert "real_ip_recursive off;" in conf  # the address the ingress controller appended, not the client's claim
    public = gate.nginx_config(plan_for(security("public", "api_key") | {"allowed_cidrs": ["10.41.0.0/16"]}),
                               _runtime())
    assert "allow 10.41.0.0/16" not in public and "deny all" not in public


def test_default_ranges_are_the_private_ones():
    assert plan_for(security("internal", "api_key")).access.allowed_cidrs == (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def test_api_keys_are_checked_and_not_passed_on():
    conf = gate.nginx_config(plan_for(security("internal", "api_key")), _runtime())
    assert "include /etc/mlinfra/api-keys/keys.map;" in conf
    assert "if ($mlinfra_api_key = 0) { return 401; }" in conf
    assert 'proxy_set_header X-API-Key "";' in conf
    pod = objects(security("internal", "api_key"))["Deployment"]["spec"]["template"]["spec"]
    assert {"name": "api-keys", "secret": {"secretName": "scorer-api-keys"}} in pod["volumes"]


def test_oidc_runs_oauth2_proxy_for_bearer_tokens_only():
    objs = objects(security("public", "oidc"))
    pod = objs["Deployment"]["spec"]["template"]["spec"]
    (oidc,) = [c for c in pod["containers"] if c["name"] == "oidc"]
    assert oidc["image"] == "quay.io/oauth2-proxy/oauth2-proxy:v7.15.3"
    assert oidc["args"] == [
        "--http-address=0.0.0.0:4180",
        "--provider=oidc",
        "--oidc-issuer-url=https://login.bank.example/realms/loans",
        "--client-id=loan-desk",
        "--oidc-extra-audience=loan-batch",
        "--skip-jwt-bearer-tokens=true",
        "--bearer-token-login-fallback=false",
        "--email-domain=*",
        "--upstream=static://202",
        "--skip-provider-button=true",
        "--silence-ping-logging=true",
    ]
    conf = gate.nginx_config(plan_for(security("public", "oidc")), _runtime())
    assert "auth_request /_mlinfra/oidc;" in conf and 'proxy_set_header Cookie "";' in conf
    https = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}],
             "ports": [{"protocol": "TCP", "port": 443}]}
    assert https in objs["NetworkPolicy"]["spec"]["egress"]  # the issuer's discovery and keys


def test_oidc_without_its_issuer_cannot_deploy_on_kubernetes():
    profile = profile_from_data(changed(LOAN_DESK, security={"exposure": "internal", "authentication": "oidc"}))
    target = resolve_target(profile, "prod", "onprem-k8s").target
    assert any("security.oidc is not set" in gap for gap in target.deployment_gaps(profile))
    with pytest.raises(ValueError, match="security.oidc is not set"):
        target.render(profile, "prod")


def test_the_alb_admits_the_declared_ranges_and_checks_health_through_the_gate():
    annotations = objects(security("internal", "api_key"), "aws-eks")["Ingress"]["metadata"]["annotations"]
    assert annotations["alb.ingress.kubernetes.io/inbound-cidrs"] == "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
    assert annotations["alb.ingress.kubernetes.io/healthcheck-path"] == "/_mlinfra/ready"
    public = objects(security("public", "api_key"), "aws-eks")["Ingress"]["metadata"]["annotations"]
    assert "alb.ingress.kubernetes.io/inbound-cidrs" not in public


@pytest.mark.parametrize("text, message", [
    pytest.param("", "holds no API key", id="empty"),
    pytest.param("short\n", "line 1 of the secret config value of security.api_keys_secret is not an API key "
                 "(found 5 characters)", id="short"),
    pytest.param("a" * 40 + "\n" + 'b" 1; } include /etc/passwd; #' + "x" * 20, "line 2", id="nginx-injection"),
])
def test_bad_api_keys_are_refused_naming_the_line(text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gate.api_keys_map(text)


def test_api_keys_map_is_one_entry_per_distinct_key():
    a, b = "k" * 32, "Z9_-" * 10
    assert gate.api_keys_map(f"{b}\n\n {a} \n{b}\n") == f'"{b}" 1;\n"{a}" 1;\n'


@pytest.mark.parametrize("cidr, message", [
    pytest.param("0.0.0.0/0", "0.0.0.0/0 and ::/0 allow every address", id="everything"),
    pytest.param("10.0.0.1/8", "host bits are set", id="host-bits"),
    pytest.param("ten.zero", "not a CIDR block", id="garbage"),
])
def test_bad_allowed_cidrs_name_the_field(cidr, message):
    from mlinfra.profiles.load import ProfileError

    with pytest.raises(ProfileError) as exc:
        profile_from_data(changed(LOAN_DESK, **{"security.allowed_cidrs": [cidr]}))
    assert "security.allowed_cidrs[0]" in exc.value.report() and message in exc.value.report()


def _runtime():
    from mlinfra.runtimes.catalog import RUNTIMES

    return RUNTIMES["mlserver"]
