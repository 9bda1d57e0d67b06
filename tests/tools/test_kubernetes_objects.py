"""Every Kubernetes object `mlinfra render` writes for the example profiles passes kubernetes-validate --strict
and checkov: serving objects, ServiceMonitors, dashboard ConfigMaps, the PrometheusRule, the monitoring Namespace
and its Secrets (Grafana admin, Alertmanager notification).

Cases: every example profile x every environment x target onprem-k8s (profiles with an `onprem` block) and
aws-eks (all). The objects are parsed back from the rendered kubernetes/*.yaml files, so what is checked is
exactly what a user applies. One validator process per Kubernetes version and one checkov run for all cases.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import yaml

from mlinfra.targets.registry import plan_for
from mlinfra.profiles import load_profile
from mlinfra.targets.kubernetes.render import render_plan, secrets_to_create

pytestmark = pytest.mark.tools


def example_profiles(repo_root: Path) -> list[Path]:
    """The same list as tests/conftest.py EXAMPLE_PROFILES."""
    return sorted([repo_root / "stacks" / "profile.yaml", *(repo_root / "docs" / "examples").glob("*.yaml")])


@pytest.fixture(scope="module")
def cases(repo_root: Path) -> dict[str, list[dict]]:
    """{"<profile>-<env>-<target>": objects} for every example profile, environment and Kubernetes target."""
    built: dict[str, list[dict]] = {}
    for path in example_profiles(repo_root):
        profile = load_profile(path)
        targets = (["onprem-k8s"] if profile.onprem else []) + ["aws-eks"]
        for env in profile.environment_names:
            for target in targets:
                plan = plan_for(profile, env, target)
                files = render_plan(plan)
                built[f"{profile.name}-{env}-{target}"] = [
                    doc
                    for f in files
                    if f.path.startswith("kubernetes/")
                    for doc in yaml.safe_load_all(f.text)
                    if doc is not None
                ] + [secret for secret, _keys in secrets_to_create(plan)]  # render lists them, `pulumi up` creates them
    return built


def test_cases_cover_every_example_profile_environment_and_target(cases, repo_root):
    names = set(cases)
    assert len(example_profiles(repo_root)) == 3, example_profiles(repo_root)
    # churn-scoring: 3 envs x 2 targets, claims-vision: 2 x 2, reco-api (no onprem block): 2 x 1
    assert len(names) == 12, sorted(names)
    assert {"claims-vision-prod-onprem-k8s", "reco-api-dev-aws-eks", "churn-scoring-staging-aws-eks"} <= names
    kinds = {o["kind"] for objs in cases.values() for o in objs}
    assert {"Deployment", "ServiceMonitor", "PrometheusRule", "ConfigMap", "Secret", "Namespace"} <= kinds, kinds
    # every environment that owns its cluster's monitoring stack carries the monitoring namespace and the Grafana
    # admin Secret: on premise the example's environments share one cluster (prod owns), on EKS each owns its own
    owners = set()
    for name, objs in cases.items():
        named = {(o["kind"], o["metadata"]["name"]) for o in objs}
        if {("Namespace", "monitoring"), ("Secret", "mlinfra-grafana-admin")} <= named:
            owners.add(name)
        else:
            assert not {n for n in named if n[0] == "Secret" or n == ("Namespace", "monitoring")}, name
    assert owners == {n for n in names if n.endswith("-aws-eks") or "-prod-" in n}, sorted(names - owners)


@pytest.mark.parametrize("version", [pytest.param("1.37", id="k8s-1.37"), pytest.param("1.30", id="k8s-1.30")])
def test_objects_pass_kubernetes_validate_strict(k8s_validate, cases, version):
    objects = [o for objs in cases.values() for o in objs]
    assert len(objects) > 100, len(objects)
    problems = k8s_validate(objects, versions=[version])
    assert problems == [], "\n".join(problems)


def test_kubernetes_validate_rejects_an_unknown_field(k8s_validate, cases):
    """The validator really is strict: a misspelt field in a built Deployment is an error."""
    deployment = next(o for o in cases["churn-scoring-prod-onprem-k8s"] if o["kind"] == "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 3}}
    problems = k8s_validate([broken], versions=["1.30"])
    assert len(problems) == 1 and "'replica' was unexpected" in problems[0], problems


def test_checkov_reports_no_failed_checks_beyond_the_documented_skips(checkov_scan, cases):
    insecure = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "insecure", "namespace": "canary"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36.1"}]},
    }
    report = checkov_scan({**cases, "canary-insecure": [insecure]})
    ours = [f for f in report.unexpected if not f.file.endswith("canary-insecure.yaml")]
    canary = [f for f in report.unexpected if f.file.endswith("canary-insecure.yaml")]
    assert canary, "checkov found nothing wrong with a pod without securityContext: the scan did not run"
    assert ours == [], "\n".join(f"{f.check_id} {f.check_name}: {f.resource} ({f.file})" for f in ours)
    assert report.stale_skips == [], f"listed in checkov-skips.yaml but no longer failing: {report.stale_skips}"
    assert len(report.skips) <= 4, f"checkov-skips.yaml must stay short: {sorted(report.skips)}"
