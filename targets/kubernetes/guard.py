"""The guardrails `preview` runs, over what `render` writes: a render that breaks one is refused, naming it."""

from __future__ import annotations

from typing import Any

import yaml

from mlinfra.files.rendered import RenderedFile
from mlinfra.guardrails.checks import check_exposure, check_no_plain_secrets, check_unique_objects
from mlinfra.guardrails.context import context_for
from mlinfra.guardrails.graph import kube_type_token, resource
from mlinfra.monitoring.objects import MAX_OBJECT_BYTES, object_bytes
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when present: ~10x faster

# the checks that apply to Kubernetes objects and Helm values (the others look at cloud resources and options)
CHECKS = (("exposure", check_exposure), ("secrets", check_no_plain_secrets), ("unique objects", check_unique_objects))


def rendered_graph(files: list[RenderedFile]) -> list[dict[str, Any]]:
    """The rendered Kubernetes objects (and the Helm values as the release's input) as guardrail resources."""
    graph = []
    for f in files:
        if f.path.startswith("kubernetes/"):
            for i, obj in enumerate(d for d in yaml.load_all(f.text, Loader=_LOADER) if d):
                meta = obj.get("metadata") or {}
                name = f"{meta.get('namespace', '')}/{meta.get('name', i)}"
                graph.append(resource(type=kube_type_token(obj["apiVersion"], obj["kind"]), name=name,
                                      urn=f"render::{f.path}::{obj['kind']}::{name}", inputs=obj))
        elif f.path.startswith("helm/"):
            graph.append(resource(type="kubernetes:helm.sh/v3:Release", name=f.path, urn=f"render::{f.path}",
                                  inputs={"values": yaml.load(f.text, Loader=_LOADER) or {}}))
    return graph


def guard_render(profile: Profile, plan: EnvironmentPlan, files: list[RenderedFile]) -> None:
    """ValueError listing every violation of the Kubernetes guardrails in the rendered files."""
    ctx = context_for(profile, plan.environment, tier=plan.tier, protect=plan.protect, target=plan.target)
    graph = rendered_graph(files)
    too_big = [
        f"{r['inputs']['kind']} {r['name']} is {object_bytes(r['inputs']):,} bytes; the API accepts objects up to "
        f"{MAX_OBJECT_BYTES:,} bytes through `kubectl apply` (etcd refuses 1.5 MiB): split the profile's models "
        "over more profiles, or shorten what makes it this big"
        for r in graph if r["type"].startswith("kubernetes:") and "kind" in r["inputs"]
        and object_bytes(r["inputs"]) > MAX_OBJECT_BYTES
    ]
    if too_big:
        raise ValueError("; ".join(too_big))
    found = [v for _, check in CHECKS for v in check(graph, ctx).violations]
    if found:
        listed = "; ".join(f"{v.resource}: {v.message}" for v in found[:10])
        more = f" (and {len(found) - 10} more)" if len(found) > 10 else ""
        raise ValueError(f"the render breaks mlinfra's guardrails, nothing was written: {listed}{more}")
