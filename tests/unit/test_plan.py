"""plan_environment: what each environment and target gets, traced to the profile with distinct numbers."""

from __future__ import annotations

import pytest

from profile_data import LOAN_DESK, changed

from mlinfra.planning.plan import PlanError
from mlinfra.targets.registry import plan_for
from mlinfra.planning.sizing import size_model
from mlinfra.planning.specs import ReceiverSpec, SmtpSpec
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import UnknownEnvironment, resolve_environment

BASE = changed(
    LOAN_DESK,
    **{
        "environments.prod.retention_days": 41,
        "data": {"classification": "confidential"},
        "monitoring": {
            "retention_days": 23,
            "storage_gib": 77,
            "drift": True,
            "notify": [
                {"type": "email", "to": "risk-oncall@example.com"},
                {"type": "slack", "webhook_secret": "riskSlack", "channel": "#risk"},
                {"type": "email", "to": "risk-leads@example.com"},
                {"type": "pagerduty", "routing_key_secret": "riskPager"},
                {"type": "msteams", "webhook_secret": "riskTeams"},
                {"type": "webhook", "url_secret": "riskHook"},
            ],
            "smtp": {"smarthost": "mail.example.com:2525", "from_address": "ml@example.com", "require_tls": False},
        },
    },
)


def profile(**changes):
    data = changed(BASE, **changes)
    return profile_from_data(data)


def test_onprem_plan_takes_cluster_settings_from_the_onprem_block():
    plan = plan_for(profile(), "prod", "onprem-k8s")
    assert (plan.profile_name, plan.environment, plan.tier, plan.target) == ("loan-desk", "prod", "prod", "onprem-k8s")
    assert plan.namespace == "loan-desk-prod"
    assert plan.kube_context == "dc2-admin"
    assert (plan.ingress_class, plan.ingress_namespace) == ("traefik", "traefik-system")
    assert plan.monitoring.storage_class == "longhorn"
    assert (plan.exposure, plan.authentication, plan.classification) == ("internal", "api_key", "confidential")
    assert (plan.high_availability, plan.protect) == (True, True)


def test_domain_and_tls_secret_defaults_and_overrides():
    plan = plan_for(profile(), "dev", "onprem-k8s")
    assert plan.domain == "loan-desk.internal"
    assert plan.tls_secret == "loan-desk-dev-tls"
    plan = plan_for(
        profile(**{"security.domain": "ml.bank.example", "security.tls_secret_name": "wildcard-ml"}), "dev", "onprem-k8s"
    )
    assert (plan.domain, plan.tls_secret) == ("ml.bank.example", "wildcard-ml")


def test_model_specs_carry_runtime_image_resources_slo_and_sizing():
    p = profile()
    plan = plan_for(p, "prod", "onprem-k8s")
    scorer, reader = plan.models
    sizing = size_model(p.models[0], resolve_environment(p, "prod"))
    assert (scorer.name, scorer.k8s_name, scorer.framework) == ("scorer", "scorer", "lightgbm")
    assert (scorer.runtime, scorer.image) == ("mlserver", "seldonio/mlserver:1.7.1")
    assert (scorer.artifact, scorer.artifact_kind) == ("s3://risk-models/scorer/v12", "s3")
    assert (scorer.cpu, scorer.memory_gib, scorer.gpus, scorer.gpu_type) == (1.5, 3, 0, None)
    assert (scorer.min_replicas, scorer.max_replicas) == (sizing.min_replicas, sizing.max_replicas) == (3, 9)
    assert scorer.capacity_rps_per_replica == sizing.capacity_rps_per_replica == 36.0
    assert (scorer.average_rps, scorer.peak_rps, scorer.latency_p95_ms, scorer.availability) == (11, 130, 170, 0.997)
    assert (reader.runtime, reader.image, reader.artifact_kind) == ("triton", "nvcr.io/nvidia/tritonserver:26.01-py3", "pvc")


