"""The monitoring stack sized for its series: the estimate, the Prometheus it sizes, remote write past what one
Prometheus should hold, and where users see it (render, decide). (The measured figure: tests/tools/
test_series_measured.py; the whole estimate against real servers: bench/series.py.)"""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from profile_data import LOAN_DESK, changed

from mlinfra.cli.main import cli
from mlinfra.monitoring.helm_values import build_helm_values
from mlinfra.monitoring.series import (
    BASELINE_SERIES,
    BYTES_PER_SAMPLE,
    BYTES_PER_SERIES,
    MAX_SERIES_PER_PROMETHEUS,
    MIN_NODES,
    NODE_SERIES,
    POD_SERIES,
    RECORDED_SERIES_PER_MODEL,
    RUNTIME_SERIES,
    ScrapedModel,
    estimate,
    plan_estimate,
)
from mlinfra.planning.plan import PlanError
from mlinfra.profiles import ProfileError, profile_from_data
from mlinfra.targets.kubernetes.render import render_plan
from mlinfra.targets.registry import plan_for

MIMIR = {"kind": "mimir", "url": "https://mimir.example.net/api/v1/push", "tenant": "risk-team", "auth": "basic",
         "username": "prom-writer", "credentials_secret": "mimirPassword"}


def plan_of(env="prod", **changes):
    return plan_for(profile_from_data(changed(LOAN_DESK, **changes)), env, "onprem-k8s")


def big(**changes):
    """LOAN_DESK's scorer at 700 replicas and 37 copies: past what one Prometheus should hold."""
    scorer = LOAN_DESK["models"][0]
    models = [{**scorer, "name": f"scorer-{i}"} for i in range(37)]
    return changed(LOAN_DESK, models=models, environments={"prod": {"min_replicas": 3, "max_replicas": 700}}, **changes)


def test_estimate_adds_servers_pods_records_nodes_and_the_baseline():
    scraped = (ScrapedModel(environment="prod", model="a", runtime="mlserver", max_replicas=7),
               ScrapedModel(environment="dev", model="a", runtime="mlserver", max_replicas=2),
               ScrapedModel(environment="prod", model="b", runtime="vllm", max_replicas=3))
    est = estimate(scraped, nodes=11, retention_days=23, scrape_interval_s=30)
    per_mlserver = RUNTIME_SERIES["mlserver"].series + POD_SERIES.series
    per_vllm = RUNTIME_SERIES["vllm"].series + POD_SERIES.series
    assert est.models == 9 * per_mlserver + 3 * per_vllm
    assert est.recorded == 3 * RECORDED_SERIES_PER_MODEL + 1  # the vLLM queue record
    assert est.node_series == 11 * NODE_SERIES.series
    assert est.total == est.models + est.recorded + est.node_series + BASELINE_SERIES.series
    assert est.disk_bytes == math.ceil(23 * 86400 * est.total / 30 * BYTES_PER_SAMPLE)
    assert est.memory_request_bytes == 512 * 2**20 + est.total * BYTES_PER_SERIES
    assert estimate(scraped, nodes=None, retention_days=23).nodes == max(MIN_NODES, math.ceil(12 / 4))


def test_the_plan_estimates_every_environment_on_the_stack_and_the_clusters_nodes():
    prod = plan_of()
    assert {(m.environment, m.model) for m in prod.monitoring.scraped} == {
        ("dev", "scorer"), ("dev", "doc-reader"), ("prod", "scorer"), ("prod", "doc-reader")}
    assert prod.monitoring.cluster_nodes == 3 + 3  # onprem.cpu_nodes (default 3) + gpu_nodes
    dev = plan_of("dev", **{"environments.dev": {"retention_days": 3}})
    assert plan_estimate(dev).total == plan_estimate(prod).total, "one stack, one estimate"
    assert plan_estimate(dev).retention_days == prod.monitoring.retention_days == 30, "kept as long as the owner keeps"


