"""Look-ups in the resource graph an offline run recorded (OfflineRun.resources), shared by the component tests."""

from __future__ import annotations

import re
from typing import Any


def of_type(run, typ: str) -> list[dict]:
    """Every recorded resource of type `typ`, in registration order."""
    return [r for r in run.resources if r["type"] == typ]


def one(run, typ: str) -> dict:
    """The one recorded resource of type `typ` (fails naming what was found otherwise)."""
    found = of_type(run, typ)
    assert len(found) == 1, f"expected one {typ}, found {[r['name'] for r in found]}"
    return found[0]


def camel(value: Any) -> Any:
    """pulumi-aws argument names (the pure builders') as the engine receives them: snake_case -> camelCase."""
    if isinstance(value, dict):
        return {re.sub(r"_([a-z0-9])", lambda m: m[1].upper(), k): camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value
