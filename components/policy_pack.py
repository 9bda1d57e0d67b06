"""mlinfra's guardrails as Pulumi policies, and a stack handed to them the way the engine hands it.

`policies()` is what the policy pack serves (guardrails/policypack/__main__.py, and the `policypack/` that
`mlinfra init` writes); every policy runs one of the checks `mlinfra preview` runs (mlinfra.guardrails.checks).
`analyze_stack` feeds an offline run to the same policies as `pulumi preview --policy-pack` does, with the
libraries' own code: the engine marshals each resource's properties with secrets wrapped and unknowns as
sentinels (KeepSecrets, KeepUnknowns), and pulumi-policy's analyzer turns them into read-only Mapping/Sequence
proxies (`deserialize_properties`, which unwraps the secrets, then `unknown_checking_proxy`, which raises
UnknownValueError when a policy reads a value that is unknown during preview). The engine also hands the pack the
stack's config, secrets decrypted, in PULUMI_CONFIG.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyCustomTimeouts,
    PolicyProviderResource,
    PolicyResource,
    PolicyResourceOptions,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties, serialize_properties
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from mlinfra.guardrails.checks import CHECKS, run_check
from mlinfra.guardrails.context import GuardrailContext, context_from_graph
from mlinfra.guardrails.graph import Resource, from_policy_resources, mark_secrets

PACK_NAME = "mlinfra-guardrails"
SECRETS_CHECK = "secrets"

CONFIG_SCHEMA = PolicyConfigSchema(
    properties={
        "sovereignty": {"type": "string", "enum": ["none", "eu", "on_premise"]},
        "exposure": {"type": "string", "enum": ["private", "internal", "public"]},
        "protectStateful": {"type": "boolean"},
        "allowedRegions": {"type": "array", "items": {"type": "string"}},
    }
)
# Outside an mlinfra stack the secret check still applies: it needs no profile context.
NEUTRAL = GuardrailContext(
    profile="", environment="", tier="", target="", sovereignty="none", exposure="public",
    protect_stateful=False, allowed_regions=None,
)

ConfigSource = Callable[[], Mapping[str, Any]]  # the stack's config, {"<project>:<key>": value}


def stack_config() -> Mapping[str, Any]:
    """The stack's config as the engine hands it to a policy pack (PULUMI_CONFIG, secrets decrypted)."""
    return pulumi.runtime.get_config_env()


def secret_config_values(ctx: GuardrailContext, config: Mapping[str, Any]) -> list[str]:
    """The values of the secret config keys the profile names (the environment component lists the names)."""
    keys = set(ctx.secret_keys)
    return sorted({str(v) for k, v in config.items() if str(k).partition(":")[2] in keys and v})


def stack_validator(check_id: str, config: ConfigSource = stack_config, notes: list[str] | None = None,
                    converted: dict[int, tuple[list[Resource], list[str]]] | None = None):
    """A StackValidation callback running one shared check over the whole stack.

    Values unknown during preview (a computed output such as the Helm release's `status` on the first deploy) are
    left out and named in `notes`; the check runs on everything known instead of being downgraded to an advisory.
    `converted`: a cache for a caller that hands every policy the same resources (analyze_stack)."""

    def validate(args: StackValidationArgs, report_violation) -> None:
        key = id(args.resources)
        if converted is not None and key in converted:
            graph, skipped = converted[key]
        else:
            skipped = []
            graph = from_policy_resources(args.resources, unknown=(UnknownValueError,), skipped=skipped)
            if converted is not None:
                converted[key] = graph, skipped
        note = "unknown until the update, not checked: " + "; ".join(skipped)
        if notes is not None and skipped and note not in notes:  # every policy sees the same stack
            notes.append(note)
        overrides = {k: v for k, v in dict(args.get_config() or {}).items() if k in CONFIG_SCHEMA.properties}
        ctx = context_from_graph(graph, overrides)
        if ctx is None and check_id != SECRETS_CHECK:
            return  # no mlinfra environment and no config: nothing here is bound to a profile
        if check_id == SECRETS_CHECK:
            # pulumi-policy hands the policy unwrapped secrets: mark again what came from the secret config
            ctx = ctx or NEUTRAL
            graph = mark_secrets(graph, secret_config_values(ctx, config()))
        for v in run_check(check_id, graph, ctx).violations:
            report_violation(f"{v.resource}: {v.message}", v.urn)

    return validate


