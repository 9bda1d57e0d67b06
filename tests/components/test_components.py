"""KubernetesModelServer, MonitoringStack and the assembly under Pulumi's official mocks (assert after the run)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime import rpc

from resource_graph import of_type, one
from mlinfra.components.offline import OfflineError, run_mocked
from mlinfra.conventions import (
    MONITORING_RELEASE_NAME,
    TYPE_ENVIRONMENT,
    TYPE_MODEL_SERVER,
    TYPE_MONITORING_STACK,
)
from mlinfra.guardrails import context_from_graph, run_guardrails
from mlinfra.guardrails.graph import SECRET_MARK, kube_object_key, kube_type_token
from mlinfra.manifests.serving import build_model_objects, build_namespace_objects
from mlinfra.monitoring.helm_values import CHART, CHART_REPO, CHART_VERSION, build_helm_values
from mlinfra.monitoring.objects import (
    build_dashboard_configmap,
    build_monitoring_namespace,
    build_monitoring_network_policy,
    build_monitoring_secrets,
    build_prometheus_rule,
    build_service_monitor,
)
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import load_profile

KUBE_CONTEXT = "lab-ctx-17"  # the two-model profile's onprem.kube_context (conftest)
RELEASE = "kubernetes:helm.sh/v3:Release"


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_every_child_has_a_parent_and_the_explicit_provider(runs, env):
    run = runs[env]
    scope = one(run, TYPE_ENVIRONMENT)
    provider = one(run, "pulumi:providers:kubernetes")
    assert provider["inputs"]["context"] == KUBE_CONTEXT, "provider must be bound to onprem.kube_context"
    assert provider["parent"] == scope["urn"]
    components = {r["urn"]: r for r in run.resources if not r["custom"]}
    for r in run.resources:
        assert r["parent"], f"{r['type']} {r['name']} has no parent"
        if r is not scope:
            assert r["parent"] in components, f"{r['name']}'s parent {r['parent']} is not a component"
        if r["custom"] and r["type"].startswith("kubernetes:"):
            assert r["provider"] == provider["urn"], f"{r['name']} uses provider {r['provider']}"
    for server in of_type(run, TYPE_MODEL_SERVER) + of_type(run, TYPE_MONITORING_STACK):
        assert server["parent"] == scope["urn"]
        children = [r for r in run.resources if r["parent"] == server["urn"]]
        assert children, f"{server['name']} has no children"
        assert all(c["name"].startswith(server["name"] + "-") for c in children), "child names derive from the component"


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_recorded_inputs_equal_the_pure_builders(runs, env, plain, kube_objects):
    run = runs[env]
    plan = plan_for(load_profile(str(runs["path"])), env, "onprem-k8s")
    owner = env == "prod"  # the three environments share lab-ctx-17: prod installs its monitoring stack
    assert plan.monitoring.owns_stack is owner
    expected = [*build_namespace_objects(plan),
                *([build_monitoring_namespace(plan), build_monitoring_network_policy(plan)] if owner else [])]
    for model in plan.models:
        expected += build_model_objects(plan, model)
        expected += [build_service_monitor(plan, model), build_dashboard_configmap(plan, model)]
    expected.append(build_prometheus_rule(plan))
    recorded = kube_objects(run)
    for obj in expected:
        key = kube_object_key({"type": kube_type_token(obj["apiVersion"], obj["kind"]), "inputs": obj})
        assert key in recorded, f"{key} was built but not registered"
        assert plain(recorded[key]["inputs"]) == plain(obj), f"{key}: registered inputs differ from the builder"
    built = {kube_object_key({"type": kube_type_token(o["apiVersion"], o["kind"]), "inputs": o}) for o in expected}
    if not owner:  # no monitoring namespace, no Secrets, no release: the owner's stack has them
        assert set(recorded) == built and not of_type(run, RELEASE)
        return
    release = _monitoring_release(run)["inputs"]
    assert plain(release["values"]) == plain(build_helm_values(plan))
    assert (release["chart"], release["version"], release["repositoryOpts"]["repo"]) == (CHART, CHART_VERSION, CHART_REPO)
    assert CHART_VERSION == "88.5.3" and release["name"] == MONITORING_RELEASE_NAME
    assert release["namespace"] == plan.monitoring.namespace and release["createNamespace"] is False
    # nothing registered that the builders did not build; the Secrets' values are Pulumi secrets (compared below)
    secrets = {("core/Secret", o["metadata"]["namespace"], o["metadata"]["name"]): o for o in build_monitoring_secrets(plan)}
    assert set(secrets) == {("core/Secret", "monitoring", "mlinfra-grafana-admin"),
                            ("core/Secret", "monitoring", "mlinfra-alertmanager-notify")}
    assert set(recorded) == built | set(secrets)
    for key, secret in secrets.items():
        registered = recorded[key]["inputs"]
        assert plain({**registered, "stringData": None}) == plain({**secret, "stringData": None}), key


def test_two_models_do_not_collide(runs, kube_objects):
    run = runs["prod"]
    servers = {r["name"]: r for r in of_type(run, TYPE_MODEL_SERVER)}
    assert set(servers) == {"fraud-lab-fraud", "fraud-lab-ranker"}
    deployments = {r["inputs"]["metadata"]["name"]: r for r in of_type(run, "kubernetes:apps/v1:Deployment")}
    assert set(deployments) == {"fraud", "ranker"}
    assert deployments["fraud"]["parent"] == servers["fraud-lab-fraud"]["urn"]
    assert deployments["ranker"]["parent"] == servers["fraud-lab-ranker"]["urn"]
    monitors = {r["name"] for r in of_type(run, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor")}
    assert monitors == {"fraud-lab-monitoring-service-monitor-fraud", "fraud-lab-monitoring-service-monitor-ranker"}
    names = [(r["type"], r["name"]) for r in run.resources]
    assert len(names) == len(set(names))
    assert len(kube_objects(run)) == len([r for r in run.resources if kube_object_key(r)])


def test_dev_and_prod_differ_in_replicas_disruption_budgets_and_protection(runs):
    dev, prod = runs["dev"], runs["prod"]
    scaled = {e: {r["inputs"]["metadata"]["name"]: r["inputs"]["spec"] for r in
                  of_type(runs[e], "kubernetes:keda.sh/v1alpha1:ScaledObject")} for e in ("dev", "prod")}
    assert scaled["dev"]["fraud"]["minReplicaCount"] == 1 and scaled["dev"]["ranker"]["minReplicaCount"] == 1
    assert scaled["prod"]["fraud"]["minReplicaCount"] == 3 and scaled["prod"]["fraud"]["maxReplicaCount"] == 9
    assert not of_type(dev, "kubernetes:policy/v1:PodDisruptionBudget"), "dev has no PodDisruptionBudget"
    assert len(of_type(prod, "kubernetes:policy/v1:PodDisruptionBudget")) == 2, "prod has one PDB per model"
    assert not any(r["options"]["protect"] for r in dev.resources), "nothing is protected in dev"
    protected = {(r["type"], r["name"]) for r in prod.resources if r["options"]["protect"]}
    assert protected == {
        ("kubernetes:core/v1:Namespace", "fraud-lab-namespace"),
        ("kubernetes:core/v1:Namespace", "fraud-lab-monitoring-namespace"),
        (RELEASE, "fraud-lab-monitoring-release"),
        (RELEASE, "fraud-lab-keda-release"),  # every release in prod (guardrails/stateful.py)
    }, f"prod protects exactly the stateful: {protected}"


def _monitoring_release(run) -> dict:
    """The kube-prometheus-stack release (the owner also installs KEDA's: components/autoscaling.py)."""
    return one(run, TYPE_MONITORING_STACK) and next(
        r for r in of_type(run, RELEASE) if r["name"].endswith("-monitoring-release"))


def _monitoring_children(run) -> dict[str, dict]:
    """{role: resource} of the MonitoringStack's children (role = child name without the component's name)."""
    stack = one(run, TYPE_MONITORING_STACK)
    prefix = stack["name"] + "-"
    return {r["name"].removeprefix(prefix): r for r in run.resources if r["parent"] == stack["urn"]}


def test_namespace_then_secrets_then_release_then_custom_resources(runs):
    """The order Pulumi creates them in is the depends_on graph: Helm waits for readiness, so the Grafana admin
    Secret must exist before the release, and the custom resources need the release's CRDs (the owner, prod)."""
    children = _monitoring_children(runs["prod"])
    kinds = {role: r["type"].rsplit(":", 1)[-1] for role, r in children.items()}
    assert sorted(kinds) == [
        "dashboard-fraud", "dashboard-ranker", "grafana-admin-secret", "namespace", "network-policy", "notify-secret",
        "prometheus-rule", "release", "service-monitor-fraud", "service-monitor-ranker",
    ], sorted(kinds)
    urn = {role: r["urn"] for role, r in children.items()}
    deps = {role: set(r["options"]["depends_on"]) for role, r in children.items()}
    namespace, secrets = "namespace", ("grafana-admin-secret", "notify-secret", "network-policy")
    assert not deps[namespace] & set(urn.values()), "the namespace depends on nothing of the stack"
    assert kinds[namespace] == "Namespace" and children[namespace]["inputs"]["metadata"]["name"] == "monitoring"
    for role in secrets:
        assert kinds[role] in ("Secret", "NetworkPolicy") and children[role]["inputs"]["metadata"]["namespace"] == "monitoring"
        assert urn[namespace] in deps[role], f"{role} does not wait for the monitoring namespace"
        assert urn["release"] not in deps[role], f"{role} must exist before the release, not after it"
    assert {urn[namespace], *(urn[s] for s in secrets)} <= deps["release"], "the release must wait for its Secrets"
    assert children["release"]["inputs"]["createNamespace"] is False, "Helm must not create the namespace"
    after = [role for role in children if role not in (namespace, *secrets, "release")]
    assert {kinds[r] for r in after} == {"PrometheusRule", "ServiceMonitor", "ConfigMap"}
    for role in after:
        assert urn["release"] in deps[role], f"{role} does not depend on the release (its CRDs)"
    assert not deps["release"] & {urn[r] for r in after}, "the release must not wait for what waits for it"


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_every_namespaced_object_waits_for_its_namespace(runs, env):
    """Every object in a Namespace the stack creates depends on that Namespace resource (the default-deny
    NetworkPolicy used to be created alongside it and only worked because the provider retries)."""
    run = runs[env]
    namespaces = {r["inputs"]["metadata"]["name"]: r["urn"] for r in of_type(run, "kubernetes:core/v1:Namespace")}
    assert namespaces, "the stack creates its namespaces"
    waiting = {}
    for r in run.resources:
        key = kube_object_key(r) if r["type"] != RELEASE else ("helm", r["inputs"]["namespace"], r["name"])
        if key and key[1] in namespaces:
            waiting[r["name"]] = namespaces[key[1]] in r["options"]["depends_on"]
    assert any(name.endswith("network-policy-default-deny") for name in waiting)
    assert [name for name, ok in waiting.items() if not ok] == []


def test_the_release_waits_long_enough_and_leaves_nothing_half_done(runs):
    """A cold kube-prometheus-stack install outlasts the provider's 300 s; a failed one is purged (atomic)."""
    release = _monitoring_release(runs["prod"])["inputs"]
    assert (release["timeout"], release["atomic"], release["cleanupOnFail"]) == (900, True, True)


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("staging", id="staging")])
def test_a_non_owner_adds_only_its_rules_monitors_and_dashboards(runs, env):
    """dev and staging share prod's cluster: no monitoring namespace, Secrets or release of their own (those are
    prod's), and nothing to wait for inside their stack - prod's stack is deployed first (outputs say so)."""
    from mlinfra.program import run_offline

    run = run_offline(runs["path"], env, target="onprem-k8s", secret_keys=[])  # no secret config: none needed
    children = _monitoring_children(run)
    assert sorted(children) == [
        "dashboard-fraud", "dashboard-ranker", "prometheus-rule", "service-monitor-fraud", "service-monitor-ranker",
    ], sorted(children)
    stack_urns = {r["urn"] for r in children.values()}
    for role, r in children.items():
        assert not set(r["options"]["depends_on"]) & stack_urns, f"{role} waits for a sibling"
        assert r["inputs"]["metadata"]["namespace"] == f"fraud-lab-{env}", role
    assert not of_type(run, RELEASE) and not of_type(run, "kubernetes:core/v1:Secret")
    assert [r["inputs"]["metadata"]["name"] for r in of_type(run, "kubernetes:core/v1:Namespace")] == [f"fraud-lab-{env}"]
    ownership = run.outputs["monitoring_stack"]
    assert (ownership["owner"], ownership["owned_here"], ownership["routes_alerts_of"]) == ("prod", False, [])
    assert ownership["note"].endswith("which need that stack's CRDs: deploy 'prod' first"), ownership["note"]


