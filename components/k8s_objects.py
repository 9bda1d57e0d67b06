"""Map plain Kubernetes object dicts (from the pure builders) onto pulumi_kubernetes resources, one to one.

Typed classes for built-in API groups (`apps/v1` -> pulumi_kubernetes.apps.v1.Deployment), CustomResource for
everything else (ServiceMonitor, PrometheusRule). The dicts are passed through unchanged, so the inputs Pulumi
registers are the objects `mlinfra render` writes.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.conventions import child_name
from mlinfra.guardrails.graph import kube_type_token
from mlinfra.guardrails.stateful import is_stateful

_BUILTIN_GROUP = re.compile(r"^([a-z]+)(\.k8s\.io|\.authorization\.k8s\.io)?$")


def _typed_class(api_version: str, kind: str) -> type | None:
    group, _, version = api_version.rpartition("/")
    match = _BUILTIN_GROUP.match(group) if group else None
    module = "core" if not group else (match.group(1) if match else None)
    if module is None:
        return None
    try:
        return getattr(importlib.import_module(f"pulumi_kubernetes.{module}.{version}"), kind)
    except (ImportError, AttributeError):
        return None


def _snake(field: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def kebab(kind: str) -> str:
    """`HorizontalPodAutoscaler` -> `horizontal-pod-autoscaler`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()


def role_of(obj: Mapping[str, Any], primary: str) -> str:
    """Child role of an object: its kind, plus its name when that is not the component's primary name."""
    name = (obj.get("metadata") or {}).get("name")
    kind = kebab(obj["kind"])
    return kind if name in (None, primary) else f"{kind}-{name}"


def create_object(
    resource_name: str,
    obj: Mapping[str, Any],
    opts: pulumi.ResourceOptions,
    *,
    protect: bool = False,
    namespaces: Mapping[str, pulumi.Input[str]] | None = None,
) -> pulumi.CustomResource:
    """One object -> one resource. `namespaces` swaps a namespace name for the Namespace resource's output
    (same value, plus the dependency); `protect` applies only to stateful kinds."""
    body = dict(obj)  # shallow: values may be Outputs (secrets), and metadata is replaced, never mutated
    api_version, kind = body.pop("apiVersion"), body.pop("kind")
    meta = body.get("metadata") or {}
    if namespaces and meta.get("namespace") in namespaces:
        body["metadata"] = {**meta, "namespace": namespaces[meta["namespace"]]}
    if protect and is_stateful(kube_type_token(api_version, kind)):
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=True))
    cls = _typed_class(api_version, kind)
    if cls is None:
        extra = set(body) - {"metadata", "spec"}
        if extra:
            raise ValueError(f"{kind} {meta.get('name')}: custom resources take metadata and spec only, got {sorted(extra)}")
        return k8s.apiextensions.CustomResource(
            resource_name, api_version=api_version, kind=kind, metadata=body.get("metadata"), spec=body.get("spec"),
            opts=opts,
        )
    # top-level fields become the typed class's keyword arguments: stringData -> string_data
    return cls(resource_name, opts=opts, **{_snake(k): v for k, v in body.items()})


def create_objects(
    component: str,
    objects: Iterable[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
    *,
    primary: str,
    protect: bool = False,
    namespaces: Mapping[str, pulumi.Input[str]] | None = None,
) -> dict[str, pulumi.CustomResource]:
    """Every object as a child named `child_name(component, role)`; returns {role: resource}."""
    created: dict[str, pulumi.CustomResource] = {}
    for obj in objects:
        role = role_of(obj, primary)
        if role in created:
            raise ValueError(f"{component}: two objects would both be named '{child_name(component, role)}'")
        created[role] = create_object(child_name(component, role), obj, opts, protect=protect, namespaces=namespaces)
    return created
