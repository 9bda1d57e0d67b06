"""KubernetesModelServer, MonitoringStack and the assembly under Pulumi's official mocks (assert after the run)."""

from __future__ import annotations

import pytest

from mlinfra.components.offline import OfflineError, run_mocked
from mlinfra.conventions import (
    MONITORING_RELEASE_NAME,
    TYPE_ENVIRONMENT,
    TYPE_MODEL_SERVER,
    TYPE_MONITORING_STACK,
)
from mlinfra.guardrails.graph import SECRET_MARK, kube_object_key, kube_type_token
from mlinfra.manifests.serving import build_model_objects, build_namespace_objects
from mlinfra.monitoring.helm_values import CHART, CHART_REPO, CHART_VERSION, build_helm_values
from mlinfra.monitoring.objects import (
    build_alertmanager_secret,
    build_dashboard_configmap,
    build_prometheus_rule,
    build_service_monitor,
)
from mlinfra.planning.plan import plan_environment
from mlinfra.profiles import load_profile

KUBE_CONTEXT = "lab-ctx-17"  # the two-model profile's onprem.kube_context (conftest)
RELEASE = "kubernetes:helm.sh/v3:Release"


def _of_type(run, typ: str) -> list[dict]:
    return [r for r in run.resources if r["type"] == typ]


def _one(run, typ: str) -> dict:
    found = _of_type(run, typ)
    assert len(found) == 1, f"expected one {typ}, found {[r['name'] for r in found]}"
    return found[0]


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_every_child_has_a_parent_and_the_explicit_provider(runs, env):
    run = runs[env]
    scope = _one(run, TYPE_ENVIRONMENT)
    provider = _one(run, "pulumi:providers:kubernetes")
    assert provider["inputs"]["context"] == KUBE_CONTEXT, "provider must be bound to onprem.kube_context"
    assert provider["parent"] == scope["urn"]
    components = {r["urn"]: r for r in run.resources if not r["custom"]}
    for r in run.resources:
        assert r["parent"], f"{r['type']} {r['name']} has no parent"
        if r is not scope:
            assert r["parent"] in components, f"{r['name']}'s parent {r['parent']} is not a component"
        if r["custom"] and r["type"].startswith("kubernetes:"):
            assert r["provider"] == provider["urn"], f"{r['name']} uses provider {r['provider']}"
    for server in _of_type(run, TYPE_MODEL_SERVER) + _of_type(run, TYPE_MONITORING_STACK):
        assert server["parent"] == scope["urn"]
        children = [r for r in run.resources if r["parent"] == server["urn"]]
        assert children, f"{server['name']} has no children"
        assert all(c["name"].startswith(server["name"] + "-") for c in children), "child names derive from the component"


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_recorded_inputs_equal_the_pure_builders(runs, env, plain, kube_objects):
    run = runs[env]
    plan = plan_environment(load_profile(str(runs["path"])), env, "onprem-k8s")
    expected = build_namespace_objects(plan)
    for model in plan.models:
        expected += build_model_objects(plan, model)
        expected += [build_service_monitor(plan, model), build_dashboard_configmap(plan, model)]
    expected.append(build_prometheus_rule(plan))
    recorded = kube_objects(run)
    for obj in expected:
        key = kube_object_key({"type": kube_type_token(obj["apiVersion"], obj["kind"]), "inputs": obj})
        assert key in recorded, f"{key} was built but not registered"
        assert plain(recorded[key]["inputs"]) == plain(obj), f"{key}: registered inputs differ from the builder"
    release = _one(run, RELEASE)["inputs"]
    assert plain(release["values"]) == plain(build_helm_values(plan))
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (CHART, CHART_VERSION, CHART_REPO)
    assert CHART_VERSION == "88.5.3" and release["name"] == MONITORING_RELEASE_NAME
    assert release["namespace"] == plan.monitoring.namespace
    # nothing registered that the builders did not build, except the Secret (its values are Pulumi secrets)
    secret = build_alertmanager_secret(plan)
    secret_key = ("core/Secret", secret["metadata"]["namespace"], secret["metadata"]["name"])
    built = {kube_object_key({"type": kube_type_token(o["apiVersion"], o["kind"]), "inputs": o}) for o in expected}
    assert set(recorded) == built | {secret_key}
    registered_secret = recorded[secret_key]["inputs"]
    assert plain({**registered_secret, "stringData": None}) == plain({**secret, "stringData": None})