def test_the_owner_names_the_environments_it_serves(runs):
    ownership = runs["prod"].outputs["monitoring_stack"]
    assert (ownership["owner"], ownership["owned_here"]) == ("prod", True)
    assert ownership["routes_alerts_of"] == ["dev", "staging", "prod"]
    assert "shared with dev, staging (same cluster)" in ownership["note"]
    routes = {tuple(r["matchers"]): r["receiver"] for r in runs["prod"].outputs["alert_routes"]}
    assert routes[('environment="prod"', 'severity="critical"')] == "mlinfra-page"
    assert routes[('environment="dev"', 'severity="critical"')] == "mlinfra-ticket"
    assert routes[('severity="critical"',)] == "mlinfra-page", "cluster alerts follow the owner"


def test_environments_on_their_own_clusters_each_install_a_monitoring_stack(write_profile, profile_data):
    """environments.dev.kube_context moves dev to its own cluster: dev and prod both own one."""
    from mlinfra.program import run_offline

    profile_data["environments"]["dev"] = {"kube_context": "lab-ctx-dev-4"}
    path = write_profile(profile_data)
    for env, context, routed in (("dev", "lab-ctx-dev-4", ["dev"]), ("prod", KUBE_CONTEXT, ["staging", "prod"])):
        run = run_offline(path, env, target="onprem-k8s")
        assert one(run, "pulumi:providers:kubernetes")["inputs"]["context"] == context
        assert _monitoring_release(run)["inputs"]["namespace"] == "monitoring"
        assert run.outputs["monitoring_stack"]["routes_alerts_of"] == routed, env
    staging = run_offline(path, "staging", target="onprem-k8s")
    assert not of_type(staging, RELEASE) and staging.outputs["monitoring_stack"]["owner"] == "prod"