def test_gpu_type_falls_back_to_the_onprem_gpu_nodes_and_is_none_without_gpus():
    plan = plan_for(profile(), "dev", "onprem-k8s")
    assert [m.gpu_type for m in plan.models] == [None, "a10"]
    plan = plan_for(profile(**{"models.1.resources.gpu_type": "l40s"}), "dev", "onprem-k8s")
    assert plan.models[1].gpu_type == "l40s"
    plan = plan_for(profile(**{"models.0.resources.gpu_type": "t4"}), "dev", "onprem-k8s")
    assert plan.models[0].gpu_type is None, "gpu_type is ignored when gpus is 0"
    assert plan_for(profile(), "dev", "aws-eks").models[1].gpu_type is None, "no onprem fallback on EKS"


def test_image_override_and_custom_image_as_given():
    p = profile(
        **{
            "models.0.image": "registry.bank.example/mlserver:1.7.1-risk",
            "models.1.framework": "custom",
            "models.1.image": "registry.bank.example/doc-reader:4.0.2",
        }
    )
    scorer, reader = plan_for(p, "dev", "onprem-k8s").models
    assert (scorer.runtime, scorer.image) == ("mlserver", "registry.bank.example/mlserver:1.7.1-risk")
    assert (reader.runtime, reader.image) == ("custom", "registry.bank.example/doc-reader:4.0.2")


def test_dev_is_minimal_prod_is_highly_available():
    dev = plan_for(profile(), "dev", "onprem-k8s")
    prod = plan_for(profile(), "prod", "onprem-k8s")
    assert (dev.tier, dev.high_availability, dev.protect, dev.monitoring.alerts_page) == ("dev", False, False, False)
    assert (prod.tier, prod.high_availability, prod.protect, prod.monitoring.alerts_page) == ("prod", True, True, True)
    assert [m.min_replicas for m in dev.models] == [1, 1]
    assert all(m.min_replicas >= 2 for m in prod.models)
    assert (dev.monitoring.retention_days, prod.monitoring.retention_days) == (7, 41)


def test_monitoring_spec_and_receivers_with_unique_names():
    m = plan_for(profile(), "prod", "onprem-k8s").monitoring
    assert (m.namespace, m.storage_gib, m.drift) == ("monitoring", 77, True)
    assert m.receivers == (
        ReceiverSpec(type="email", name="email-1", to="risk-oncall@example.com"),
        ReceiverSpec(type="slack", name="slack", secret_key="riskSlack", channel="#risk"),
        ReceiverSpec(type="email", name="email-2", to="risk-leads@example.com"),
        ReceiverSpec(type="pagerduty", name="pagerduty", secret_key="riskPager"),
        ReceiverSpec(type="msteams", name="msteams", secret_key="riskTeams"),
        ReceiverSpec(type="webhook", name="webhook", secret_key="riskHook"),
    )
    assert len({r.name for r in m.receivers}) == len(m.receivers)
    assert m.smtp == SmtpSpec(
        smarthost="mail.example.com:2525",
        from_address="ml@example.com",
        auth_username=None,
        auth_password_secret=None,
        require_tls=False,
    )


@pytest.mark.parametrize(
    ("target", "ingress", "storage_class", "context"),
    [
        pytest.param("aws-eks", ("alb", None), None, None, id="aws-eks-alb-default-storage"),
        pytest.param("aws-sagemaker", (None, None), None, None, id="non-kubernetes-target"),
    ],
)
def test_cloud_targets_ignore_the_onprem_block(target, ingress, storage_class, context):
    plan = plan_for(profile(), "dev", target)
    assert (plan.ingress_class, plan.ingress_namespace) == ingress
    assert plan.monitoring.storage_class == storage_class
    assert plan.kube_context == context


def test_onprem_target_without_onprem_block_names_the_field():
    with pytest.raises(PlanError) as exc:
        plan_for(profile(onprem=None), "dev", "onprem-k8s")
    assert str(exc.value) == (
        "target 'onprem-k8s' needs the profile's `onprem` block (kube_context, storage_class, ingress_class); "
        "profile 'loan-desk' has none - add `onprem:` or choose another target"
    )


def test_unknown_environment():
    with pytest.raises(UnknownEnvironment) as exc:
        plan_for(profile(), "qa", "onprem-k8s")
    assert str(exc.value) == "environment 'qa' is not in the profile; declared: dev, prod"


def test_plans_are_deterministic():
    assert plan_for(profile(), "prod", "onprem-k8s") == plan_for(profile(), "prod", "onprem-k8s")
