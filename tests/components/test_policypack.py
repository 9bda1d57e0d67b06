"""The policy pack (guardrails/policypack) as the engine runs it: an offline run's graph handed to the pack's policies
the way `pulumi preview --policy-pack` does - properties in the engine's wire format (secrets wrapped, unknowns as
sentinels) through pulumi-policy's own deserialize_properties and unknown-checking proxies, and the stack's config
(secrets decrypted) in PULUMI_CONFIG."""

from __future__ import annotations

import copy
import json
import runpy
from pathlib import Path

import pulumi_policy
import pytest
from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy
from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

from mlinfra.components.offline import fake_secret
from mlinfra.components.policy_pack import analyze_stack, engine_properties, policy_resources
from mlinfra.guardrails import CHECKS, context_from_graph, run_guardrails
from mlinfra.guardrails.graph import SECRET_MARK, from_policy_resources, mark_secrets, resource

WEBHOOK = "https://hooks.slack.com/services/T0LAB17/B0LAB17/prodWebhookToken17"
LITERAL = "https://hooks.slack.com/services/T0CM23/B0CM23/literalInTheProgram23"
SECRET_WIRE = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270"}  # the engine's secret marker


@pytest.fixture(scope="module")
def pack(repo_root: Path):
    """Run the pack's __main__ with PolicyPack replaced by a recorder (the real one serves gRPC forever)."""
    created = {}

    class RecordingPack:
        def __init__(self, **kwargs):
            created.update(kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pulumi_policy, "PolicyPack", RecordingPack)
        runpy.run_path(str(repo_root / "guardrails" / "policypack" / "__main__.py"), run_name="__main__")
    return created


def prod_properties(run, **secret_values: str) -> dict[str, dict]:
    """The run's raw inputs (secret wrappers kept), the fake secret values replaced by realistic ones."""
    text = json.dumps(run.raw_inputs)
    for key, value in secret_values.items():
        text = text.replace(fake_secret(key), value)
    return json.loads(text)


def stack_config(run, **secret_values: str) -> dict[str, str]:
    """What the engine puts in the pack's PULUMI_CONFIG: every config key, secrets decrypted."""
    return {f"mlinfra:{k}": secret_values.get(k, v) for k, v in run.secret_values.items()}


def _messages(result) -> list[str]:
    return [v["message"] for v in result.violations]


def test_pack_serves_one_mandatory_stack_policy_per_check(pack):
    assert pack["name"] == "mlinfra-guardrails"
    assert pack["enforcement_level"] == EnforcementLevel.MANDATORY
    policies = {p.name: p for p in pack["policies"]}
    assert set(policies) == {f"mlinfra-{cid}" for cid, _title, _fn in CHECKS}
    assert all(isinstance(p, StackValidationPolicy) for p in policies.values())
    assert {p.description for p in policies.values()} == {title for _cid, title, _fn in CHECKS}


def test_policies_read_pulumi_policy_proxies_not_dicts(runs):
    """pulumi-policy hands Mapping/Sequence proxies: the conversion reads them all the way down."""
    props = engine_properties({"spec": {"ports": [{"port": 8080}]}, "data": {"hook": WEBHOOK}})
    assert not isinstance(props, dict) and not isinstance(props["spec"]["ports"], list)
    entry = from_policy_resources([type("R", (), {"resource_type": "kubernetes:core/v1:ConfigMap", "name": "c",
                                                  "urn": "urn:c", "props": props})()])[0]
    assert entry["inputs"] == {"spec": {"ports": [{"port": 8080}]}, "data": {"hook": WEBHOOK}}


def test_the_prod_stack_passes_and_the_pack_reports_exactly_the_shared_checks_findings(runs):
    run = runs["prod"]
    graph = copy.deepcopy(run.resources)
    config = stack_config(run, slackHook=WEBHOOK)
    properties = prod_properties(run, slackHook=WEBHOOK)
    assert analyze_stack(policy_resources(graph, properties), config).violations == []

    namespace = next(r for r in graph if r["type"] == "kubernetes:core/v1:Namespace")
    namespace["options"]["protect"] = False
    service = next(r for r in graph if r["type"] == "kubernetes:core/v1:Service")
    properties[service["urn"]]["spec"]["type"] = "LoadBalancer"
    resources = policy_resources(graph, properties)
    reported = analyze_stack(resources, config)
    plain = mark_secrets(from_policy_resources(resources), config.values())
    expected = [v.message for c in run_guardrails(plain, context_from_graph(plain)) for v in c.violations]
    assert [m.split(": ", 1)[1] for m in _messages(reported)] == expected
    assert _messages(reported) == [
        f"kubernetes:core/v1:Service {service['name']}: Service type LoadBalancer exposes it outside the cluster; "
        "security.exposure is 'internal'",
        f"kubernetes:core/v1:Namespace {namespace['name']}: stateful resource without protect=True in production",
    ]
    # policy config overrides the profile's context: a public exposure allows the LoadBalancer
    assert len(analyze_stack(resources, config, {"exposure": "public"}).violations) == 1


