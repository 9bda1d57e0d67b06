"""Render the files of a team's infrastructure repository from a profile (pure: returns bytes, writes nothing)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import jinja2

from mlinfra.profiles.model import Profile
from mlinfra.scaffold.context import ScaffoldContext, build_context

TEMPLATES = Path(__file__).parent / "templates"
ADR_PATH = "docs/decisions/0001-target.md"


@dataclass(frozen=True)
class GeneratedFile:
    """One file of the scaffold: path relative to the repository root, exact bytes, what it is."""

    path: str
    content: bytes
    about: str


def _gh(expression: str) -> str:
    """A GitHub Actions expression, written `gh("secrets.X")` in templates so it never clashes with Jinja."""
    return "${{ " + expression + " }}"


def _yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.globals["gh"] = _gh
    env.filters["yaml_str"] = _yaml_str
    return env


def render_template(name: str, context: ScaffoldContext, **extra: object) -> str:
    return environment().get_template(name).render(**context.as_template_vars(), **extra)


def generate(profile_path: Path, profile: Profile) -> list[GeneratedFile]:
    """Every file `mlinfra init` writes, in a fixed order; the profile is copied byte for byte."""
    from mlinfra.decision.adr import render_adr
    from mlinfra.decision.decide import decide

    decision = decide(profile)  # the same decision code `mlinfra decide` runs
    # the program decides per stack (environment); CI needs the credentials of every target it may deploy
    per_env = {env: decide(profile, env).target for env in profile.environment_names}
    ctx = build_context(profile, target=decision.target, env_targets=per_env)
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
        _text(".github/workflows/preview.yml", render_template("preview.yml.j2", ctx), "PR previews and decision"),
        _text(".github/workflows/deploy.yml", render_template("deploy.yml.j2", ctx), "deployments per environment"),
        _text(ADR_PATH, render_adr(decision, profile), "decision record"),
        _text("README.md", render_template("README.md.j2", ctx), "how to deploy"),
        _text(".gitignore", render_template("gitignore.j2", ctx), "ignored files"),
    ]
    return files


def _text(path: str, text: str, about: str) -> GeneratedFile:
    if not text.endswith("\n"):
        text += "\n"
    return GeneratedFile(path, text.encode("utf-8"), about)
