"""The drift monitor as deployed: profile fields and checks, the sidecar's objects, its scrape endpoint, its alerts
and panels - built from a profile with distinct numbers, asserted exactly where it matters."""

from __future__ import annotations

import dataclasses

import pytest
from drift_data import drift_spec
from profile_data import LOAN_DESK, changed

from mlinfra.conventions import (
    ALERT_DRIFT_HIGH,
    ALERT_DRIFT_SEVERE,
    ALERT_DRIFT_STALE,
    ALERT_MODEL_DOWN,
    CONTAINER_DRIFT,
    PORT_DRIFT_METRICS,
    PORT_DRIFT_PROXY,
)
from mlinfra.drift import config as drift_config
from mlinfra.drift.score import psi_to_score
from mlinfra.manifests import drift as sidecar
from mlinfra.manifests.serving import build_model_objects
from mlinfra.monitoring.checks import monitoring_errors, monitoring_warnings
from mlinfra.monitoring.dashboards import build_dashboard
from mlinfra.monitoring.objects import build_service_monitor
from mlinfra.monitoring.rules import build_rule_groups
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.load import ProfileError
from mlinfra.profiles.model import ModelDrift
from mlinfra.runtimes.catalog import RUNTIMES
from mlinfra.targets.registry import plan_for

SCORER_DRIFT = {
    "reference": "s3://risk-data/scorer/reference-2024q4.parquet", "features": ["income", "term", "region"],
    "prediction_column": "default_probability", "categorical": ["region"], "sample_rate": 0.15, "window": 2400,
    "min_samples": 300, "bins": 8, "interval_seconds": 25, "warn_psi": 0.13, "page_psi": 0.37,
}


def _data(**changes):
    data = changed(LOAN_DESK, **{"monitoring": {**LOAN_DESK.get("monitoring", {}), "drift": True}})
    data["models"] = [dict(m) for m in data["models"]]
    for model in data["models"]:
        if model["framework"] != "llm":
            model["drift"] = dict(SCORER_DRIFT)
    return changed(data, **changes)


def _objects(plan, model):
    return {(o["kind"], o["metadata"]["name"]): o for o in build_model_objects(plan, model)}


def test_profile_defaults_are_the_monitors_own():
    profile_default = ModelDrift(reference="s3://b/r.csv")
    monitor_default = drift_config.ModelDrift(name="m", reference="/r.csv")
    for field in ("sample_rate", "window", "min_samples", "bins", "interval_seconds", "features", "prediction_column"):
        assert getattr(profile_default, field) == getattr(monitor_default, field), field
    assert (profile_default.warn_psi, profile_default.page_psi) == (0.1, 0.25)


@pytest.mark.parametrize(
    ("drift", "message"),
    [
        pytest.param({"reference": "s3://b/ref.json"}, "models[0].drift.reference: must name one .csv or .parquet file",
                     id="suffix"),
        pytest.param({"reference": "gs://b/ref.csv"}, "models[0].drift.reference: must start with s3://, https:// or "
                     "pvc://", id="scheme"),
        pytest.param({"reference": "s3://b/r.csv", "warn_psi": 0.4}, "page_psi (0.25) is below warn_psi (0.4)",
                     id="page-under-warn"),
        pytest.param({"reference": "s3://b/r.csv", "window": 100}, "min_samples (500) is larger than window (100)",
                     id="window"),
        pytest.param({"reference": "s3://b/r.csv", "features": ["a", "a"]}, "repeated: a", id="columns"),
    ],
)
def test_bad_drift_settings_name_the_field(drift, message):
    data = _data()
    data["models"][0]["drift"] = drift
    with pytest.raises(ProfileError) as exc:
        profile_from_data(data)
    assert message in str(exc.value)


def test_the_former_threshold_names_its_replacement():
    with pytest.raises(ProfileError) as exc:
        profile_from_data(_data(**{"monitoring.drift_threshold": 0.3}))
    assert "monitoring.drift_threshold is no longer read (got 0.3)" in str(exc.value)
    assert "models[].drift.warn_psi" in str(exc.value) and "0.3 -> 0.357" in str(exc.value)


def test_drift_without_a_reference_is_refused_on_a_cluster_and_llms_are_said_to_be_uncovered():
    data = _data()
    del data["models"][0]["drift"]
    errors = monitoring_errors(profile_from_data(data))
    assert [p for p, _ in errors] == ["models[0].drift.reference"]
    assert "monitoring.drift is on, but model 'scorer' has no reference sample" in errors[0][1]
    llm = {"name": "helper", "framework": "llm", "artifact": "s3://llm/helper", "traffic": {"average_rps": 1,
           "peak_rps": 2}, "slo": {"latency_p95_ms": 9000, "availability": 0.99}}
    profile = profile_from_data(_data(models=[*_data()["models"], llm]))
    assert monitoring_errors(profile) == []
    assert ("models[2]", "monitoring.drift does not cover model 'helper': vLLM OpenAI-compatible server does not "
            "serve the Open Inference (V2) protocol the drift monitor reads, so it gets no drift monitor or drift "
            "alert") in monitoring_warnings(profile)
    profile = profile_from_data(_data(models=[*_data()["models"], {**llm, "drift": {"reference": "s3://b/r.csv"}}]))
    assert [p for p, _ in monitoring_errors(profile)] == ["models[2].drift"]


