"""Find targets through the `mlinfra.targets` entry-point group (built-ins are registered the same way)."""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import entry_points

from mlinfra.targets.base import Target, TargetInfo

GROUP = "mlinfra.targets"


class TargetLoadError(Exception):
    """An installed target plugin could not be loaded."""


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[Target, TargetInfo], ...]:
    loaded: dict[str, tuple[Target, TargetInfo]] = {}
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # noqa: BLE001 - a broken plugin must be named, not crash the CLI
            raise TargetLoadError(
                f"target plugin '{ep.name}' ({ep.value}) failed to import: {type(exc).__name__}: {exc}"
            ) from None
        target = obj() if isinstance(obj, type) else obj
        if not isinstance(target, Target) or not target.name:
            raise TargetLoadError(
                f"target plugin '{ep.name}' ({ep.value}) is not a mlinfra.targets.Target with a name"
            )
        dist = ep.dist.name if ep.dist else "?"
        info = TargetInfo(name=target.name, title=target.title, source=ep.value, distribution=dist)
        if target.name in loaded:
            # a later plugin replaces a built-in of the same name: that is how a team swaps a component set
            info.notes.append(f"replaces {loaded[target.name][1].source} ({loaded[target.name][1].distribution})")
            if dist == "mlinfra" and loaded[target.name][1].distribution != "mlinfra":
                continue  # the plugin wins over the built-in whatever the order
        loaded[target.name] = (target, info)
    return tuple(loaded[name] for name in sorted(loaded))


def load_targets() -> list[Target]:
    """Every installed target, sorted by name."""
    return [t for t, _ in _load()]


def target_infos() -> list[TargetInfo]:
    return [i for _, i in _load()]


def get_target(name: str) -> Target:
    for target in load_targets():
        if target.name == name:
            return target
    known = ", ".join(t.name for t in load_targets())
    raise KeyError(f"unknown target '{name}'; installed: {known}")
