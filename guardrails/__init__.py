"""Guardrails bound to the profile: pure checks over the registered resource graph (preview, tests, policy pack)."""

from mlinfra.guardrails.checks import CHECKS, CheckResult, Violation, run_check, run_guardrails
from mlinfra.guardrails.context import GuardrailContext, context_for, context_from_graph, context_inputs

__all__ = [
    "CHECKS",
    "CheckResult",
    "GuardrailContext",
    "Violation",
    "context_for",
    "context_from_graph",
    "context_inputs",
    "run_check",
    "run_guardrails",
]