def test_drift_off_deploys_no_monitor():
    plan = plan_for(profile_from_data(_data(**{"monitoring.drift": False})), "prod", "onprem-k8s")
    assert all(m.drift is None for m in plan.models)
    objects = [o for m in plan.models for o in build_model_objects(plan, m)]
    assert not [c for o in objects if o["kind"] == "Deployment" for c in o["spec"]["template"]["spec"]["containers"]
                if c["name"] == CONTAINER_DRIFT]


def test_the_sidecar_is_restricted_sized_probed_and_reads_the_rendered_config():
    plan = plan_for(profile_from_data(_data()), "prod", "onprem-k8s")
    model = plan.models[0]
    objects = _objects(plan, model)
    pod = objects[("Deployment", model.k8s_name)]["spec"]["template"]["spec"]
    (container,) = [c for c in pod["containers"] if c["name"] == CONTAINER_DRIFT]
    assert container["command"] == ["mlinfra", "drift", "serve", "--config", "/etc/mlinfra-drift/config.yaml"]
    assert container["image"] == "ghcr.io/mlinfra/mlinfra:0.1.0"
    security = container["securityContext"]
    assert (security["runAsNonRoot"], security["readOnlyRootFilesystem"], security["allowPrivilegeEscalation"],
            security["capabilities"], security["seccompProfile"]) == (True, True, False, {"drop": ["ALL"]},
                                                                      {"type": "RuntimeDefault"})
    assert container["resources"]["requests"] == container["resources"]["limits"]  # Guaranteed QoS, as the server
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {PORT_DRIFT_PROXY: 8090,
                                                                          PORT_DRIFT_METRICS: 9102}
    text = objects[("ConfigMap", f"{model.k8s_name}-drift")]["data"]["config.yaml"]
    import yaml

    config = drift_config.config_from_data(yaml.safe_load(text))
    assert config == sidecar.drift_config(model, RUNTIMES[model.runtime])
    watched = config.models[0]
    assert (config.upstream, watched.name, watched.reference) == (
        f"http://127.0.0.1:{RUNTIMES[model.runtime].http_port}", "scorer",
        "/var/lib/mlinfra-drift/reference/scorer.parquet")
    assert (watched.features, watched.prediction_column, watched.categorical, watched.sample_rate, watched.window,
            watched.min_samples, watched.bins, watched.interval_seconds) == (
        ("income", "term", "region"), "default_probability", ("region",), 0.15, 2400, 300, 8, 25.0)


def test_s3_reference_is_fetched_like_the_artifact_into_an_emptydir():
    plan = plan_for(profile_from_data(_data()), "prod", "onprem-k8s")
    model = plan.models[0]
    pod = _objects(plan, model)[("Deployment", model.k8s_name)]["spec"]["template"]["spec"]
    fetch = {c["name"]: c for c in pod["initContainers"]}["fetch-reference"]
    assert fetch["args"] == ["s3", "cp", "--no-progress", "--only-show-errors", SCORER_DRIFT["reference"],
                             "/var/lib/mlinfra-drift/reference/scorer.parquet"]
    assert fetch["securityContext"]["runAsNonRoot"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["drift-reference"] == {"name": "drift-reference", "emptyDir": {"sizeLimit": "1Gi"}}
    assert [v["name"] for v in pod["volumes"]].count("artifact-credentials") == 1


@pytest.mark.parametrize("scheme", ["https", "pvc"])
def test_https_and_pvc_references(scheme):
    reference = {"https": "https://data.example.com/scorer/ref.csv", "pvc": "pvc://risk-data/scorer/ref.csv"}[scheme]
    data = _data()
    data["models"][0]["drift"] = {"reference": reference}
    plan = plan_for(profile_from_data(data), "prod", "onprem-k8s")
    model = plan.models[0]
    objects = _objects(plan, model)
    pod = objects[("Deployment", model.k8s_name)]["spec"]["template"]["spec"]
    inits = {c["name"]: c for c in pod.get("initContainers", [])}
    (container,) = [c for c in pod["containers"] if c["name"] == CONTAINER_DRIFT]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "drift-reference")
    if scheme == "https":
        assert {"name": "REFERENCE_URL", "value": reference} in inits["fetch-reference"]["env"]
        assert reference not in inits["fetch-reference"]["args"][0]  # never spliced into the script
    else:
        assert "fetch-reference" not in inits
        assert {"name": "drift-reference", "persistentVolumeClaim": {"claimName": "risk-data", "readOnly": True}} \
            in pod["volumes"]
        assert mount == {"name": "drift-reference", "mountPath": "/var/lib/mlinfra-drift/reference/scorer.csv",
                         "subPath": "scorer/ref.csv", "readOnly": True}