def test_monitoring_secrets_hold_pulumi_secrets_only(runs):
    run = runs["prod"]
    children = _monitoring_children(run)
    expected = {
        "grafana-admin-secret": {"admin-user": "admin", "admin-password": "mlinfra-fake-secret-grafanaAdminPassword"},
        "notify-secret": {"slackHook": "mlinfra-fake-secret-slackHook", "pdRoutingKey": "mlinfra-fake-secret-pdRoutingKey"},
    }
    assert sorted(r["name"] for r in of_type(run, "kubernetes:core/v1:Secret")) == [
        "fraud-lab-monitoring-grafana-admin-secret", "fraud-lab-monitoring-notify-secret",
    ]
    for role, values in expected.items():
        secret = children[role]
        assert secret["inputs"]["stringData"] == SECRET_MARK, f"{role}: stringData must be a Pulumi secret, not plain"
        raw = run.raw_inputs[secret["urn"]]["stringData"]
        # the wire format keeps the secret wrapper ({sig: secret, value: {...}}): the engine stores it encrypted
        assert rpc.is_rpc_secret(raw) and rpc.unwrap_rpc_secret(raw) == values, role
    assert run.secret_values == {k: f"mlinfra-fake-secret-{k}" for k in ("grafanaAdminPassword", "pdRoutingKey", "slackHook")}
    flat = repr([r["inputs"] for r in run.resources])
    for value in run.secret_values.values():
        assert value not in flat, f"{value} reached a plain input"


