"""One monitoring stack per cluster: which environments share one, who installs it, what each routes."""

from __future__ import annotations

import dataclasses

import pytest

from mlinfra.monitoring.ownership import stack_ownership
from mlinfra.planning.plan import monitoring_share
from mlinfra.profiles.environments import all_environments
from mlinfra.targets.registry import get_target, plan_for
from mlinfra.planning.specs import RoutedEnvironment
from mlinfra.profiles import profile_from_data

MODEL = {
    "name": "pricer",
    "framework": "xgboost",
    "artifact": "s3://pricing/pricer/v5",
    "traffic": {"average_rps": 13, "peak_rps": 61},
    "slo": {"latency_p95_ms": 140, "availability": 0.998},
}


def profile(environments, onprem_context="rack-a"):
    return profile_from_data(
        {
            "version": 1,
            "name": "pricing",
            "environments": environments,
            "models": [MODEL],
            "onprem": {"kube_context": onprem_context},
        }
    )


def owners(p, target="onprem-k8s") -> dict[str, str]:
    return {env: plan_for(p, env, target).monitoring.stack_owner for env in p.environment_names}


def routed(p, env, target="onprem-k8s") -> list[tuple[str, bool]]:
    return [(r.name, r.alerts_page) for r in plan_for(p, env, target).monitoring.routed_environments]


@pytest.mark.parametrize(
    ("environments", "expected"),
    [
        pytest.param(["dev", "staging", "prod"], dict.fromkeys(("dev", "staging", "prod"), "prod"), id="prod-owns"),
        pytest.param(["prod", "dev"], {"prod": "prod", "dev": "prod"}, id="declared-order-irrelevant"),
        pytest.param(["dev", "qa"], {"dev": "qa", "qa": "qa"}, id="staging-tier-over-dev"),
        pytest.param(["sandbox", "dev"], {"sandbox": "sandbox", "dev": "sandbox"}, id="dev-tie-first-declared"),
        pytest.param(
            {"dev": None, "prod-eu": {"tier": "prod"}, "prod": None},
            {"dev": "prod-eu", "prod-eu": "prod-eu", "prod": "prod-eu"},
            id="prod-tie-first-declared",
        ),
        pytest.param(
            {"dev": {"tier": "prod"}, "prod": {"tier": "staging"}},
            {"dev": "dev", "prod": "dev"},
            id="tier-overrides-not-names",
        ),
        pytest.param(["dev"], {"dev": "dev"}, id="alone"),
    ],
)
def test_the_highest_tier_on_a_cluster_owns_its_monitoring_stack(environments, expected):
    p = profile(environments)
    assert owners(p) == expected
    for env, owner in expected.items():
        assert plan_for(p, env, "onprem-k8s").monitoring.owns_stack == (env == owner)


def test_own_clusters_through_kube_context_overrides():
    p = profile(
        {
            "dev": {"kube_context": "rack-b"},
            "test": {"kube_context": "rack-b"},
            "staging": None,
            "prod": {"kube_context": "rack-c"},
        }
    )
    assert owners(p) == {"dev": "test", "test": "test", "staging": "staging", "prod": "prod"}
    plans = {env: plan_for(p, env, "onprem-k8s") for env in p.environment_names}
    assert {env: plan.kube_context for env, plan in plans.items()} == {
        "dev": "rack-b", "test": "rack-b", "staging": "rack-a", "prod": "rack-c",
    }
    assert routed(p, "test") == [("dev", False), ("test", False)]
    assert routed(p, "dev") == [("dev", False)]
    assert routed(p, "staging") == [("staging", False)] and routed(p, "prod") == [("prod", True)]
    share = monitoring_share(p, "dev", _clusters(p, "onprem-k8s"))
    assert (share.cluster, share.names, share.owner) == ("rack-b", ("dev", "test"), "test")


def _clusters(p, target):
    t = get_target(target)
    return {e.name: t.cluster(p, e) for e in all_environments(p)}


def test_an_override_equal_to_the_default_context_shares_the_cluster():
    p = profile({"dev": {"kube_context": "rack-a"}, "prod": None})
    assert owners(p) == {"dev": "prod", "prod": "prod"}


def test_the_owner_routes_every_environment_on_its_cluster_with_its_own_paging():
    p = profile({"dev": {"alerts_page": True}, "staging": None, "prod": {"alerts_page": False}})
    assert routed(p, "prod") == [("dev", True), ("staging", False), ("prod", False)]
    assert routed(p, "dev") == [("dev", True)], "a non-owner routes only itself (what render writes for it)"
    assert routed(p, "staging") == [("staging", False)]


@pytest.mark.parametrize("target", [pytest.param("aws-eks", id="aws-eks"), pytest.param("aws-sagemaker", id="other")])
def test_cloud_environments_each_own_their_cluster(target):
    p = profile(["dev", "staging", "prod"])
    assert owners(p, target) == {"dev": "dev", "staging": "staging", "prod": "prod"}
    assert routed(p, "prod", target) == [("prod", True)] and routed(p, "dev", target) == [("dev", False)]
    assert monitoring_share(p, "dev", _clusters(p, target)).cluster is None


def test_plan_invariants_name_the_inconsistency():
    plan = plan_for(profile(["dev", "prod"]), "dev", "onprem-k8s")
    mon = plan.monitoring
    with pytest.raises(ValueError, match=r"environment 'dev': monitoring.owns_stack is True but monitoring.stack_owner is 'prod'"):
        dataclasses.replace(plan, monitoring=dataclasses.replace(mon, owns_stack=True))
    with pytest.raises(ValueError, match=r"routed_environments must hold it once, with alerts_page False"):
        dataclasses.replace(plan, monitoring=dataclasses.replace(
            mon, routed_environments=(RoutedEnvironment(name="dev", alerts_page=True),)))
    with pytest.raises(ValueError, match=r"does not own the monitoring stack \('prod' does\): its routed_environments"):
        dataclasses.replace(plan, monitoring=dataclasses.replace(
            mon, routed_environments=(*mon.routed_environments, RoutedEnvironment(name="prod", alerts_page=True))))


def test_ownership_notes_say_who_installs_what_and_the_deploy_order():
    p = profile(["dev", "staging", "prod"])
    assert stack_ownership(plan_for(p, "prod", "onprem-k8s")) == {
        "owner": "prod",
        "owned_here": True,
        "routes_alerts_of": ["dev", "staging", "prod"],
        "note": "environment 'prod' installs the cluster's monitoring stack (kube-prometheus-stack 88.5.3, namespace "
        "monitoring: Prometheus, Alertmanager, Grafana and the monitoring CRDs); it is shared with dev, staging "
        "(same cluster), which add only their own PrometheusRule, ServiceMonitors and dashboards: deploy 'prod' "
        "first, they need its CRDs",
    }
    assert stack_ownership(plan_for(p, "staging", "onprem-k8s")) == {
        "owner": "prod",
        "owned_here": False,
        "routes_alerts_of": [],
        "note": "environment 'prod' installs the cluster's monitoring stack (kube-prometheus-stack 88.5.3, namespace "
        "monitoring) and its Alertmanager routes the alerts of 'staging'; 'staging' adds only its PrometheusRule, "
        "ServiceMonitors and dashboards, which need that stack's CRDs: deploy 'prod' first",
    }
    alone = stack_ownership(plan_for(p, "dev", "aws-eks"))
    assert alone["owned_here"] and alone["routes_alerts_of"] == ["dev"] and "shared" not in alone["note"]
