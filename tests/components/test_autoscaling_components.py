"""KEDA and remote write under Pulumi's official mocks: the pinned KEDA release of the stack's owner, the
ScaledObjects that wait for it, and the remote-write Secret from Pulumi secret config (assert after the run)."""

from __future__ import annotations

import pytest
from pulumi.runtime import rpc

from resource_graph import of_type, one
from mlinfra.conventions import TYPE_ENVIRONMENT, TYPE_KEDA
from mlinfra.guardrails.graph import SECRET_MARK
from mlinfra.manifests.autoscaling import KEDA_CHART, KEDA_CHART_REPO, KEDA_CHART_VERSION
from mlinfra.manifests.serving import build_model_objects
from mlinfra.monitoring.helm_values import build_helm_values
from mlinfra.profiles import load_profile
from mlinfra.targets.registry import plan_for

RELEASE = "kubernetes:helm.sh/v3:Release"
SCALED_OBJECT = "kubernetes:keda.sh/v1alpha1:ScaledObject"


def test_the_owner_installs_the_pinned_keda_and_every_scaled_object_waits_for_it(runs, plain):
    prod, dev = runs["prod"], runs["dev"]
    keda = one(prod, TYPE_KEDA)
    release = next(r for r in of_type(prod, RELEASE) if r["parent"] == keda["urn"])
    assert release["name"] == "fraud-lab-keda-release"
    inputs = release["inputs"]
    assert (inputs["chart"], inputs["version"], inputs["repositoryOpts"]["repo"]) == (
        KEDA_CHART, KEDA_CHART_VERSION, KEDA_CHART_REPO)
    assert (inputs["namespace"], inputs["createNamespace"], inputs["atomic"]) == ("keda", True, True)
    assert release["provider"], "the release carries the stack's explicit provider"
    assert keda["parent"] == one(prod, TYPE_ENVIRONMENT)["urn"]
    scaled = of_type(prod, SCALED_OBJECT)
    assert {r["inputs"]["metadata"]["name"] for r in scaled} == {"fraud", "ranker"}
    plan = plan_for(load_profile(str(runs["path"])), "prod", "onprem-k8s")
    for r in scaled:
        assert release["urn"] in r["options"]["depends_on"], f"{r['name']} needs KEDA's CRDs first"
        model = next(m for m in plan.models if m.k8s_name == r["inputs"]["metadata"]["name"])
        built = next(o for o in build_model_objects(plan, model) if o["kind"] == "ScaledObject")
        assert plain(r["inputs"]["spec"]) == plain(built["spec"])
    # dev shares prod's cluster: it uses prod's KEDA and installs none
    assert not of_type(dev, TYPE_KEDA)
    assert {r["inputs"]["metadata"]["name"] for r in of_type(dev, SCALED_OBJECT)} == {"fraud", "ranker"}
    assert all(not r["options"]["depends_on"] or all("keda" not in d for d in r["options"]["depends_on"])
               for r in of_type(dev, SCALED_OBJECT))


@pytest.mark.parametrize(("autoscaling", "keda", "hpa"), [
    pytest.param({"metric": "cpu"}, False, True, id="cpu"),
    pytest.param({"keda": "existing"}, False, False, id="keda-existing"),
])
def test_no_keda_release_when_the_profile_says_it_is_not_ours(write_profile, profile_data, autoscaling, keda, hpa):
    from mlinfra.program import run_offline

    run = run_offline(write_profile({**profile_data, "autoscaling": autoscaling}), "prod", target="onprem-k8s")
    assert bool(of_type(run, TYPE_KEDA)) is keda
    assert bool(of_type(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")) is hpa
    assert bool(of_type(run, SCALED_OBJECT)) is not hpa


def test_remote_write_credentials_become_a_secret_the_prometheus_reads_by_key(write_profile, profile_data):
    from mlinfra.program import run_offline

    profile_data["monitoring"]["remote_write"] = {
        "kind": "thanos", "url": "https://receive.lab.example/api/v1/receive", "auth": "basic",
        "username": "lab-writer", "credentials_secret": "thanosPassword",
    }
    path = write_profile(profile_data)
    run = run_offline(path, "prod", target="onprem-k8s")
    secret = next(r for r in of_type(run, "kubernetes:core/v1:Secret") if r["name"].endswith("remote-write-secret"))
    assert secret["inputs"]["metadata"] == {"name": "mlinfra-remote-write", "namespace": "monitoring",
                                            "labels": secret["inputs"]["metadata"]["labels"]}
    assert secret["inputs"]["stringData"] == SECRET_MARK
    assert rpc.unwrap_rpc_secret(run.raw_inputs[secret["urn"]]["stringData"]) == {
        "username": "lab-writer", "password": "mlinfra-fake-secret-thanosPassword"}
    release = next(r for r in of_type(run, RELEASE) if r["name"] == "fraud-lab-monitoring-release")
    assert secret["urn"] in release["options"]["depends_on"], "the Secret exists before the Prometheus reads it"
    plan = plan_for(load_profile(str(path)), "prod", "onprem-k8s")
    assert build_helm_values(plan)["prometheus"]["prometheusSpec"]["remoteWrite"][0]["basicAuth"]["password"] == {
        "name": "mlinfra-remote-write", "key": "password"}
    assert "mlinfra-fake-secret-thanosPassword" not in repr([r["inputs"] for r in run.resources])


def test_pulumi_up_refuses_one_prometheus_past_the_threshold(write_profile, profile_data):
    from mlinfra.components.offline import OfflineError
    from mlinfra.program import run_offline

    profile_data["environments"]["prod"] = {"min_replicas": 3, "max_replicas": 900}
    profile_data["models"] = [{**profile_data["models"][0], "name": f"fraud-{i}"} for i in range(30)]
    with pytest.raises(OfflineError, match=r"monitoring\.remote_write: the monitoring stack of environment 'prod' is "
                                           r"estimated at [\d,]+ active series"):
        run_offline(write_profile(profile_data), "prod", target="onprem-k8s")
