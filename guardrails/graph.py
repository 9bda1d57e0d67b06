"""The registered resource graph as plain data: what `preview`, the tests and the policy pack check.

One resource is a dict:
    {"type", "name", "urn", "parent" (URN or None), "custom" (bool), "provider" (provider URN or None),
     "inputs" (dict, secrets replaced by SECRET_MARK, integral floats as ints), "options": {"protect", "depends_on"}}
Pure module: the Pulumi side (components/offline.py, guardrails/policypack) converts its objects into this.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

SECRET_MARK = "[secret]"  # a Pulumi secret input, value withheld

Resource = dict[str, Any]


def normalise(value: Any) -> Any:
    """Mock outputs carry numbers as floats: integral floats become ints, recursively (bools untouched)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    return value


def resource(
    *,
    type: str,  # noqa: A002 - the graph's own field name
    name: str,
    urn: str,
    parent: str | None = None,
    custom: bool = True,
    provider: str | None = None,
    inputs: dict[str, Any] | None = None,
    protect: bool = False,
    depends_on: Iterable[str] = (),
) -> Resource:
    """Build one graph entry (tests and adapters use this so the shape lives in one place)."""
    return {
        "type": type,
        "name": name,
        "urn": urn,
        "parent": parent or None,
        "custom": custom,
        "provider": provider or None,
        "inputs": normalise(inputs or {}),
        "options": {"protect": bool(protect), "depends_on": sorted(set(depends_on))},
    }


def kube_type_token(api_version: str, kind: str) -> str:
    """Pulumi type token of a Kubernetes object: `kubernetes:apps/v1:Deployment`, `kubernetes:core/v1:Secret`."""
    group, _, version = api_version.rpartition("/")
    return f"kubernetes:{group or 'core'}/{version}:{kind}"


def provider_urn(reference: str | None) -> str | None:
    """A provider reference is `<urn>::<id>`; keep the URN."""
    if not reference:
        return None
    urn, sep, _id = reference.rpartition("::")
    return urn if sep and urn.startswith("urn:") else reference