def test_monitoring_stack_takes_its_secrets_through_args(write_profile):
    """No config read by the component: the values come in MonitoringStackArgs.secrets (the program reads them)."""
    import pulumi
    import pulumi_kubernetes as k8s

    from mlinfra.components.monitoring_stack import MonitoringStack, MonitoringStackArgs
    from mlinfra.monitoring.alertmanager import monitoring_secret_keys

    plan = plan_for(load_profile(str(write_profile())), "prod", "onprem-k8s")
    keys = monitoring_secret_keys(plan)
    assert keys == ["grafanaAdminPassword", "pdRoutingKey", "slackHook"]

    def program(values: dict[str, str | None]):
        def run():  # Outputs belong to the run's event loop: made inside the program
            secrets = {k: None if v is None else pulumi.Output.secret(v) for k, v in values.items()}
            provider = k8s.Provider("p", context=KUBE_CONTEXT)
            MonitoringStack("mon", MonitoringStackArgs(plan=plan, secrets=secrets), provider=provider)
        return run

    run = run_mocked(program({k: f"args-{k}-41" for k in keys}), stack="prod")  # and no config at all
    notify = next(r for r in run.resources if r["name"] == "mon-notify-secret")
    assert notify["inputs"]["stringData"] == SECRET_MARK
    assert rpc.unwrap_rpc_secret(run.raw_inputs[notify["urn"]]["stringData"]) == {
        "pdRoutingKey": "args-pdRoutingKey-41", "slackHook": "args-slackHook-41",
    }
    with pytest.raises(OfflineError, match=r"stack 'prod' has no value for the secret config key\(s\) grafanaAdminPassword, "
                                           r"slackHook named in the profile's monitoring section"):
        run_mocked(program({"pdRoutingKey": "p", "slackHook": None}), stack="prod")


