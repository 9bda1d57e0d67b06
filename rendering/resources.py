"""`aws/resources.yaml` (or any target's `graph_file`): what `pulumi up` would register, as the program itself
registers it under Pulumi's mocks - every resource's type, logical name, parent, provider and inputs, secrets
masked. Kubernetes objects and the Helm release are left out: `render` writes them as themselves.

The program runs offline (mlinfra.program.run_offline; the CLI hands the run in, this layer sits below the
program), so the file is what the components create, not a second description of it. Values only AWS knows
(ARNs, generated names, endpoints) are the mocks' stand-ins: the same on every run, recognisable as fake
(account 123456789012, `-mock` name suffixes).
"""

from __future__ import annotations

from typing import Any

from mlinfra.files.dump import to_yaml
from mlinfra.files.rendered import RenderedFile
from mlinfra.guardrails import context_from_graph, run_guardrails
from mlinfra.guardrails.graph import Resource

KUBERNETES_OBJECT = "kubernetes:"  # kubernetes:<group>/<version>:<Kind>; the provider is pulumi:providers:kubernetes
HEADER = (
    "# Every resource `pulumi up` registers for this environment, from an offline run of the program under Pulumi's\n"
    "# mocks: type, logical name, parent, provider, options and inputs. Secrets read [secret]; values only the\n"
    "# cloud knows (ARNs, generated names) are the mocks' stand-ins (account 123456789012, '-mock' suffixes).\n"
    "# Kubernetes objects and the Helm release are rendered as themselves (kubernetes/, helm/, prometheus/, ...).\n"
)


def resource_graph(resources: list[Resource]) -> list[dict[str, Any]]:
    """The graph in tree order (each parent before its children, siblings by name: registration order varies
    between runs, this does not), parents and providers by logical name (names are unique per stack)."""
    names = {r["urn"]: r["name"] for r in resources}
    children: dict[str | None, list[Resource]] = {}
    for r in resources:
        if not r["type"].startswith(KUBERNETES_OBJECT):
            children.setdefault(r["parent"] if r["parent"] in names else None, []).append(r)
    out: list[dict[str, Any]] = []

    def visit(parent: str | None) -> None:
        for r in sorted(children.get(parent, ()), key=lambda r: (r["name"], r["type"])):
            out.append(_entry(r, names))
            visit(r["urn"])

    visit(None)
    return out


def _entry(r: Resource, names: dict[str, str]) -> dict[str, Any]:
    entry: dict[str, Any] = {"type": r["type"], "name": r["name"]}
    if r["parent"] in names:
        entry["parent"] = names[r["parent"]]
    provider = r.get("provider") or ""
    provider = provider if provider in names else provider.rpartition("::")[0]
    if provider in names:
        entry["provider"] = names[provider]
    options = r.get("options") or {}
    if options.get("protect"):
        entry["protect"] = True
    depends = sorted(names[u] for u in options.get("depends_on") or () if u in names)
    if depends:
        entry["depends_on"] = depends
    if r["inputs"]:
        entry["inputs"] = r["inputs"]
    return entry


def resource_graph_file(path: str, environment: str, target: str, resources: list[Resource]) -> RenderedFile:
    graph = resource_graph(resources)
    document = {"environment": environment, "target": target, "resources": graph}
    return RenderedFile(path, HEADER + to_yaml(document))


def guardrail_violations(resources: list[Resource], secret_values: dict[str, str]) -> list[str]:
    """What the guardrails `preview` runs find in the registered graph (empty: the render may be written)."""
    ctx = context_from_graph(resources)
    if ctx is None:  # no environment component recorded its context: nothing to bind the checks to
        return []
    return [f"{v.resource}: {v.message}" for c in run_guardrails(resources, ctx.with_secrets(secret_values))
            for v in c.violations]
