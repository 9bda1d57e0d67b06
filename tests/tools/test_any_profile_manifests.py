"""Any valid profile renders Kubernetes objects that pass kubernetes-validate --strict (1.37 and 1.30).

The example profiles are validated exhaustively in test_kubernetes_objects.py; this draws profiles nobody
wrote (odd names, GPU types, every artifact scheme, overrides) and validates what they render, in batches.
"""

from __future__ import annotations

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profile_strategies import profiles

from mlinfra.planning.plan import PlanError
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import profile_from_data
from mlinfra.targets.kubernetes.render import render_plan

pytestmark = pytest.mark.tools


def rendered_objects(data: dict) -> list[dict]:
    profile = profile_from_data(data)
    objects: list[dict] = []
    for env in profile.environment_names:
        for target in (["onprem-k8s"] if profile.onprem else []) + ["aws-eks"]:
            try:
                plan = plan_for(profile, env, target)
                files = render_plan(plan)
            except PlanError:  # a clear refusal, e.g. oidc without security.oidc (the gate needs its issuer)
                continue
            for f in files:
                if f.path.startswith("kubernetes/"):
                    objects += [d for d in yaml.safe_load_all(f.text) if d is not None]
    return objects


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(profiles(), min_size=6, max_size=6))
def test_objects_of_any_profile_pass_kubernetes_validate(k8s_validate, batch):
    objects = [o for data in batch for o in rendered_objects(data)]
    assert objects
    for version in ("1.37", "1.30"):
        problems = k8s_validate(objects, versions=[version])
        assert problems == [], "\n".join(problems[:20])


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(batch=st.lists(profiles(), min_size=8, max_size=8))
def test_objects_of_any_profile_pass_checkov(checkov_scan, batch):
    report = checkov_scan({f"profile-{i}": rendered_objects(data) for i, data in enumerate(batch)})
    assert report.unexpected == [], "\n".join(
        f"{f.check_id} {f.check_name}: {f.resource} ({f.file})" for f in report.unexpected
    )