def test_profile_names_the_grafana_key_and_the_runbooks(write_profile, profile_data):
    """monitoring.grafana_admin_password_secret picks the config key; monitoring.runbook_url the alerts' links."""
    from mlinfra.program import run_offline

    data = profile_data
    data["monitoring"] |= {"grafana_admin_password_secret": "labGrafanaPw", "runbook_url": "https://wiki.lab.example/ml/runbooks"}
    run = run_offline(write_profile(data), "prod", target="onprem-k8s")
    children = _monitoring_children(run)
    grafana = run.raw_inputs[children["grafana-admin-secret"]["urn"]]["stringData"]["value"]
    assert grafana == {"admin-user": "admin", "admin-password": "mlinfra-fake-secret-labGrafanaPw"}
    assert "grafanaAdminPassword" not in run.secret_values and "labGrafanaPw" in run.secret_values
    rules = children["prometheus-rule"]["inputs"]["spec"]["groups"]
    links = {r["alert"]: r["annotations"]["runbook_url"] for g in rules for r in g["rules"] if "alert" in r}
    assert links and links["MLModelDown"] == "https://wiki.lab.example/ml/runbooks#mlmodeldown"
    assert all(url == f"https://wiki.lab.example/ml/runbooks#{alert.lower()}" for alert, url in links.items())


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

    plan = plan_for(load_profile(str(write_profile())), "dev", "onprem-k8s")

    def program():
        import pulumi_kubernetes as k8s

        provider = k8s.Provider("p", context=KUBE_CONTEXT)
        for _ in range(2):  # the same component name twice: its children collide
            KubernetesModelServer("same", KubernetesModelServerArgs(plan=plan, model=plan.models[0]), provider=provider)

    with pytest.raises(OfflineError, match=r"two resources are both named 'same'"):
        run_mocked(program, stack="dev")


def test_two_runs_in_one_process_are_independent(runs):
    from mlinfra.program import run_offline

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
        secret_keys=["slackHook", "pdRoutingKey", "grafanaAdminPassword"],
    )
    assert one(run, "pulumi:providers:kubernetes")["inputs"]["context"] == "dev-ctx-3"
    assert run.outputs["kube_context"] == "dev-ctx-3"
    # for this environment only: dev is alone on dev-ctx-3, so it installs that cluster's monitoring stack
    assert run.outputs["monitoring_stack"]["owned_here"] is True and of_type(run, RELEASE)
    assert run.outputs["monitoring_stack"]["routes_alerts_of"] == ["dev"]


def test_stack_config_kube_context_of_the_shared_cluster_keeps_the_owner(runs):
    from mlinfra import program

    run = run_mocked(
        program.main,
        stack="staging",
        config={"mlinfra:profile": str(runs["path"]), "mlinfra:target": "onprem-k8s", "mlinfra:kubeContext": KUBE_CONTEXT},
    )
    assert run.outputs["monitoring_stack"]["owner"] == "prod" and not of_type(run, RELEASE)


@pytest.mark.parametrize(
    ("env", "target", "message"),
    [
        pytest.param("qa", "onprem-k8s", r"environment 'qa' is not in the profile; declared: dev, staging, prod", id="env"),
        pytest.param("dev", "nomad", r"config mlinfra:target: unknown target 'nomad'", id="target"),
        pytest.param("dev", "aws-sagemaker", r"stack 'dev': model 'ranker': SageMaker reads model data from S3 only; "
                     r"artifact pvc://ranker-models/v2 cannot be served", id="undeployable"),
    ],
)
def test_program_errors_are_messages(runs, env, target, message):
    from mlinfra.program import run_offline

    with pytest.raises(OfflineError, match=message):
        run_offline(runs["path"], env, target=target)