def test_two_models_do_not_collide(runs, kube_objects):
    run = runs["prod"]
    servers = {r["name"]: r for r in _of_type(run, TYPE_MODEL_SERVER)}
    assert set(servers) == {"fraud-lab-fraud", "fraud-lab-ranker"}
    deployments = {r["inputs"]["metadata"]["name"]: r for r in _of_type(run, "kubernetes:apps/v1:Deployment")}
    assert set(deployments) == {"fraud", "ranker"}
    assert deployments["fraud"]["parent"] == servers["fraud-lab-fraud"]["urn"]
    assert deployments["ranker"]["parent"] == servers["fraud-lab-ranker"]["urn"]
    monitors = {r["name"] for r in _of_type(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")}
    assert monitors == {"fraud-lab-monitoring-service-monitor-fraud", "fraud-lab-monitoring-service-monitor-ranker"}
    names = [(r["type"], r["name"]) for r in run.resources]
    assert len(names) == len(set(names))
    assert len(kube_objects(run)) == len([r for r in run.resources if kube_object_key(r)])


def test_dev_and_prod_differ_in_replicas_disruption_budgets_and_protection(runs):
    dev, prod = runs["dev"], runs["prod"]
    hpa = {e: {r["inputs"]["metadata"]["name"]: r["inputs"]["spec"] for r in
               _of_type(runs[e], "kubernetes:autoscaling/v2:HorizontalPodAutoscaler")} for e in ("dev", "prod")}
    assert hpa["dev"]["fraud"]["minReplicas"] == 1 and hpa["dev"]["ranker"]["minReplicas"] == 1
    assert hpa["prod"]["fraud"]["minReplicas"] == 3 and hpa["prod"]["fraud"]["maxReplicas"] == 9
    assert not _of_type(dev, "kubernetes:policy/v1:PodDisruptionBudget"), "dev has no PodDisruptionBudget"
    assert len(_of_type(prod, "kubernetes:policy/v1:PodDisruptionBudget")) == 2, "prod has one PDB per model"
    assert not any(r["options"]["protect"] for r in dev.resources), "nothing is protected in dev"
    protected = {r["type"] for r in prod.resources if r["options"]["protect"]}
    assert protected == {"kubernetes:core/v1:Namespace", RELEASE}, f"prod protects exactly the stateful: {protected}"


def test_custom_resources_and_the_secret_wait_for_the_release(runs):
    run = runs["dev"]
    release = _one(run, RELEASE)
    stack = _one(run, TYPE_MONITORING_STACK)
    waiting = [r for r in run.resources if r["parent"] == stack["urn"] and r is not release]
    kinds = {r["type"].rsplit(":", 1)[-1] for r in waiting}
    assert kinds == {"PrometheusRule", "ServiceMonitor", "ConfigMap", "Secret"}, kinds
    for r in waiting:
        assert release["urn"] in r["options"]["depends_on"], f"{r['name']} does not depend on the release"
    assert not release["options"]["depends_on"]


def test_alertmanager_secret_holds_pulumi_secrets_only(runs):
    run = runs["prod"]
    secret = _one(run, "kubernetes:core/v1:Secret")
    assert secret["inputs"]["stringData"] == SECRET_MARK, "stringData must be a Pulumi secret, not plain text"
    raw = run.raw_inputs[secret["urn"]]["stringData"]
    wrapped = raw["value"]  # the wire format keeps the secret wrapper: {sig: secret, value: {...}}
    assert raw[next(k for k in raw if k != "value")] == "1b47061264138c4ac30d75fd1eb44270"
    assert wrapped == {"slackHook": "mlinfra-fake-secret-slackHook", "pdRoutingKey": "mlinfra-fake-secret-pdRoutingKey"}
    flat = repr([r["inputs"] for r in run.resources])
    for value in run.secret_values.values():
        assert value not in flat, f"{value} reached a plain input"


def test_outputs_name_target_endpoints_dashboards_routes_and_cost(runs):
    dev, prod = runs["dev"].outputs, runs["prod"].outputs
    assert dev["target"] == "onprem-k8s" and dev["target_chosen_by"] == "config mlinfra:target"
    assert dev["endpoints"] == {
        "fraud": "https://fraud.dev.fraud-lab.internal",
        "ranker": "https://ranker.dev.fraud-lab.internal",
    }
    assert set(prod["dashboards"]) == {"fraud", "ranker"} and prod["dashboards"]["fraud"].startswith("/d/")
    page = {r["receiver"]: r["integrations"] for r in prod["alert_routes"]}
    assert page["mlinfra-page"] == ["pagerduty", "slack"], "prod pages through PagerDuty and Slack"
    assert "mlinfra-page" not in {r["receiver"] for r in dev["alert_routes"]}, "dev does not page"
    assert isinstance(prod["monthly_cost_eur"], (int, float)) and prod["monthly_cost_eur"] > 0


def test_a_duplicate_name_fails_like_pulumi_up(write_profile):
    from mlinfra.components.model_server import KubernetesModelServer, KubernetesModelServerArgs

    plan = plan_environment(load_profile(str(write_profile())), "dev", "onprem-k8s")

    def program():
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("p", context=KUBE_CONTEXT)
        for _ in range(2):  # the same component name twice: its children collide
            KubernetesModelServer("same", KubernetesModelServerArgs(plan=plan, model=plan.models[0]), provider=provider)

    with pytest.raises(OfflineError, match=r"two resources are both named 'same'"):
        run_mocked(program, stack="dev")


def test_two_runs_in_one_process_are_independent(runs):
    from mlinfra.components.offline import run_offline

    again = run_offline(runs["path"], "dev", target="onprem-k8s")
    key = lambda run: sorted((r["type"], r["name"], repr(r["inputs"])) for r in run.resources)  # noqa: E731
    assert key(again) == key(runs["dev"])
    assert len(runs["prod"].resources) > len(runs["dev"].resources)  # prod adds PDBs; no leak between runs


def test_stack_config_kube_context_overrides_the_profile(runs):
    from mlinfra import program

    run = run_mocked(
        program.main,
        stack="dev",
        config={"mlinfra:profile": str(runs["path"]), "mlinfra:target": "onprem-k8s", "mlinfra:kubeContext": "dev-ctx-3"},
        secret_keys=["slackHook", "pdRoutingKey"],
    )
    assert _one(run, "pulumi:providers:kubernetes")["inputs"]["context"] == "dev-ctx-3"
    assert run.outputs["kube_context"] == "dev-ctx-3"


@pytest.mark.parametrize(
    ("env", "target", "message"),
    [
        pytest.param("qa", "onprem-k8s", r"environment 'qa' is not in the profile; declared: dev, staging, prod", id="env"),
        pytest.param("dev", "nomad", r"config mlinfra:target: unknown target 'nomad'", id="target"),
        pytest.param("dev", "aws-sagemaker", r"target 'aws-sagemaker' \(config mlinfra:target\) cannot be deployed", id="undeployable"),
    ],
)
def test_program_errors_are_messages(runs, env, target, message):
    from mlinfra.components.offline import run_offline

    with pytest.raises(OfflineError, match=message):
        run_offline(runs["path"], env, target=target)


def test_a_missing_secret_config_value_is_named(repo_root):
    """`require_secret` fails with the key when the stack has no value for it."""
    from mlinfra import program

    profile = str(repo_root / "stacks" / "profile.yaml")
    with pytest.raises(OfflineError, match="slackWebhookUrl"):
        run_mocked(program.main, stack="dev", config={"mlinfra:profile": profile, "mlinfra:target": "onprem-k8s"})
