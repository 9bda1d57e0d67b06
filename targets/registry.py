"""Find targets through the `mlinfra.targets` entry-point group (built-ins are registered the same way).

A platform team adds a target, or replaces a built-in one, by installing a package that declares

    [project.entry-points."mlinfra.targets"]
    acme-nomad = "acme_nomad:NomadTarget"

The entry point's name is the target's name. A plugin target of the same name as a built-in replaces it
(that is how a team swaps a component set without forking); two plugins claiming one name are an error.
A plugin that cannot be imported is reported by name, distribution and cause - never as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target

GROUP = "mlinfra.targets"
BUILTIN_DISTRIBUTION = "mlinfra"


@dataclass(frozen=True)
class InstalledTarget:
    """One target as `mlinfra targets` shows it: where it comes from and what it replaces."""

    name: str
    title: str
    description: str
    source: str  # entry point value "module:attr"
    distribution: str
    version: str
    replaces: str = ""  # "<source> (<distribution> <version>)" of the built-in this plugin replaces

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "replaces": self.replaces or None,
        }


@dataclass(frozen=True)
class PluginProblem:
    """An installed entry point that could not be used as a target."""

    entry_point: str
    source: str
    distribution: str
    version: str
    message: str

    def __str__(self) -> str:
        return (
            f"target plugin '{self.entry_point}' ({self.source}) from distribution "
            f"{self.distribution} {self.version}: {self.message}"
        )

    def to_dict(self) -> dict[str, str]:
        return {
            "entry_point": self.entry_point,
            "source": self.source,
            "distribution": self.distribution,
            "version": self.version,
            "error": self.message,
        }


class TargetLoadError(Exception):
    """One or more installed target plugins could not be loaded; the message names each one and the fix."""

    def __init__(self, problems: list[PluginProblem]):
        self.problems = problems
        lines = [f"  {p}" for p in problems]
        n = len(problems)
        super().__init__(
            "\n".join(
                [f"{n} broken target plugin{'s' if n != 1 else ''} (entry-point group {GROUP}):", *lines]
                + ["Fix or uninstall the distribution named above (pip uninstall <distribution>)."]
            )
        )


@dataclass(frozen=True)
class _Scan:
    targets: tuple[tuple[Target, InstalledTarget], ...]
    problems: tuple[PluginProblem, ...]


def _dist(ep: EntryPoint) -> tuple[str, str]:
    """Name and version of the distribution declaring `ep` (its METADATA is parsed once per distribution)."""
    dist = getattr(ep, "dist", None)
    if dist is None:
        return "?", "?"
    found = _DISTS.get(id(dist))
    if found is None:
        meta = dist.metadata  # parses METADATA on every access: read it once
        found = _DISTS[id(dist)] = (meta.get("Name") or dist.name or "?", meta.get("Version") or dist.version or "?")
    return found


_DISTS: dict[int, tuple[str, str]] = {}


def _instantiate(ep: EntryPoint) -> Target:
    """Load one entry point; raises ValueError with the user-facing reason."""
    try:
        obj = ep.load()
    except Exception as exc:  # noqa: BLE001 - a broken plugin must be named, not crash the CLI
        raise ValueError(f"failed to import: {type(exc).__name__}: {exc}") from None
    try:
        target = obj() if isinstance(obj, type) else obj
    except Exception as exc:  # noqa: BLE001
        raise ValueError(f"failed to create the target: {type(exc).__name__}: {exc}") from None
    if not isinstance(target, Target):
        raise ValueError(f"{ep.value} is a {type(target).__name__}, not a subclass of mlinfra.targets.base.Target")
    if target.name != ep.name:
        raise ValueError(
            f"the target's name is '{target.name}' but its entry point is named '{ep.name}'; "
            "they must be the same"
        )
    return target


@lru_cache(maxsize=1)
def _scan() -> _Scan:
    found: dict[str, list[tuple[Target, InstalledTarget]]] = {}
    problems: list[PluginProblem] = []
    eps = sorted(entry_points(group=GROUP), key=lambda e: (e.name, _dist(e)[0] != BUILTIN_DISTRIBUTION, e.value))
    for ep in eps:
        dist, version = _dist(ep)
        try:
            target = _instantiate(ep)
        except ValueError as exc:
            problems.append(PluginProblem(ep.name, ep.value, dist, version, str(exc)))
            continue
        info = InstalledTarget(
            name=target.name,
            title=target.title or target.name,
            description=target.description,
            source=ep.value,
            distribution=dist,
            version=version,
        )
        found.setdefault(target.name, []).append((target, info))

    chosen: list[tuple[Target, InstalledTarget]] = []
    for name in sorted(found):
        builtins = [c for c in found[name] if c[1].builtin]
        plugins = [c for c in found[name] if not c[1].builtin]
        if len(plugins) > 1:
            who = " and ".join(f"{i.distribution} {i.version} ({i.source})" for _, i in plugins)
            first = plugins[0][1]
            message = f"target '{name}' is provided by {who}; uninstall all but one"
            problems.append(PluginProblem(name, first.source, first.distribution, first.version, message))
            continue
        if plugins and builtins:
            target, info = plugins[0]
            base = builtins[0][1]
            chosen.append((target, replace(info, replaces=f"{base.source} ({base.distribution} {base.version})")))
        else:
            chosen.append((plugins or builtins)[0])
    return _Scan(targets=tuple(chosen), problems=tuple(problems))


def reset() -> None:
    """Forget the cached scan (after installing or removing a plugin in the same process)."""
    _scan.cache_clear()


def installed() -> tuple[list[InstalledTarget], list[PluginProblem]]:
    """Every usable target and every broken plugin; never raises (for `mlinfra targets`)."""
    scan = _scan()
    return [i for _, i in scan.targets], list(scan.problems)


def load_targets() -> list[Target]:
    """Every installed target, sorted by name; raises TargetLoadError naming any broken plugin."""
    scan = _scan()
    if scan.problems:
        raise TargetLoadError(list(scan.problems))
    return [t for t, _ in scan.targets]


def get_target(name: str) -> Target:
    """The installed target called `name`; KeyError lists the installed names."""
    targets = load_targets()
    for target in targets:
        if target.name == name:
            return target
    known = ", ".join(t.name for t in targets)
    raise KeyError(f"unknown target '{name}'; installed: {known}")


def plan_for(profile: Profile, env: str, target: str) -> EnvironmentPlan:
    """The plan of `env` on the installed target called `target` (its planning hook applied)."""
    return get_target(target).plan(profile, env)
