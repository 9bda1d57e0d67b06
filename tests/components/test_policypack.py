"""The policy pack (guardrails/policypack) constructs and its policies report what the shared checks find."""

from __future__ import annotations

import copy
import runpy
from pathlib import Path

import pulumi_policy
import pytest
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from mlinfra.guardrails import CHECKS, context_from_graph, run_guardrails
from mlinfra.guardrails.graph import from_policy_resources


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


def _options(r: dict) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=r["options"]["protect"], ignore_changes=[], delete_before_replace=None, aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=r["parent"],
    )


def policy_resources(graph: list[dict]) -> list[PolicyResource]:
    """What the engine hands a stack policy, built from an offline run's graph."""
    providers = {r["urn"]: r for r in graph if r["type"].startswith("pulumi:providers:")}
    out = {}
    for r in graph:
        prov = providers.get(r["provider"] or "")
        provider = PolicyProviderResource(prov["type"], prov["inputs"], prov["urn"], prov["name"]) if prov else None
        out[r["urn"]] = PolicyResource(r["type"], r["inputs"], r["urn"], r["name"], _options(r), provider, None, [], {})
    for r in graph:
        out[r["urn"]].parent = out.get(r["parent"] or "")
        out[r["urn"]].dependencies = [out[u] for u in r["options"]["depends_on"] if u in out]
    return list(out.values())


def test_pack_constructs_with_one_mandatory_policy_per_check(pack):
    assert pack["name"] == "mlinfra-guardrails"
    assert pack["enforcement_level"] == EnforcementLevel.MANDATORY
    policies = {p.name: p for p in pack["policies"]}
    assert set(policies) == {f"mlinfra-{cid}" for cid, _title, _fn in CHECKS}
    assert isinstance(policies["mlinfra-secrets"], ResourceValidationPolicy)
    assert all(isinstance(p, StackValidationPolicy) for n, p in policies.items() if n != "mlinfra-secrets")
    assert {p.description for p in policies.values()} == {title for _cid, title, _fn in CHECKS}


def _stack_violations(pack, resources, config=None) -> list[tuple[str, str | None]]:
    found = []
    for policy in pack["policies"]:
        if isinstance(policy, StackValidationPolicy):
            policy.validate(StackValidationArgs(resources, config), lambda msg, urn=None: found.append((msg, urn)))
    return found


def test_stack_policies_report_exactly_the_shared_checks_findings(pack, runs):
    graph = copy.deepcopy(runs["prod"].resources)
    assert _stack_violations(pack, policy_resources(graph)) == [], "the prod stack passes the pack"
    namespace = next(r for r in graph if r["type"] == "kubernetes:core/v1:Namespace")
    namespace["options"]["protect"] = False
    service = next(r for r in graph if r["type"] == "kubernetes:core/v1:Service")
    service["inputs"]["spec"]["type"] = "LoadBalancer"
    resources = policy_resources(graph)
    reported = _stack_violations(pack, resources)
    plain = from_policy_resources(resources)
    expected = [(f"{v.resource}: {v.message}", v.urn) for c in run_guardrails(plain, context_from_graph(plain))
                if c.id != "secrets" for v in c.violations]
    assert reported == expected
    assert [m for m, _ in reported] == [
        f"kubernetes:core/v1:Service {service['name']}: Service type LoadBalancer exposes it outside the cluster; "
        "security.exposure is 'internal'",
        f"kubernetes:core/v1:Namespace {namespace['name']}: stateful resource without protect=True in production",
    ]
    # policy config overrides the profile's context: a public exposure allows the LoadBalancer
    assert len(_stack_violations(pack, resources, {"exposure": "public"})) == 1


def test_resource_policy_flags_a_plain_webhook(pack):
    secrets = next(p for p in pack["policies"] if p.name == "mlinfra-secrets")
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
    found = []
    args = ResourceValidationArgs(
        "kubernetes:core/v1:ConfigMap", {"metadata": {"name": "c"}, "data": {"hook": "https://hooks.slack.com/services/T/B/x"}},
        "urn:c", "c", opts, None,
    )
    secrets.validate(args, lambda msg, urn=None: found.append(msg))
    assert found == ["data.hook holds a credential-shaped literal (webhook URL with its token)"]
    clean = ResourceValidationArgs("kubernetes:core/v1:ConfigMap", {"data": {"x": "y"}}, "urn:d", "d", opts, None)
    found.clear()
    secrets.validate(clean, lambda msg, urn=None: found.append(msg))
    assert found == []
