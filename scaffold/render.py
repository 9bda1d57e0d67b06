"""Render the files of a team's infrastructure repository from a profile (pure: returns bytes, writes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from mlinfra.decision.adr import render_adr
from mlinfra.files.templates import environment as template_environment
from mlinfra.profiles.model import Profile
from mlinfra.targets.registry import get_target
from mlinfra.targets.resolve import decision_for
from mlinfra.scaffold.context import POLICY_PACK_DIR, ScaffoldContext, build_context, dashboard_of

if TYPE_CHECKING:  # pragma: no cover
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
ADR_PATH = "docs/decisions/0001-target.md"


@dataclass(frozen=True)
class GeneratedFile:
    """One file of the scaffold: path relative to the repository root, exact bytes, what it is."""

    path: str
    content: bytes
    about: str


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    return template_environment(TEMPLATES)


def render_template(name: str, context: ScaffoldContext, **extra: object) -> str:
    return environment().get_template(name).render(**context.as_template_vars(), **extra)


def generate(profile_path: Path, profile: Profile) -> list[GeneratedFile]:
    """Every file `mlinfra init` writes, in a fixed order; the profile is copied byte for byte."""
    decision = decision_for(profile)  # the same decision `mlinfra decide` and every stack's program make
    target = get_target(decision.target) if decision.target else None
    ctx = build_context(profile, target)
    files = [
        GeneratedFile(ctx.profile_file, Path(profile_path).read_bytes(), "requirements profile (copied)"),
        _text("Pulumi.yaml", render_template("Pulumi.yaml.j2", ctx), "Pulumi project"),
        _text("__main__.py", render_template("__main__.py.j2", ctx), "Pulumi program (mlinfra's)"),
        _text("requirements.txt", render_template("requirements.txt.j2", ctx), "pinned dependencies"),
    ]
    for env in ctx.environments:
        files.append(
            _text(
                f"stacks/Pulumi.{env.name}.yaml",
                render_template("stack.yaml.j2", ctx, env=env),
                f"stack settings ({env.tier})",
            )
        )
    files += [
        _text(f"{POLICY_PACK_DIR}/PulumiPolicy.yaml", render_template("PulumiPolicy.yaml.j2", ctx),
              "guardrails as a policy pack"),
        _text(f"{POLICY_PACK_DIR}/__main__.py", render_template("policypack_main.py.j2", ctx),
              "policy pack program (mlinfra's)"),
        _text(".github/workflows/preview.yml", render_template("preview.yml.j2", ctx), "PR previews and decision"),
        _text(".github/workflows/deploy.yml", render_template("deploy.yml.j2", ctx), "deployments per environment"),
        _text(ADR_PATH, render_adr(decision, profile, dashboard_of=dashboard_of(profile, target)), "decision record"),
        _text("README.md", render_template("README.md.j2", ctx), "how to deploy"),
        _text(".gitignore", render_template("gitignore.j2", ctx), "ignored files"),
    ]
    return files


def _text(path: str, text: str, about: str) -> GeneratedFile:
    if not text.endswith("\n"):
        text += "\n"
    return GeneratedFile(path, text.encode("utf-8"), about)
