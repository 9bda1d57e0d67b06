"""Kubernetes objects for model serving, built as plain dicts from planning specs (no Pulumi)."""

from mlinfra.manifests.serving import build_model_objects, build_namespace_objects, build_serving_objects

__all__ = ["build_model_objects", "build_namespace_objects", "build_serving_objects"]
