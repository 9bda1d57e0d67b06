"""mlinfra's guardrails as a Pulumi policy pack: `pulumi preview --policy-pack guardrails/policypack`.

Every policy calls the same functions `mlinfra preview` runs (mlinfra.guardrails.checks), over the same plain
graph (mlinfra.guardrails.graph). The profile's context comes from the stack's mlinfra environment component;
policy config may override it. Secrets check per resource (no context needed), everything else per stack.
"""

from __future__ import annotations

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

from mlinfra.guardrails.checks import CHECKS, check_no_plain_secrets, run_check
from mlinfra.guardrails.context import GuardrailContext, context_from_graph
from mlinfra.guardrails.graph import from_policy_resources, from_resource_args

PACK_NAME = "mlinfra-guardrails"
PER_RESOURCE = "secrets"

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


def stack_validator(check_id: str):
    """A StackValidation callback running one shared check over the whole stack."""

    def validate(args, report_violation) -> None:
        graph = from_policy_resources(args.resources)
        overrides = {k: v for k, v in dict(args.get_config() or {}).items() if k in CONFIG_SCHEMA.properties}
        ctx = context_from_graph(graph, overrides)
        if ctx is None:
            return  # no mlinfra environment and no config: nothing here is bound to a profile
        for v in run_check(check_id, graph, ctx).violations:
            report_violation(f"{v.resource}: {v.message}", v.urn)

    return validate


def validate_secrets(args, report_violation) -> None:
    """ResourceValidation: no secret value in this resource's plain inputs."""
    for v in check_no_plain_secrets([from_resource_args(args)], NEUTRAL).violations:
        report_violation(v.message, None)


def policies() -> list:
    out: list = [
        ResourceValidationPolicy(
            name=f"mlinfra-{PER_RESOURCE}",
            description=next(title for cid, title, _fn in CHECKS if cid == PER_RESOURCE),
            validate=validate_secrets,
            enforcement_level=EnforcementLevel.MANDATORY,
        )
    ]
    for check_id, title, _fn in CHECKS:
        if check_id != PER_RESOURCE:
            out.append(
                StackValidationPolicy(
                    name=f"mlinfra-{check_id}",
                    description=title,
                    validate=stack_validator(check_id),
                    enforcement_level=EnforcementLevel.MANDATORY,
                    config_schema=CONFIG_SCHEMA,
                )
            )
    return out


PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
