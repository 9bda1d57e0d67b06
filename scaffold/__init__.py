"""`mlinfra init`: scaffold a team's infrastructure repository from a profile (templates, manifest, safe writes)."""

from mlinfra.scaffold.render import GeneratedFile, generate
from mlinfra.scaffold.manifest import MANIFEST, Step, write_scaffold

__all__ = ["MANIFEST", "GeneratedFile", "Step", "generate", "write_scaffold"]
