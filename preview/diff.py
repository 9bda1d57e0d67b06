"""What differs between two environments: resources added/removed and changed inputs, from two offline previews.

Resources are paired by (type, name): names carry no environment, so the same model's Deployment pairs up.
Environment names inside values (namespace `churn-dev` vs `churn-prod`, labels) are written `<env>` on both
sides first, so the diff shows what really differs (replicas, PDBs, protection, alert routing, instance types).
Two stack outputs keep their environment names, which are their meaning there: `monitoring_stack` (which
environment installs the cluster's shared monitoring stack - typically prod, and dev only adds its rules) and
`alert_routes` (the owner's Alertmanager routes by environment), compared route by route, keyed by matchers.
"""

from __future__ import annotations

import re
from typing import Any

from mlinfra.guardrails.graph import Resource

ENV_TOKEN = "<env>"
VERBATIM_OUTPUTS = ("monitoring_stack", "alert_routes")  # environment names there are meaning, not noise


def _neutral(value: Any, pattern: re.Pattern[str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(ENV_TOKEN, value)
    if isinstance(value, dict):
        return {pattern.sub(ENV_TOKEN, k): _neutral(v, pattern) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutral(v, pattern) for v in value]
    return value


def _env_pattern(*envs: str) -> re.Pattern[str]:
    names = sorted({e for e in envs if e}, key=len, reverse=True)
    return re.compile(r"(?<![A-Za-z0-9])(" + "|".join(map(re.escape, names)) + r")(?![A-Za-z0-9])")


_MISSING = object()


def _changes(a: Any, b: Any, path: str = "") -> list[dict[str, Any]]:
    """Nested diff; a subtree present on one side only is one change (not one row per leaf)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            out += _changes(a.get(key, _MISSING), b.get(key, _MISSING), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [c for i, (x, y) in enumerate(zip(a, b)) for c in _changes(x, y, f"{path}[{i}]")]
    if a == b:
        return []
    return [{"path": path, "a": None if a is _MISSING else a, "b": None if b is _MISSING else b}]


def _comparable(res: Resource, pattern: re.Pattern[str]) -> dict[str, Any]:
    return {"inputs": _neutral(res["inputs"], pattern), "options": {"protect": res["options"]["protect"]}}


def _outputs(outputs: dict[str, Any], pattern: re.Pattern[str]) -> dict[str, Any]:
    out = {k: v if k in VERBATIM_OUTPUTS else _neutral(v, pattern) for k, v in outputs.items()}
    routes = out.get("alert_routes")
    if isinstance(routes, list) and all(isinstance(r, dict) and "receiver" in r for r in routes):
        out["alert_routes"] = {
            "{" + ", ".join(r.get("matchers") or []) + "}": f"{r['receiver']} ({', '.join(r.get('integrations') or []) or '-'})"
            for r in routes
        }
    return out


def diff_previews(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Diff two `PreviewReport.as_dict()` results (plain data in, plain data out)."""
    pattern = _env_pattern(a["environment"], b["environment"])
    ra = {(r["type"], r["name"]): r for r in a["resources"]}
    rb = {(r["type"], r["name"]): r for r in b["resources"]}
    changed = []
    for key in sorted(set(ra) & set(rb)):
        changes = _changes(_comparable(ra[key], pattern), _comparable(rb[key], pattern))
        if changes:
            changed.append({"type": key[0], "name": key[1], "changes": changes})
    outputs = _changes(_outputs(a["outputs"], pattern), _outputs(b["outputs"], pattern))
    return {
        "a": {"environment": a["environment"], "target": a["target"], "resources": len(ra)},
        "b": {"environment": b["environment"], "target": b["target"], "resources": len(rb)},
        "added": [{"type": t, "name": n} for t, n in sorted(set(rb) - set(ra))],
        "removed": [{"type": t, "name": n} for t, n in sorted(set(ra) - set(rb))],
        "changed": changed,
        "outputs": outputs,
        "env_token": ENV_TOKEN,
    }


def diff_rows(diff: dict[str, Any]) -> list[tuple[str, str, str, Any, Any]]:
    """Flat rows (change, resource, path, A, B) for a table: + added in B, - removed, ~ changed."""
    rows: list[tuple[str, str, str, Any, Any]] = []
    rows += [("+", f"{r['type']} {r['name']}", "", None, None) for r in diff["added"]]
    rows += [("-", f"{r['type']} {r['name']}", "", None, None) for r in diff["removed"]]
    for r in diff["changed"]:
        rows += [("~", f"{r['type']} {r['name']}", c["path"], c["a"], c["b"]) for c in r["changes"]]
    rows += [("~", "stack outputs", c["path"], c["a"], c["b"]) for c in diff["outputs"]]
    return rows
