"""Serving runtimes: which server runs a framework, its pinned image, ports, health paths, how it loads a model."""

from mlinfra.runtimes.catalog import MODEL_DIR, RUNTIMES, Runtime, runtime_for

__all__ = ["MODEL_DIR", "RUNTIMES", "Runtime", "runtime_for"]
