"""Go-live readiness: one case per gap, each alone on an otherwise ready profile, and the ready profile with none."""

from __future__ import annotations

import pytest
from profile_data import changed

from mlinfra.conventions import RUNBOOK_URL
from mlinfra.monitoring.readiness import CHECKS, readiness
from mlinfra.profiles import profile_from_data
from mlinfra.targets.registry import plan_for

READY = {
    "version": 1,
    "name": "fraud-check",
    "environments": {"dev": {}, "staging": {}, "prod": {"min_replicas": 2}},
    "models": [
        {
            "name": "fraud",
            "framework": "xgboost",
            "artifact": "s3://models/fraud/v11",
            "artifact_credentials_secret": "fraudArtifact",
            "traffic": {"average_rps": 13, "peak_rps": 170},
            "slo": {"latency_p95_ms": 190, "availability": 0.9995},
            "owner": "fraud-ds",
        }
    ],
    "owners": {"fraud-ds": {"contact": "fraud-ds@example.com", "notify": [
        {"type": "pagerduty", "routing_key_secret": "fraudPagerDuty"}, {"type": "email", "to": "fraud-ds@example.com"}]}},
    "onprem": {"kube_context": "prod-cluster"},
    "monitoring": {
        "retention_days": 30,
        "runbook_url": "https://wiki.example.com/ml/runbooks",
        "notify": [{"type": "slack", "webhook_secret": "slackHook"}, {"type": "email", "to": "ml-ops@example.com"}],
        "smtp": {"smarthost": "smtp.example.com:587", "from_address": "am@example.com"},
    },
}


def gaps(data, env: str = "prod") -> list[tuple[str, str]]:
    return [(f.check, f.path) for f in readiness(plan_for(profile_from_data(data), env, "onprem-k8s"))]


def test_a_ready_profile_has_no_gap_in_any_environment():
    for env in ("dev", "staging", "prod"):
        assert gaps(READY, env) == [], env


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"owners": None, "models.0.owner": None}, [("owner", "models[0].owner")], id="prod-model-without-owner"),
        pytest.param({"monitoring.notify": [{"type": "email", "to": "ml-ops@example.com"}]},
                     [("paging", "monitoring.notify")], id="platform-pages-nobody"),
        pytest.param({"owners.fraud-ds.notify": [{"type": "email", "to": "fraud-ds@example.com"}]},
                     [("paging", "owners.fraud-ds.notify")], id="owner-pages-nobody"),
        pytest.param({"monitoring.runbook_url": None}, [("runbooks", "monitoring.runbook_url")], id="runbooks-default-unset"),
        pytest.param({"monitoring.runbook_url": RUNBOOK_URL}, [("runbooks", "monitoring.runbook_url")],
                     id="runbooks-default-written-out"),
        pytest.param({"environments.prod.retention_days": 14}, [("retention", "environments.prod.retention_days")],
                     id="retention-under-the-slo-window"),
        pytest.param({"environments.prod.min_replicas": 1}, [("replicas", "environments.prod.min_replicas")],
                     id="three-nines-on-one-replica"),
    ],
)
def test_each_gap_alone(changes, expected):
    assert gaps(changed(READY, **changes)) == expected


def test_gaps_apply_where_they_matter():
    """dev never pages and is not going live; staging keeps the SLO window; one replica at 99.5 % is no gap."""
    everything = changed(READY, **{"owners": None, "models.0.owner": None, "monitoring.runbook_url": None,
                                   "monitoring.notify": [], "monitoring.retention_days": 14,
                                   "environments.prod.min_replicas": 1, **DRIFT_ON})
    assert [c for c, _ in gaps(everything, "dev")] == ["drift-image"]
    assert [c for c, _ in gaps(everything, "staging")] == ["retention", "drift-image"]
    assert [c for c, _ in gaps(everything, "prod")] == list(CHECKS)
    relaxed = changed(READY, **{"environments.prod.min_replicas": 1, "models.0.slo.availability": 0.995})
    assert gaps(relaxed) == []


DRIFT_ON = {"monitoring.drift": True, "models.0.drift": {"reference": "s3://models/fraud/reference-v11.csv"}}


def test_the_default_drift_image_is_a_gap_in_every_environment_until_the_team_names_its_own():
    """mlinfra publishes no image: the default name cannot be pulled, whatever the tier."""
    for env in ("dev", "staging", "prod"):
        assert gaps(changed(READY, **DRIFT_ON), env) == [("drift-image", "monitoring.drift_image")], env
        own = changed(READY, **DRIFT_ON, **{"monitoring.drift_image": "registry.example.org/ml/mlinfra-drift:0.1.0"})
        assert gaps(own, env) == [], env
    [finding] = readiness(plan_for(profile_from_data(changed(READY, **DRIFT_ON)), "dev", "onprem-k8s"))
    assert "fraud" in finding.message and "Dockerfile" in finding.message


def test_messages_name_the_model_the_value_and_the_fix():
    [finding] = readiness(plan_for(profile_from_data(changed(READY, **{"environments.prod.min_replicas": 1})),
                                   "prod", "onprem-k8s"))
    assert "model 'fraud'" in finding.message and "0.9995" in finding.message
    assert "set environments.prod.min_replicas to 2 or more" in finding.message
