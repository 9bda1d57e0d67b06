"""Acme's `onprem-k8s`: the built-in target with Acme's platform on top.

Registered under the built-in's name, so it replaces it everywhere (`mlinfra targets` shows what it replaces):
decide, render and the Pulumi program all get this class. It changes the three things a platform team owns:
- planning: every Acme cluster has the same ingress controller and storage (`cluster`), whatever the profile says;
- scores: the Acme platform team runs the clusters, so operations asks little of the ML team (`criteria`);
- components: one more, Acme's platform policy (`components`, `render`).
Feasibility and the cost model are inherited.
"""

from __future__ import annotations

import json
from typing import Any

from dataclasses import replace

from mlinfra.decision.criteria import Criteria
from mlinfra.files.rendered import RenderedFile
from mlinfra.planning.specs import ClusterSettings
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.onprem_k8s import OnpremK8s

POLICY_FILE = "acme/platform-policy.json"
INGRESS_CLASS = "acme-haproxy"  # the ingress controller every Acme cluster runs
INGRESS_NAMESPACE = "acme-ingress"
STORAGE_CLASS = "acme-ceph-rbd"
OPERATIONS = 0.95  # the Acme platform team runs the clusters (on call, upgrades, patching)


class AcmeOnpremK8s(OnpremK8s):
    title = "On-premise Kubernetes (Acme platform policy)"

    def cluster(self, profile: Profile, env: EnvironmentSettings) -> ClusterSettings:
        return replace(
            super().cluster(profile, env),
            ingress_class=INGRESS_CLASS, ingress_namespace=INGRESS_NAMESPACE, storage_class=STORAGE_CLASS,
        )

    def criteria(self, profile: Profile) -> Criteria:
        base = super().criteria(profile)
        return Criteria(
            scores={**base.scores, "operations": OPERATIONS},
            notes={**base.notes, "operations": "the Acme platform team runs the cluster; the ML team owns its models"},
        )

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
