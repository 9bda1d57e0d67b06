"""mlinfra's guardrails as a Pulumi policy pack: `pulumi preview --policy-pack guardrails/policypack`.

The policies live in mlinfra.components.policy_pack (installed with mlinfra, so a project scaffolded by
`mlinfra init` serves the same pack from its own `policypack/`): one mandatory stack policy per check `mlinfra
preview` runs. The profile's context comes from the stack's mlinfra environment component; policy config may
override it; secret config values, which the engine hands the pack decrypted, are told apart from literals.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyPack

from mlinfra.components.policy_pack import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies(), enforcement_level=EnforcementLevel.MANDATORY)
