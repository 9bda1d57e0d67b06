"""The drift monitor through the real Pulumi program (official mocks): with monitoring.drift the serving component
registers the sidecar, its ConfigMap, the Service port and the ServiceMonitor endpoint exactly as the builders make
them; `pulumi up` refuses a V2 model without a reference sample, naming the field."""

from __future__ import annotations

import pytest
from resource_graph import of_type

from mlinfra.components.offline import OfflineError
from mlinfra.conventions import CONTAINER_DRIFT, PORT_DRIFT_METRICS, TYPE_MODEL_SERVER
from mlinfra.guardrails.graph import kube_object_key, kube_type_token
from mlinfra.manifests.serving import build_model_objects
from mlinfra.monitoring.objects import build_service_monitor
from mlinfra.profiles import load_profile
from mlinfra.targets.registry import plan_for

REFERENCE = "s3://models-lab/fraud/reference-2025.parquet"


def _drift_profile(profile_data):
    profile_data["monitoring"]["drift"] = True
    profile_data["monitoring"]["drift_image"] = "registry.example.org/ml/mlinfra:0.1.0"
    profile_data["models"][0]["drift"] = {"reference": REFERENCE, "prediction_column": "fraud_probability"}
    profile_data["models"][1]["drift"] = {"reference": "pvc://ranker-models/reference/ranker.csv", "window": 900,
                                          "min_samples": 450}
    return profile_data


def test_the_serving_component_deploys_the_drift_monitor(write_profile, profile_data, plain, kube_objects):
    from mlinfra.program import run_offline

    path = write_profile(_drift_profile(profile_data))
    run = run_offline(path, "prod", target="onprem-k8s")
    plan = plan_for(load_profile(str(path)), "prod", "onprem-k8s")
    recorded = kube_objects(run)
    for model in plan.models:
        for obj in [*build_model_objects(plan, model), build_service_monitor(plan, model)]:
            key = kube_object_key({"type": kube_type_token(obj["apiVersion"], obj["kind"]), "inputs": obj})
            assert key in recorded, f"{key} was built but not registered"
            assert plain(recorded[key]["inputs"]) == plain(obj), f"{key}: registered inputs differ from the builder"
        pod = recorded[("apps/Deployment", plan.namespace, model.k8s_name)]["inputs"]["spec"]["template"]["spec"]
        assert CONTAINER_DRIFT in [c["name"] for c in pod["containers"]]
        assert ("core/ConfigMap", plan.namespace, f"{model.k8s_name}-drift") in recorded
        monitor = recorded[("monitoring.coreos.com/ServiceMonitor", plan.namespace, model.k8s_name)]["inputs"]
        assert [e["port"] for e in monitor["spec"]["endpoints"]][-1] == PORT_DRIFT_METRICS
    assert len(of_type(run, TYPE_MODEL_SERVER)) == 2


def test_up_refuses_drift_without_a_reference(write_profile, profile_data):
    from mlinfra.program import run_offline

    data = _drift_profile(profile_data)
    del data["models"][1]["drift"]
    with pytest.raises(OfflineError) as exc:
        run_offline(write_profile(data), "prod", target="onprem-k8s")
    assert "models[1].drift.reference: monitoring.drift is on, but model 'ranker' has no reference sample" in str(exc.value)
