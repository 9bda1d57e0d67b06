"""`render` runs the guardrails `preview` runs, on what it would write, and never writes a Secret."""

from __future__ import annotations

import pytest
import yaml
from profile_data import LOAN_DESK, changed

from mlinfra.files.dump import to_yaml_documents
from mlinfra.files.rendered import RenderedFile
from mlinfra.profiles.load import profile_from_data
from mlinfra.targets.kubernetes.guard import guard_render
from mlinfra.targets.registry import get_target


def _rendered(profile, env="prod"):
    target = get_target("onprem-k8s")
    return target.plan(profile, env), target.render(profile, env)


def test_no_secret_is_ever_rendered_and_each_is_listed_with_how_to_create_it():
    profile = profile_from_data(LOAN_DESK)  # api_key: one API-key Secret per model, plus the monitoring ones
    _plan, files = _rendered(profile)
    kinds = {d["kind"] for f in files if f.path.startswith("kubernetes/") for d in yaml.safe_load_all(f.text) if d}
    assert "Secret" not in kinds
    listed = {(s["namespace"], s["name"]) for s in files.notes["secrets_to_create"]}
    assert {("loan-desk-prod", "scorer-api-keys"), ("loan-desk-prod", "doc-reader-api-keys"),
            ("monitoring", "mlinfra-grafana-admin")} <= listed
    (guide,) = [f.text for f in files if f.path == "SECRETS.md"]
    assert "kubectl -n loan-desk-prod create secret generic scorer-api-keys --from-file=keys.map=./keys.map" in guide


@pytest.mark.parametrize("obj, message", [
    pytest.param(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "notes", "namespace": "loan-desk-prod"},
         "data": {"hook": "https://hooks.slack.com/services/T0001/B0001/abcdefghijkl"}},
        "credential-shaped literal", id="slack-url-in-clear"),
    pytest.param(
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "open", "namespace": "loan-desk-prod"},
         "spec": {"type": "NodePort", "ports": [{"port": 80}]}},
        "Service type NodePort exposes it outside the cluster", id="nodeport-with-internal-exposure"),
])
def test_a_render_that_breaks_a_guardrail_is_refused(obj, message):
    profile = profile_from_data(LOAN_DESK)
    plan, files = _rendered(profile)
    with pytest.raises(ValueError, match=f"the render breaks mlinfra's guardrails, nothing was written: .*{message}"):
        guard_render(profile, plan, [*files, RenderedFile("kubernetes/99-extra.yaml", to_yaml_documents([obj]))])


def test_the_examples_pass_the_guardrails():
    for security in ({"exposure": "internal", "authentication": "api_key"},
                     {"exposure": "private", "authentication": "none"}):
        profile = profile_from_data(changed(LOAN_DESK, security=security))
        plan, files = _rendered(profile)
        guard_render(profile, plan, files)


def test_a_hundred_and_twenty_models_render_in_objects_the_api_accepts():
    """One PrometheusRule grew about 5 KB per model: over kubectl's 256 KiB at ~50 models, etcd's 1.5 MiB at ~300.
    The rules are split into objects of at most 192 KiB, and together they hold every group's rules."""
    from mlinfra.monitoring.objects import MAX_OBJECT_BYTES, RULE_OBJECT_BUDGET, object_bytes
    from mlinfra.monitoring.rules import build_rule_groups

    base = LOAN_DESK["models"][0]
    data = changed(LOAN_DESK, models=[{**base, "name": f"m{i:03d}"} for i in range(120)])
    profile = profile_from_data(data)
    plan, files = _rendered(profile)
    (text,) = [f.text for f in files if f.path == "kubernetes/20-monitoring.yaml"]
    rules = [d for d in yaml.safe_load_all(text) if d]
    assert len(rules) >= 3 and all(object_bytes(r) <= RULE_OBJECT_BUDGET < MAX_OBJECT_BYTES for r in rules)
    assert rules[0]["metadata"]["name"] == "loan-desk-prod-rules" and rules[1]["metadata"]["name"] == "loan-desk-prod-rules-2"
    held = [rule for r in rules for g in r["spec"]["groups"] for rule in g["rules"]]
    assert held == [rule for g in build_rule_groups(plan) for rule in g["rules"]], "every rule, in order, once"
    (plain,) = [f.text for f in files if f.path == "prometheus/rules.yaml"]
    assert yaml.safe_load(plain)["groups"] == [g for r in rules for g in r["spec"]["groups"]]


def test_an_object_over_the_api_limit_is_refused_naming_it():
    profile = profile_from_data(LOAN_DESK)
    plan, files = _rendered(profile)
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "huge", "namespace": "loan-desk-prod"},
           "data": {"x": "y" * 300_000}}
    with pytest.raises(ValueError, match=r"ConfigMap loan-desk-prod/huge is 300,\d+ bytes; the API accepts objects up "
                                         r"to 262,144 bytes"):
        guard_render(profile, plan, [*files, RenderedFile("kubernetes/99-big.yaml", to_yaml_documents([big]))])


def test_an_aws_render_runs_the_guardrails_on_the_registered_graph():
    """aws/resources.yaml comes from an offline run of the program; render checks that graph as preview does."""
    from mlinfra.conventions import TYPE_ENVIRONMENT
    from mlinfra.guardrails.context import context_for, context_inputs
    from mlinfra.guardrails.graph import resource
    from mlinfra.rendering.resources import guardrail_violations

    profile = profile_from_data(LOAN_DESK)
    ctx = context_for(profile, "prod", tier="prod", protect=True, target="aws-eks")
    environment = resource(type=TYPE_ENVIRONMENT, name="loan-desk-prod", urn="urn:env", custom=False,
                           inputs=context_inputs(ctx))
    hook = resource(type="kubernetes:core/v1:ConfigMap", name="notes", urn="urn:cm", provider="urn:k8s::id",
                    inputs={"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": "notes", "namespace": "loan-desk-prod"},
                            "data": {"hook": "https://hooks.slack.com/services/T0001/B0001/abcdefghijkl"}})
    found = guardrail_violations([environment, hook], {})
    assert any("credential-shaped literal" in f for f in found), found
    assert guardrail_violations([environment], {}) == []