def policies(config: ConfigSource = stack_config, notes: list[str] | None = None,
             converted: dict[int, tuple[list[Resource], list[str]]] | None = None) -> list[StackValidationPolicy]:
    """One mandatory stack policy per shared check."""
    return [
        StackValidationPolicy(
            name=f"mlinfra-{check_id}",
            description=title,
            validate=stack_validator(check_id, config, notes, converted),
            enforcement_level=EnforcementLevel.MANDATORY,
            config_schema=CONFIG_SCHEMA,
        )
        for check_id, title, _fn in CHECKS
    ]


# ---------------------------------------------------------------------------------------------------------
# the engine's side, for `mlinfra preview` and the tests


def engine_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """What a policy reads: properties as the engine marshals them (a protobuf Struct, secrets wrapped, unknowns as
    sentinels), through pulumi-policy's own deserialisation and unknown-checking proxy."""
    struct = struct_pb2.Struct()
    struct.update(dict(serialize_properties(dict(properties))))
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def policy_resources(graph: Iterable[Resource], properties: Mapping[str, Mapping[str, Any]]) -> list[PolicyResource]:
    """PolicyResources as pulumi-policy's AnalyzeStack builds them: `properties` per URN in the engine's wire
    format (the offline run's raw inputs), parent and dependencies linked to the other resources."""
    graph = list(graph)
    by_urn = {r["urn"]: r for r in graph}
    out: dict[str, PolicyResource] = {}
    for r in graph:
        prov = by_urn.get(r["provider"] or "")
        provider = (PolicyProviderResource(prov["type"], engine_properties(properties.get(prov["urn"], prov["inputs"])),
                                           prov["urn"], prov["name"]) if prov else None)
        opts = PolicyResourceOptions(
            protect=r["options"]["protect"], ignore_changes=[], delete_before_replace=None, aliases=[],
            custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[], parent=r["parent"],
        )
        props = engine_properties(properties.get(r["urn"], r["inputs"]))
        out[r["urn"]] = PolicyResource(r["type"], props, r["urn"], r["name"], opts, provider, None, [], {})
    for r in graph:
        out[r["urn"]].parent = out.get(r["parent"] or "")
        out[r["urn"]].dependencies = [out[u] for u in r["options"]["depends_on"] if u in out]
    return list(out.values())


@dataclass
class PackResult:
    """What the engine would print for the pack: mandatory violations, and notes (values it could not check)."""

    violations: list[dict[str, Any]] = field(default_factory=list)  # {"policy", "message", "urn"}
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {"pack": PACK_NAME, "passed": self.passed, "violations": self.violations, "notes": self.notes}


def analyze_stack(
    resources: list[PolicyResource], config: Mapping[str, Any], policy_config: Mapping[str, Any] | None = None
) -> PackResult:
    """Run every stack policy as pulumi-policy's AnalyzeStack does (an UnknownValueError escaping a policy becomes
    an advisory note, as the analyzer reports it); `config`: the stack's config, as the engine hands it."""
    result = PackResult()
    for policy in policies(lambda: config, result.notes, converted={}):  # `resources` stays alive: ids are stable
        def report(message: str, urn: str | None = None, _name: str = policy.name) -> None:
            result.violations.append({"policy": _name, "message": message, "urn": urn})

        try:
            policy.validate(StackValidationArgs(resources, dict(policy_config or {}) or None), report)
        except UnknownValueError as exc:
            result.notes.append(f"{policy.name}: can't run during preview: {exc.message} (advisory)")
    return result
