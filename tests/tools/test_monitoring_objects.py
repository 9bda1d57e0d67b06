"""Every rendered monitoring object is valid: PrometheusRule and ServiceMonitor against the Prometheus Operator
CRD schemas in ../shared/schemas/crds/; the monitoring Namespace, the Grafana admin and notification Secrets and
the dashboard ConfigMaps with kubernetes-validate --strict."""

from __future__ import annotations

import pytest
import yaml

from mlinfra.monitoring.objects import build_monitoring_objects
from mlinfra.monitoring.timing import FAST, PRODUCTION
from mlinfra.targets.kubernetes.render import render_plan, secrets_to_create

pytestmark = pytest.mark.tools


@pytest.mark.parametrize("timing", [PRODUCTION, FAST], ids=lambda t: t.name)
def test_custom_resources_match_crd_schemas(monitoring_plan, timing, crd_validate):
    objects = build_monitoring_objects(monitoring_plan, timing)
    custom = [o for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/")]
    kinds = sorted({o["kind"] for o in custom})
    assert kinds == ["PrometheusRule", "ServiceMonitor"], kinds
    assert sum(o["kind"] == "ServiceMonitor" for o in custom) == len(monitoring_plan.models)
    for obj in custom:
        problems = crd_validate(obj)
        assert problems == [], f"{obj['kind']} {obj['metadata']['name']}: {problems}"


def test_crd_validation_can_fail(monitoring_plan, crd_validate):
    rule = next(o for o in build_monitoring_objects(monitoring_plan) if o["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "ten minutes"  # not a duration
    rule["spec"]["groups"][0]["rules"][0]["bogus"] = True
    assert crd_validate(rule), "the CRD schema accepted an invalid PrometheusRule"


def test_rendered_kubernetes_files_hold_valid_monitoring_objects(monitoring_plan, k8s_validate, crd_validate):
    """What render writes under kubernetes/ (parsed back) validates: built-ins strictly, custom resources by CRD."""
    files = render_plan(monitoring_plan)
    objects = [
        doc for f in files if f.path.startswith("kubernetes/") for doc in yaml.safe_load_all(f.text) if doc is not None
    ]
    assert "Secret" not in {o["kind"] for o in objects}, "render writes no Secret (a placeholder would be applied)"
    objects += [secret for secret, _keys in secrets_to_create(monitoring_plan)]  # what `pulumi up` creates
    monitoring = [o for o in objects if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "monitoring"]
    kinds = {o["kind"] for o in monitoring}
    assert kinds >= {"PrometheusRule", "ServiceMonitor", "ConfigMap"}
    if monitoring_plan.monitoring.owns_stack:  # the monitoring namespace and its Secrets come with the stack
        assert kinds >= {"Namespace", "Secret"}
        assert ("Secret", "mlinfra-grafana-admin") in {(o["kind"], o["metadata"]["name"]) for o in monitoring}
    else:
        assert not kinds & {"Namespace", "Secret"}, f"{monitoring_plan.environment} does not own the monitoring stack"
    def is_builtin(o):  # v1 and *.k8s.io groups (the namespace's NetworkPolicy); the rest have CRD schemas
        return "/" not in o["apiVersion"] or o["apiVersion"].split("/")[0].endswith(".k8s.io")

    builtin = [o for o in monitoring if is_builtin(o)]
    assert k8s_validate(builtin) == []
    for obj in monitoring:
        if not is_builtin(obj):
            assert crd_validate(obj) == [], obj["metadata"]["name"]
