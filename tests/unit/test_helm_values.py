"""kube-prometheus-stack values: every key path exists in the pinned chart's values.yaml (or is free-form)."""

from __future__ import annotations

import pytest
import yaml

from mlinfra.monitoring.helm_values import CHART, CHART_VERSION, FREE_FORM, build_helm_values


def _paths(obj, prefix=""):
    if isinstance(obj, dict) and obj:
        for key, value in obj.items():
            path = f"{prefix}.{key}" if prefix else key
            if path in FREE_FORM:
                yield path
            else:
                yield from _paths(value, path)
    else:
        yield prefix


@pytest.fixture(scope="module")
def chart_values(shared_dir):
    path = shared_dir / "charts" / f"{CHART}-{CHART_VERSION}-values.yaml"
    return yaml.safe_load(path.read_text())


def _lookup(values, path):
    node = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return KeyError
        node = node[part]
    return node


def test_every_key_path_exists_in_the_chart(make_plan, chart_values):
    values = build_helm_values(make_plan())
    paths = list(_paths(values))
    assert len(paths) >= 15
    assert {"grafana.admin.existingSecret", "grafana.admin.userKey", "grafana.admin.passwordKey"} <= set(paths)
    for path in paths:
        default = _lookup(chart_values, path)
        assert default is not KeyError, f"{path} is not a key of the chart's values.yaml"
        if path in FREE_FORM:
            assert isinstance(default, dict), f"{path}: free-form map expected in the chart, found {default!r}"


def test_key_path_check_can_fail(chart_values):
    assert _lookup(chart_values, "prometheus.prometheusSpec.retentionn") is KeyError
    assert _lookup(chart_values, "prometheus.prometheusSpec.retention") == "10d"
    # the chart's Grafana admin keys (grafana subchart): an existing Secret replaces the chart's own
    assert _lookup(chart_values, "grafana.admin") == {
        "existingSecret": "", "userKey": "admin-user", "passwordKey": "admin-password",
    }
    assert _lookup(chart_values, "grafana.admin.existingSecrett") is KeyError


def test_values_from_the_plan(make_plan):
    values = build_helm_values(make_plan())
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] == "15d" and spec["retentionSize"] == "51GB"
    assert spec["storageSpec"] == {
        "volumeClaimTemplate": {"spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "60Gi"}}, "storageClassName": "fast-ssd",
        }}
    }
    for flag in ("rule", "serviceMonitor", "podMonitor", "probe", "scrapeConfig"):
        assert spec[f"{flag}SelectorNilUsesHelmValues"] is False
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == ["mlinfra-alertmanager-notify"]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"


def test_default_storage_class_is_left_to_the_cluster(make_plan, with_monitoring):
    values = build_helm_values(with_monitoring(make_plan(), storage_class=None, receivers=()))
    assert "storageClassName" not in values["prometheus"]["prometheusSpec"]["storageSpec"]["volumeClaimTemplate"]["spec"]
    assert values["alertmanager"]["alertmanagerSpec"]["secrets"] == []