def test_nested_values_are_checked(runs):
    """A ConfigMap holding a plain Slack webhook and Helm values asking for a LoadBalancer Grafana: both nested,
    both reported (they passed while the graph only recursed into dict/list)."""
    run = runs["prod"]
    properties = prod_properties(run, slackHook=WEBHOOK)
    release = next(r for r in run.resources if r["type"] == "kubernetes:helm.sh/v3:Release"
                   and r["inputs"]["chart"] == "kube-prometheus-stack")
    properties[release["urn"]]["values"]["grafana"]["service"] = {"type": "LoadBalancer"}
    hook = resource(type="kubernetes:core/v1:ConfigMap", name="lab-hook", urn="urn:pulumi:prod::mlinfra::hook",
                    parent=release["parent"], provider=release["provider"],
                    inputs={"metadata": {"name": "hook", "namespace": "fraud-lab-prod"},
                            "data": {"alertmanager.yaml": {"receivers": [{"slack_configs": [{"api_url": "x"}]}]},
                                     "url": LITERAL}})
    result = analyze_stack(policy_resources([*run.resources, hook], properties), stack_config(run, slackHook=WEBHOOK))
    assert _messages(result) == [
        f"kubernetes:helm.sh/v3:Release {release['name']}: values.grafana.service.type=LoadBalancer exposes a chart "
        "Service outside the cluster; security.exposure is 'internal'",
        "kubernetes:core/v1:ConfigMap lab-hook: data.alertmanager.yaml.receivers[0].slack_configs[0].api_url is a "
        "secret field with a literal value",
        "kubernetes:core/v1:ConfigMap lab-hook: data.url holds a credential-shaped literal (webhook URL with its token)",
    ]


def test_a_secret_from_config_passes_and_the_same_literal_in_the_program_fails(runs, pack, monkeypatch):
    """The engine sends the notify Secret's webhook wrapped as a secret and pulumi-policy unwraps it: the pack tells
    it from a literal by the stack's secret config, which the engine hands it in PULUMI_CONFIG."""
    run = runs["prod"]
    notify = next(r for r in run.resources if r["name"].endswith("notify-secret"))
    properties = prod_properties(run, slackHook=WEBHOOK)
    assert properties[notify["urn"]]["stringData"] == {
        **SECRET_WIRE, "value": {"slackHook": WEBHOOK, "pdRoutingKey": fake_secret("pdRoutingKey")}}
    secrets_policy = next(p for p in pack["policies"] if p.name == "mlinfra-secrets")

    def violations(props, config: dict[str, str]) -> list[str]:
        monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))  # what the engine's constructEnv sets
        found: list[str] = []
        secrets_policy.validate(StackValidationArgs(policy_resources(run.resources, props)),
                                lambda msg, urn=None: found.append(msg))
        return found

    assert violations(properties, stack_config(run, slackHook=WEBHOOK)) == []
    # the same webhook written into the program (not read from secret config): a literal, reported
    literal = copy.deepcopy(properties)
    literal[notify["urn"]]["stringData"] = {"slackHook": LITERAL}
    assert violations(literal, stack_config(run, slackHook=WEBHOOK)) == [
        f"kubernetes:core/v1:Secret {notify['name']}: stringData.slackHook holds a credential-shaped literal "
        "(webhook URL with its token)"
    ]
    # the secret config value copied into a plain ConfigMap is still a secret value: the preview's check (which
    # sees the engine's marks) reports that, and mark_secrets never hides a literal that is not config
    assert mark_secrets([notify], [WEBHOOK])[0]["inputs"]["stringData"] == SECRET_MARK


def test_unknowns_during_the_first_preview_are_skipped_with_a_note(runs):
    """On the first deploy the Helm release's `status` and the objects' computed metadata are unknown during
    preview: every stack policy still runs (no advisory downgrade) and names what it could not check."""
    run = runs["prod"]
    graph = copy.deepcopy(run.resources)
    properties = prod_properties(run, slackHook=WEBHOOK)
    release = next(r for r in graph if r["type"] == "kubernetes:helm.sh/v3:Release")
    properties[release["urn"]]["status"] = UNKNOWN_OBJECT_VALUE
    service = next(r for r in graph if r["type"] == "kubernetes:core/v1:Service")
    properties[service["urn"]]["metadata"]["uid"] = UNKNOWN_STRING_VALUE
    properties[service["urn"]]["spec"]["type"] = "NodePort"
    result = analyze_stack(policy_resources(graph, properties), stack_config(run, slackHook=WEBHOOK))
    assert _messages(result) == [
        f"kubernetes:core/v1:Service {service['name']}: Service type NodePort exposes it outside the cluster; "
        "security.exposure is 'internal'"
    ]
    assert len(result.notes) == 1 and result.notes[0].startswith("unknown until the update, not checked: ")
    assert set(result.notes[0].split(": ", 1)[1].split("; ")) == {
        f"kubernetes:helm.sh/v3:Release {release['name']}: status",
        f"kubernetes:core/v1:Service {service['name']}: metadata.uid",
    }