def label(res: Resource) -> str:
    """How a resource is named in messages: `<type> <name>`."""
    return f"{res['type']} {res['name']}"


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf of a nested input value with its dotted path (list items as [i])."""
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            yield from walk(value[key], f"{path}.{key}" if path else str(key))
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")
    else:
        yield path, value


def kube_kind(res: Resource) -> str | None:
    """`Deployment` for `kubernetes:apps/v1:Deployment`; None for anything not a Kubernetes object."""
    t = res["type"]
    if not t.startswith("kubernetes:") or t.startswith("kubernetes:helm.sh/"):
        return None
    return t.rsplit(":", 1)[-1]


def kube_object_key(res: Resource) -> tuple[str, str, str] | None:
    """(group/kind, namespace, name) of a Kubernetes object, None when it is auto-named or not Kubernetes."""
    if kube_kind(res) is None:
        return None
    meta = res["inputs"].get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    group_kind = res["type"].split(":", 1)[1].rsplit(":", 1)
    group = group_kind[0].rsplit("/", 1)[0]
    return f"{group}/{group_kind[1]}", str(meta.get("namespace") or ""), name


def plain(value: Any, path: str = "", *, unknown: tuple[type[BaseException], ...] = (),
          skipped: list[str] | None = None) -> Any:
    """A policy runtime's value as plain data: its read-only Mapping/Sequence proxies become dict/list, recursively.

    Reading an item the engine does not know yet (a computed output during preview) raises one of `unknown`
    (pulumi_policy's UnknownValueError, handed in by the caller: this module imports no Pulumi); that item is
    left out and its dotted path appended to `skipped`, so the checks run on everything that is known."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in list(value):
            here = f"{path}.{key}" if path else str(key)
            try:
                item = value[key]
            except unknown:
                if skipped is not None:
                    skipped.append(here)
                continue
            out[key] = plain(item, here, unknown=unknown, skipped=skipped)
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for i in range(len(value)):
            try:
                item = value[i]
            except unknown:
                if skipped is not None:
                    skipped.append(f"{path}[{i}]")
                continue
            items.append(plain(item, f"{path}[{i}]", unknown=unknown, skipped=skipped))
        return items
    return value


def from_policy_resources(
    resources: Iterable[Any], *, unknown: tuple[type[BaseException], ...] = (), skipped: list[str] | None = None
) -> list[Resource]:
    """Convert pulumi_policy PolicyResource objects (duck-typed: no import here) into graph entries.

    Their props are pulumi_policy's proxies (see `plain`); every value left out as unknown is appended to
    `skipped` as `<type> <name>: <path>`."""
    graph = []
    for r in resources:
        opts = getattr(r, "opts", None)
        parent = getattr(r, "parent", None)
        provider = getattr(r, "provider", None)
        unknowns: list[str] = []
        inputs = plain(r.props or {}, unknown=unknown, skipped=unknowns)
        if skipped is not None:
            skipped += [f"{r.resource_type} {r.name}: {path}" for path in unknowns]
        graph.append(
            resource(
                type=r.resource_type,
                name=r.name,
                urn=r.urn,
                parent=getattr(parent, "urn", None),
                custom=provider is not None or r.resource_type.startswith("pulumi:providers:"),
                provider=getattr(provider, "urn", None),
                inputs=inputs,
                protect=bool(getattr(opts, "protect", False)),
                depends_on=[d.urn for d in (getattr(r, "dependencies", None) or [])],
            )
        )
    return graph


def mark_secrets(graph: list[Resource], values: Iterable[str]) -> list[Resource]:
    """The graph with every string that holds one of `values` (the stack's secret config values) replaced by
    SECRET_MARK: the engine sends secrets marked, and pulumi_policy unwraps them before a policy sees them; the
    program reads these keys only as Pulumi secrets, so a value that holds one was a secret on the wire."""
    needles = [v for v in values if v]

    def visit(value: Any) -> Any:
        if isinstance(value, str):
            return SECRET_MARK if any(n in value for n in needles) else value
        if isinstance(value, dict):
            return {k: visit(v) for k, v in value.items()}
        if isinstance(value, list):
            return [visit(v) for v in value]
        return value

    if not needles:
        return graph
    return [{**r, "inputs": visit(r["inputs"])} for r in graph]


# ---------------------------------------------------------------------------------------------------------
# URNs as the engine forms them, and what aliases keep

ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def urn_parts(urn: str) -> tuple[str, str, str, str]:
    """(stack, project, qualified type, name) of `urn:pulumi:<stack>::<project>::<qualified type>::<name>`."""
    head, project, qualified, name = urn.split("::", 3)
    return head.removeprefix("urn:pulumi:"), project, qualified, name


def _qualified(types: list[str]) -> str:
    return "$".join(t for t in types if t != ROOT_STACK_TYPE)


def engine_urns(graph: list[Resource], aliases: dict[str, list[dict[str, Any]]] | None = None) -> dict[str, set[str]]:
    """{URN the engine gives each resource: URNs its aliases keep} for a recorded graph.

    The engine's URN qualifies a type with every ancestor's type (the mocks only with the parent's), and a
    resource inherits its ancestors' aliases: renaming a component's type moves its whole subtree. `aliases`:
    recorded alias specs per (mock) URN, each {"urn"} or {"name", "type", "parent" (URN or None), "no_parent"}."""
    by_urn = {r["urn"]: r for r in graph}
    chains: dict[str, list[str]] = {}  # mock URN -> types from the top ancestor down to the resource

    def chain(urn: str) -> list[str]:
        if urn not in chains:
            r = by_urn[urn]
            parent = r["parent"] if r["parent"] in by_urn else None
            chains[urn] = [*(chain(parent) if parent else []), r["type"]]
        return chains[urn]

    def urn_of(stack: str, project: str, types: list[str], name: str) -> str:
        return f"urn:pulumi:{stack}::{project}::{_qualified(types)}::{name}"

    out: dict[str, set[str]] = {}
    kept: dict[str, set[tuple[str, ...]]] = {}  # mock URN -> former (types..., name) tuples, ancestors included

    def former(urn: str) -> set[tuple[str, ...]]:
        if urn in kept:
            return kept[urn]
        r = by_urn[urn]
        parent = r["parent"] if r["parent"] in by_urn else None
        parent_now = tuple(chain(parent)) if parent else ()
        parents = {parent_now} | ({f[:-1] for f in former(parent)} if parent else set())
        found: set[tuple[str, ...]] = set()
        for p in parents - {parent_now}:  # inherited: an ancestor's former identity, this resource's own
            found.add((*p, r["type"], r["name"]))
        for spec in (aliases or {}).get(urn, []):
            if spec.get("urn"):
                _s, _p, qualified, name = urn_parts(spec["urn"])
                found.add((*qualified.split("$"), name))
                continue
            typ, name = spec.get("type") or r["type"], spec.get("name") or r["name"]
            if spec.get("no_parent"):
                bases = {()}
            elif spec.get("parent"):
                bases = {tuple(chain(spec["parent"]))} if spec["parent"] in by_urn else \
                    {tuple(urn_parts(spec["parent"])[2].split("$"))}
            else:
                bases = parents
            found |= {(*b, typ, name) for b in bases}
        kept[urn] = {f for f in found if f != (*chain(urn), r["name"])}
        return kept[urn]

    for r in graph:
        stack, project, _q, _n = urn_parts(r["urn"])
        out[urn_of(stack, project, chain(r["urn"]), r["name"])] = {
            urn_of(stack, project, list(f[:-1]), f[-1]) for f in former(r["urn"])
        }
    return out
