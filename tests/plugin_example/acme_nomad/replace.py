"""Acme's `onprem-k8s`: the built-in target with one more component, Acme's platform policy.

Registered under the built-in's name, so it replaces it everywhere (`mlinfra targets` shows what it replaces):
decide, render and the Pulumi program all get this class. Everything else is inherited.
"""

from __future__ import annotations

import json
from typing import Any

from mlinfra.profiles.model import Profile
from mlinfra.files.rendered import RenderedFile
from mlinfra.targets.onprem_k8s import OnpremK8s

POLICY_FILE = "acme/platform-policy.json"


class AcmeOnpremK8s(OnpremK8s):
    title = "On-premise Kubernetes (Acme platform policy)"

    def components(self, profile: Profile) -> list[str]:
        return [*super().components(profile), "AcmePlatformPolicy"]

    def render(self, profile: Profile, env: str, options: dict[str, Any] | None = None) -> list[RenderedFile]:
        files = super().render(profile, env, options)
        policy = {
            "cost_center": profile.team.name or profile.name,
            "environment": env,
            "files": sorted(f.path for f in files),  # what the platform team reviews
        }
        return [*files, RenderedFile(POLICY_FILE, json.dumps(policy, indent=2, sort_keys=True) + "\n")]
