"""`mlinfra init`: scaffold a team's infrastructure repository from a profile (templates, manifest, safe writes)."""

from mlinfra.scaffold.render import GeneratedFile, generate
from mlinfra.scaffold.manifest import MANIFEST, ScaffoldError, Step, apply, plan

__all__ = ["MANIFEST", "GeneratedFile", "ScaffoldError", "Step", "apply", "generate", "plan"]