@pytest.mark.parametrize(
    ("secret_keys", "missing"),
    [
        pytest.param([], "grafanaAdminPassword, slackWebhookUrl", id="none-set"),
        pytest.param(["slackWebhookUrl"], "grafanaAdminPassword", id="grafana-missing"),
        pytest.param(["grafanaAdminPassword"], "slackWebhookUrl", id="slack-missing"),
    ],
)
def test_a_missing_secret_config_value_is_named(repo_root, secret_keys, missing):
    """One error naming every key the stack has no value for, and how to set it (before any resource)."""
    from mlinfra import program

    profile = str(repo_root / "stacks" / "profile.yaml")
    message = (rf"stack 'prod' has no value for the secret config key\(s\) {missing} named in the profile's "
               r"monitoring section; set each once with `pulumi config set --secret -s prod KEY`")
    with pytest.raises(OfflineError, match=message):
        run_mocked(program.main, stack="prod", config={"mlinfra:profile": profile, "mlinfra:target": "onprem-k8s"},
                   secret_keys=secret_keys)
    # dev shares prod's cluster: prod's stack holds the Secrets, dev's needs none of the keys
    dev = run_mocked(program.main, stack="dev", config={"mlinfra:profile": profile, "mlinfra:target": "onprem-k8s"},
                     secret_keys=secret_keys)
    assert dev.outputs["monitoring_stack"]["owner"] == "prod"


def test_no_feasible_target_names_the_conflict(tmp_path):
    """Data that must stay on premise but no cluster declared: the program stops with the decision's reasons."""
    import yaml

    from mlinfra.program import run_offline

    path = tmp_path / "profile.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "name": "vault-scoring",
                "environments": ["dev"],
                "models": [
                    {
                        "name": "vault",
                        "framework": "lightgbm",
                        "artifact": "s3://vault/m/v4",
                        "traffic": {"average_rps": 7, "peak_rps": 19},
                        "slo": {"latency_p95_ms": 310, "availability": 0.995},
                    }
                ],
                "data": {"sovereignty": "on_premise", "classification": "confidential"},
            }
        )
    )
    with pytest.raises(OfflineError, match=r"stack 'dev': no target is feasible for profile 'vault-scoring': .*onprem"):
        run_offline(path, "dev")


def test_guardrails_hold_each_stack_to_what_it_owns(write_profile, profile_data):
    """Two prod-tier environments on one cluster: the first declared owns the monitoring stack. The other is
    still protected like prod, but only for what its stack holds (its namespace) - and passes."""
    from mlinfra.program import run_offline
    from mlinfra.guardrails import context_from_graph, run_guardrails

    profile_data["environments"] = {"prod": {"min_replicas": 3, "max_replicas": 9}, "prod-eu": {"tier": "prod"}}
    path = write_profile(profile_data)
    protected = {}
    for env in ("prod", "prod-eu"):
        run = run_offline(path, env, target="onprem-k8s")
        checks = {c.id: c for c in run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))}
        assert [c.id for c in checks.values() if c.status == "fail"] == [], env
        assert checks["protect"].status == "pass", env
        protected[env] = sorted(r["name"] for r in run.resources if r["options"]["protect"])
        assert run.outputs["monitoring_stack"]["owner"] == "prod"
    assert protected == {
        "prod": ["fraud-lab-keda-release", "fraud-lab-monitoring-namespace", "fraud-lab-monitoring-release",
                 "fraud-lab-namespace"],
        "prod-eu": ["fraud-lab-namespace"],
    }


def test_a_target_without_a_cost_model_deploys_with_no_monthly_cost(tmp_path):
    """The decision scores a plugin without a cost model neutrally and may pick it; the program must not fail on
    it (monthly_cost_eur is then unknown), while a target with one reports its environment's figure."""
    from mlinfra.program import monthly_cost
    from mlinfra.targets.base import Target
    from mlinfra.targets.registry import get_target

    profile = load_profile(str(Path(__file__).resolve().parents[2] / "stacks" / "profile.yaml"))
    bare = type("Bare", (Target,), {"name": "bare"})()
    assert monthly_cost(bare, profile, "prod") is None
    # hardware 15.77 + the cluster base share 21.43 (0.1 node-equivalents) + power 15.97 (0.0781 kW at 0.28 EUR/kWh)
    # + operations 1.69 h x 60 EUR/h = 101.66
    assert monthly_cost(get_target("onprem-k8s"), profile, "prod") == pytest.approx(154.83, abs=0.01)