def test_callers_reach_the_proxy_and_prometheus_its_metrics():
    plan = plan_for(profile_from_data(_data()), "prod", "onprem-k8s")  # exposure internal: gated
    model = plan.models[0]
    objects = _objects(plan, model)
    gate = objects[("ConfigMap", f"{model.k8s_name}-gate")]["data"]["nginx.conf"]
    assert "proxy_pass http://127.0.0.1:8090;" in gate  # admitted requests pass the monitor
    assert f"proxy_pass http://127.0.0.1:{RUNTIMES[model.runtime].http_port}/v2/health/ready;" in gate
    ports = {p["name"]: p for p in objects[("Service", model.k8s_name)]["spec"]["ports"]}
    assert ports[PORT_DRIFT_METRICS] == {"name": PORT_DRIFT_METRICS, "port": 9102, "targetPort": PORT_DRIFT_METRICS,
                                         "protocol": "TCP"}
    policy = objects[("NetworkPolicy", model.k8s_name)]["spec"]["ingress"]
    same_namespace = [p["port"] for p in policy[0]["ports"]]
    assert 8090 in same_namespace and RUNTIMES[model.runtime].http_port not in same_namespace
    assert [p["port"] for p in policy[-1]["ports"]] == [RUNTIMES[model.runtime].metrics_port, 9102]
    ungated = plan_for(profile_from_data(_data(**{"security.exposure": "private"})), "prod", "onprem-k8s")
    service = _objects(ungated, ungated.models[0])[("Service", model.k8s_name)]
    assert service["spec"]["ports"][0]["targetPort"] == PORT_DRIFT_PROXY


def test_service_monitor_scrapes_the_monitor_with_the_same_labels():
    plan = plan_for(profile_from_data(_data()), "prod", "onprem-k8s")
    server, monitor = build_service_monitor(plan, plan.models[0])["spec"]["endpoints"]
    assert monitor == {**server, "port": PORT_DRIFT_METRICS, "path": "/metrics", "honorLabels": True}


def test_alerts_compare_the_highest_score_with_the_psi_thresholds():
    plan = plan_for(profile_from_data(_data()), "prod", "onprem-k8s")
    alerts = {(r["labels"]["model"], r["alert"]): r for g in build_rule_groups(plan) for r in g["rules"] if "alert" in r}
    high, severe = alerts[("scorer", ALERT_DRIFT_HIGH)], alerts[("scorer", ALERT_DRIFT_SEVERE)]
    selector = 'mlinfra_model_drift_score{namespace="loan-desk-prod", model="scorer"}'
    assert high["expr"] == f"max by (namespace, model) ({selector}) > {round(psi_to_score(0.13), 6):.10g}"
    assert severe["expr"] == f"max by (namespace, model) ({selector}) > {round(psi_to_score(0.37), 6):.10g}"
    assert (high["labels"]["severity"], severe["labels"]["severity"]) == ("warning", "critical")
    assert (high["for"], severe["for"]) == ("30m", "15m")
    assert "PSI 0.37 (models[].drift.page_psi)" in severe["annotations"]["description"]
    assert 'endpoint!="drift-metrics"' in alerts[("scorer", ALERT_MODEL_DOWN)]["expr"]
    stale = alerts[("scorer", ALERT_DRIFT_STALE)]
    assert stale["expr"] == ('time() - min by (namespace, model) (mlinfra_model_drift_last_computed_timestamp_seconds'
                             '{namespace="loan-desk-prod", model="scorer"}) > 250')  # 10 x interval_seconds 25
    assert (stale["labels"]["severity"], stale["for"]) == ("warning", "10m")
    without = dataclasses.replace(plan, models=tuple(dataclasses.replace(m, drift=None) for m in plan.models))
    names = {r.get("alert") for g in build_rule_groups(without) for r in g["rules"]}
    assert not names & {ALERT_DRIFT_HIGH, ALERT_DRIFT_SEVERE, ALERT_DRIFT_STALE}


def test_dashboard_has_drift_panels_with_both_thresholds(make_plan, make_model):
    plan = make_plan(models=(make_model(drift=drift_spec()),))
    panels = {p["title"]: p for p in build_dashboard(plan, plan.models[0])["panels"]}
    score = panels["Drift score (highest feature)"]
    steps = score["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in steps] == [None, round(psi_to_score(0.12), 6), round(psi_to_score(0.31), 6)]
    assert {"Drift score per feature", "Drift window", "Drift samples dropped"} <= set(panels)
    assert "max by (feature)" in panels["Drift score per feature"]["targets"][0]["expr"]
    assert not [t for t in build_dashboard(make_plan(), make_plan().models[0])["panels"] if "Drift" in t["title"]]
