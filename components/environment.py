"""Environment: the parent of everything one stack deploys; its inputs state the guardrail context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from mlinfra.conventions import TYPE_ENVIRONMENT


@dataclass(frozen=True, kw_only=True)
class EnvironmentArgs:
    # guardrails.context_inputs(...): profile, environment, tier, target, sovereignty, exposure, protection
    context: dict[str, Any] = field(default_factory=dict)


class Environment(pulumi.ComponentResource):
    """Groups one environment's resources; the policy pack reads the context from its registered inputs."""

    def __init__(self, name: str, args: EnvironmentArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(TYPE_ENVIRONMENT, name, dict(args.context), opts)
        # as outputs too: a policy pack's stack validation sees a component's outputs, not its inputs
        self.register_outputs(dict(args.context))