@pytest.mark.parametrize("env", [pytest.param("dev", id="dev"), pytest.param("prod", id="prod")])
def test_s3_artifact_credentials_become_the_secret_the_fetch_reads(write_profile, profile_data, env):
    """On premise nothing else gives the fetch init container credentials: the Secret it mounts is created from the
    secret config key the profile names - in every stack, before the Deployment - and stays a Pulumi secret."""
    from mlinfra.program import run_offline

    profile_data["models"][0]["artifact_credentials_secret"] = "fraudArtifactConfig"
    run = run_offline(write_profile(profile_data), env, target="onprem-k8s")
    assert "fraudArtifactConfig" in run.secret_values
    named = {r["name"]: r for r in run.resources}
    secret = named["fraud-lab-fraud-artifact-secret"]
    assert secret["inputs"]["metadata"]["name"] == "fraud-artifact"
    assert secret["inputs"]["metadata"]["namespace"] == f"fraud-lab-{env}"
    assert secret["inputs"]["stringData"] == SECRET_MARK, "the credentials file must stay a Pulumi secret"
    raw = run.raw_inputs[secret["urn"]]["stringData"]
    assert rpc.is_rpc_secret(raw) and rpc.unwrap_rpc_secret(raw) == {"config": "mlinfra-fake-secret-fraudArtifactConfig"}
    deployment = named["fraud-lab-fraud-deployment"]
    assert secret["urn"] in deployment["options"]["depends_on"], "the pod must not start before its credentials"
    volumes = deployment["inputs"]["spec"]["template"]["spec"]["volumes"]
    assert {"name": "artifact-credentials", "secret": {"secretName": "fraud-artifact", "optional": True,
                                                       "defaultMode": 0o440}} in volumes
    assert not [r for r in of_type(run, "kubernetes:core/v1:Secret") if "ranker" in r["name"]], "pvc:// reads none"
    checks = {c.id: c for c in run_guardrails(run.resources, context_from_graph(run.resources).with_secrets(run.secret_values))}
    assert checks["secrets"].status == "pass", checks["secrets"].violations


def test_a_missing_artifact_credentials_value_is_named(write_profile, profile_data):
    from mlinfra import program

    profile_data["models"][0]["artifact_credentials_secret"] = "fraudArtifactConfig"
    path = write_profile(profile_data)
    with pytest.raises(OfflineError, match=(
        r"stack 'dev' has no value for the secret config key\(s\) fraudArtifactConfig named in the profile's "
        r"models\[\]\.artifact_credentials_secret; set each once with `pulumi config set --secret -s dev KEY < FILE`"
    )):
        run_mocked(program.main, stack="dev", config={"mlinfra:profile": str(path), "mlinfra:target": "onprem-k8s"},
                   secret_keys=["slackHook", "pdRoutingKey", "grafanaAdminPassword"])


def test_a_target_with_workload_identity_reads_no_artifact_credentials(write_profile, profile_data):
    """aws-eks gives each S3 model an IRSA role and SageMaker its execution role: no key, no Secret there."""
    from mlinfra.manifests.artifacts import artifact_credential_keys
    from mlinfra.targets.registry import get_target

    profile_data["models"][0]["artifact_credentials_secret"] = "fraudArtifactConfig"
    profile = load_profile(str(write_profile(profile_data)))
    assert artifact_credential_keys(profile, get_target("onprem-k8s").artifact_credential_kinds) == {
        "fraud": "fraudArtifactConfig"}
    for name in ("aws-eks", "aws-sagemaker"):
        assert artifact_credential_keys(profile, get_target(name).artifact_credential_kinds) == {}, name


def test_the_kubernetes_provider_never_adopts_an_existing_object(runs):
    """Another profile's monitoring namespace or Secrets are never relabelled: creating an object that exists fails."""
    from mlinfra.components.assembly import NEVER_ADOPT

    (provider,) = [r for r in runs["prod"].resources if r["type"] == "pulumi:providers:kubernetes"]
    if NEVER_ADOPT:
        assert provider["inputs"].get("upsertExistingObjects") in (False, "false"), provider["inputs"]
    else:  # an SDK before the option (pulumi-kubernetes < 4.29): its provider adopts; docs/deploying.md says so
        assert "upsertExistingObjects" not in provider["inputs"]