def test_prometheus_is_sized_from_the_estimate():
    plan = plan_of(**{"monitoring.storage_gib": 7})
    est = plan_estimate(plan)
    spec = build_helm_values(plan)["prometheus"]["prometheusSpec"]
    assert spec["resources"] == {"requests": {"cpu": est.cpu_request, "memory": est.memory_request},
                                 "limits": {"memory": est.memory_limit}}
    volume = max(7, est.volume_gib)
    assert spec["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == f"{volume}Gi"
    assert spec["retentionSize"] == f"{math.floor(volume * 0.85)}GB"
    assert spec["remoteWrite"] == []
    roomy = build_helm_values(plan_of(**{"monitoring.storage_gib": 900}))["prometheus"]["prometheusSpec"]
    assert roomy["storageSpec"]["volumeClaimTemplate"]["spec"]["resources"]["requests"]["storage"] == "900Gi"


def test_past_one_prometheus_without_remote_write_is_refused_naming_field_estimate_and_threshold():
    plan = plan_for(profile_from_data(big()), "prod", "onprem-k8s")
    est = plan_estimate(plan)
    assert est.total > MAX_SERIES_PER_PROMETHEUS
    with pytest.raises(PlanError) as err:
        build_helm_values(plan)
    message = str(err.value)
    assert message.startswith("monitoring.remote_write:")
    assert f"{est.total:,}" in message and f"{MAX_SERIES_PER_PROMETHEUS:,}" in message


def test_remote_write_by_secret_key_reference_never_plain_text():
    plan = plan_for(profile_from_data(big(**{"monitoring.remote_write": MIMIR})), "prod", "onprem-k8s")
    values = build_helm_values(plan)
    assert values["prometheus"]["prometheusSpec"]["remoteWrite"] == [{
        "name": "mimir",
        "url": "https://mimir.example.net/api/v1/push",
        "headers": {"X-Scope-OrgID": "risk-team"},
        "basicAuth": {"username": {"name": "mlinfra-remote-write", "key": "username"},
                      "password": {"name": "mlinfra-remote-write", "key": "password"}},
    }]
    assert "mimirPassword" not in json.dumps(values)
    files = render_plan(plan)
    secrets = next(f for f in files if f.path == "SECRETS.md").text
    assert "monitoring/mlinfra-remote-write" in secrets and "secret config key mimirPassword" in secrets
    assert files.notes["monitoring_series"]["needs_remote_write"] is True
    assert files.notes["monitoring_series"]["remote_write"] == {"kind": "mimir", "url": MIMIR["url"]}
    thanos = {"kind": "thanos", "url": "http://thanos-receive.obs:19291/api/v1/receive", "tenant": "t-4",
              "auth": "bearer", "credentials_secret": "thanosToken"}
    small = plan_of(**{"monitoring.remote_write": thanos})
    assert build_helm_values(small)["prometheus"]["prometheusSpec"]["remoteWrite"] == [{
        "name": "thanos", "url": thanos["url"], "headers": {"THANOS-TENANT": "t-4"},
        "authorization": {"type": "Bearer", "credentials": {"name": "mlinfra-remote-write", "key": "token"}},
    }]


@pytest.mark.parametrize(
    ("remote_write", "message"),
    [
        pytest.param({"kind": "mimir", "url": "https://m.example/api/v1/push", "auth": "basic", "username": "u"},
                     "auth is 'basic' but credentials_secret is not set", id="basic-without-secret"),
        pytest.param({"kind": "mimir", "url": "https://m.example/api/v1/push", "auth": "basic", "credentials_secret": "k"},
                     "auth is 'basic' but username is not set", id="basic-without-user"),
        pytest.param({"kind": "thanos", "url": "https://t.example", "username": "u"},
                     "auth is 'none' but username or credentials_secret is set", id="none-with-user"),
        pytest.param({"kind": "cortex", "url": "https://t.example"}, "monitoring.remote_write.kind", id="kind-enum"),
        pytest.param({"kind": "thanos", "url": "thanos:19291"}, "must be an http(s) URL", id="url"),
    ],
)
def test_remote_write_profile_errors(remote_write, message):
    with pytest.raises(ProfileError) as err:
        profile_from_data(changed(LOAN_DESK, **{"monitoring.remote_write": remote_write}))
    assert message in str(err.value)


def test_render_and_decide_show_the_estimate(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")
    profile = tmp_path / "profile.yaml"
    profile.write_text(json.dumps(LOAN_DESK))
    runner = CliRunner()
    decided = runner.invoke(cli, ["decide", str(profile), "--format", "json"], catch_exceptions=False)
    stacks = json.loads(decided.output)["monitoring_series"]
    plan = plan_of()
    assert [s["environments"] for s in stacks] == [["dev", "prod"]]
    assert stacks[0]["active_series"] == plan_estimate(plan).total
    table = runner.invoke(cli, ["decide", str(profile)], catch_exceptions=False).output
    assert f"dev, prod: ~{plan_estimate(plan).total:,} active series" in table
    out = tmp_path / "out"
    rendered = runner.invoke(cli, ["render", str(profile), "--env", "prod", "--target", "onprem-k8s", "--out", str(out)],
                             catch_exceptions=False)
    assert rendered.exit_code == 0, rendered.output
    assert f"monitoring: ~{plan_estimate(plan).total:,} active series" in rendered.output
    assert json.loads((out / "render.json").read_text())["monitoring_series"]["active_series"] == plan_estimate(plan).total


def test_validate_and_the_program_read_the_remote_write_credentials_key():
    from mlinfra.guardrails.secrets import secret_config_keys
    from mlinfra.scaffold.context import secret_refs

    profile = profile_from_data(changed(LOAN_DESK, **{"monitoring.remote_write": MIMIR}))
    refs = {r.key: r for r in secret_refs(profile)}
    assert refs["mimirPassword"].paths == ("monitoring.remote_write.credentials_secret",)
    assert "password of the mimir store" in refs["mimirPassword"].what
    assert set(refs) == set(secret_config_keys(profile))


def test_render_refuses_one_prometheus_past_the_threshold_naming_the_field(tmp_path, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    profile = tmp_path / "fleet.yaml"
    profile.write_text(json.dumps(big()))
    result = CliRunner().invoke(cli, ["render", str(profile), "--env", "prod", "--target", "onprem-k8s",
                                      "--out", str(tmp_path / "out")], catch_exceptions=False)
    assert result.exit_code == 1, result.output
    assert "monitoring.remote_write:" in result.output and "Traceback" not in result.output
    assert f"{MAX_SERIES_PER_PROMETHEUS:,}" in result.output
    assert not (tmp_path / "out").exists(), "nothing is written"


def test_a_drift_monitor_beside_each_replica_adds_its_series():
    from mlinfra.monitoring.series import DRIFT_FEATURES_UNKNOWN, DRIFT_SERIES_FIXED, DRIFT_SERIES_PER_FEATURE

    plain = ScrapedModel(environment="prod", model="a", runtime="mlserver", max_replicas=6)
    known = ScrapedModel(environment="prod", model="a", runtime="mlserver", max_replicas=6, drift_features=4)
    unknown = ScrapedModel(environment="prod", model="a", runtime="mlserver", max_replicas=6, drift_features=0)
    base = estimate((plain,), nodes=5, retention_days=9).models
    assert estimate((known,), nodes=5, retention_days=9).models - base == 6 * (
        DRIFT_SERIES_PER_FEATURE * (4 + 1) + DRIFT_SERIES_FIXED)
    assert estimate((unknown,), nodes=5, retention_days=9).models - base == 6 * (
        DRIFT_SERIES_PER_FEATURE * (DRIFT_FEATURES_UNKNOWN + 1) + DRIFT_SERIES_FIXED)


def test_the_estimate_sees_the_drift_monitors_the_plan_deploys():
    drift = {"reference": "s3://risk-models/scorer/reference.csv", "features": ["income", "age", "tenure"]}
    data = changed(LOAN_DESK, **{"monitoring.drift": True, "models.0.drift": drift,
                                 "models.1.drift": {"reference": "pvc://model-store/doc-reader/ref.parquet"}})
    plan = plan_for(profile_from_data(data), "prod", "onprem-k8s")
    features = {(s.environment, s.model): s.drift_features for s in plan.monitoring.scraped}
    for model in plan.models:  # the same models planning gives a drift monitor (planning.plan.drift_spec)
        assert (features[("prod", model.name)] is not None) == (model.drift is not None), model.name
    assert features[("prod", "scorer")] == 3
    off = plan_for(profile_from_data(changed(data, **{"monitoring.drift": False})), "prod", "onprem-k8s")
    assert all(s.drift_features is None for s in off.monitoring.scraped)
    assert plan_estimate(plan).total > plan_estimate(off).total
