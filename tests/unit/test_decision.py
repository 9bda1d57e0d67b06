"""The decision table: every hard constraint, and the trade-offs the ranking must get right."""

from __future__ import annotations

import copy

import pytest

from mlinfra.decision.criteria import cost_score, normalised_weights
from mlinfra.decision.decide import DecisionError
from mlinfra.decision.decide import decide as rank
from mlinfra.profiles import load_profile, profile_from_data
from mlinfra.profiles.environments import UnknownEnvironment
from mlinfra.targets.registry import get_target, load_targets
from mlinfra.targets.resolve import decision_for


def deployable(target):
    """The built-in target as an installation with its components would offer it: the ranking below is about
    feasibility, costs and scores; what this installation can deploy is tested on its own (test_undeployable_*)."""
    return type(f"Deployable{type(target).__name__}", (type(target),), {"deployment_gaps": lambda self, p: []})()


ALL_DEPLOYABLE = [deployable(t) for t in load_targets()]


def decide(profile, env=None, targets=None):
    """The decision over every built-in target, each deployable."""
    return rank(profile, [deployable(get_target(t)) if isinstance(t, str) else t for t in targets] if targets else ALL_DEPLOYABLE, env)

CPU_MODEL = {
    "name": "scorer",
    "framework": "sklearn",
    "artifact": "s3://b/scorer",
    "resources": {"cpu": 1, "memory_gib": 2},
    "traffic": {"average_rps": 5, "peak_rps": 10},
    "slo": {"latency_p95_ms": 300, "availability": 0.995},
}
GPU_MODEL = {
    "name": "vision",
    "framework": "pytorch",
    "artifact": "s3://b/vision",
    "resources": {"cpu": 2, "memory_gib": 8, "gpus": 1, "gpu_type": "t4"},
    "traffic": {"average_rps": 300, "peak_rps": 330},
    "slo": {"latency_p95_ms": 200, "availability": 0.999},
}
BASE = {
    "version": 1,
    "name": "svc",
    "environments": ["dev", "prod"],
    "models": [CPU_MODEL],
    "data": {"sovereignty": "none", "classification": "internal"},
    "team": {"kubernetes_skills": "basic", "ops_fte": 0.5},
    "onprem": {"kube_context": "dc", "cpu_nodes": 4},
    "cloud": {"region": "eu-central-1"},
}


def _profile(**patch):
    data = copy.deepcopy(BASE)
    for key, value in patch.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = copy.deepcopy(value)
    return profile_from_data(data)


def _option(decision, target):
    return next(o for o in decision.options if o.target == target)


def _violations(decision, target):
    return " | ".join(_option(decision, target).violations)


# ---------------------------------------------------------------------------------------------------------
# Hard constraints


def test_on_premise_sovereignty_leaves_only_onprem():
    d = decide(_profile(data={"sovereignty": "on_premise", "classification": "confidential"}))
    assert d.target == "onprem-k8s"
    for cloud in ("aws-eks", "aws-sagemaker"):
        assert not _option(d, cloud).feasible
        assert "data.sovereignty is 'on_premise': the data may not leave your premises" in _violations(d, cloud)
    assert "onprem-k8s is the only feasible option" in d.reasons[0]


def test_on_premise_without_a_cluster_is_infeasible_and_names_the_conflict():
    d = decide(_profile(data={"sovereignty": "on_premise", "classification": "personal"}, onprem=None))
    assert d.target is None and not d.feasible and d.components == ()
    assert d.reasons[0] == (
        "no target is feasible: aws-eks, aws-sagemaker: data.sovereignty is 'on_premise': the data may not leave "
        "your premises, so no cloud target can process it; onprem-k8s: data must stay on premise "
        "(data.sovereignty: on_premise) but no on-premise cluster is declared: no `onprem` block; declare it with "
        "onprem.kube_context (and onprem.gpu_nodes for GPU models)"
    )
    assert all(not o.feasible and o.score is None for o in d.options)


def test_onprem_needs_an_onprem_block():
    d = decide(_profile(onprem=None))
    assert "no `onprem` block: onprem-k8s deploys to an existing cluster" in _violations(d, "onprem-k8s")
    assert _option(d, "onprem-k8s").monthly_cost_eur is None


def test_gpu_model_with_no_gpu_nodes_rules_out_onprem():
    d = decide(_profile(models=[GPU_MODEL]))
    assert "GPU model 'vision' (1 per replica) needs GPUs but onprem.gpu_nodes is 0" in _violations(d, "onprem-k8s")


def test_gpu_models_need_enough_gpus_for_every_environment_at_peak():
    onprem = {"kube_context": "dc", "gpu_nodes": 2, "gpus_per_node": 2, "gpu_type": "t4"}
    d = decide(_profile(models=[GPU_MODEL], onprem=onprem))
    # 200 req/s per GPU x 0.6 = 120 per replica; peak 330 x 1.2 -> 4 in prod; dev serves 5 %: 16.5 x 1.2 -> 1
    assert (
        "the GPU models need 5 GPUs at peak (vision 1 in dev, vision 4 in prod) but the cluster has "
        "onprem.gpu_nodes x onprem.gpus_per_node = 2 x 2 = 4" in _violations(d, "onprem-k8s")
    )
    ok = decide(_profile(models=[GPU_MODEL], onprem={**onprem, "gpu_nodes": 3}))
    assert _option(ok, "onprem-k8s").feasible


def test_gpu_on_premise_shortage_is_named_as_the_conflict():
    onprem = {"kube_context": "dc", "gpu_nodes": 1, "gpus_per_node": 2}
    d = decide(_profile(models=[GPU_MODEL], onprem=onprem, data={"sovereignty": "on_premise", "classification": "internal"}))
    assert d.target is None
    assert d.reasons[0].startswith("no target is feasible: aws-eks, aws-sagemaker: data.sovereignty is 'on_premise'")
    # prod alone needs 4 of the 2 GPUs: named with its own traffic, not as the sum of every environment
    assert (
        "; onprem-k8s: in prod: its own traffic (300 req/s average, 330 at peak: 1 of the profile's) needs 4 GPUs at "
        "peak (vision 4) but the cluster has onprem.gpu_nodes x onprem.gpus_per_node = 1 x 2 = 2; add GPU nodes, "
        "lower environments.prod.max_replicas or its traffic_share"
    ) in d.reasons[0]
    assert "the GPU models need 5 GPUs" not in d.reasons[0]


def test_each_environment_is_checked_on_its_own_traffic_and_the_shared_cluster_on_their_sum():
    """prod alone (4 GPUs) and dev alone (1) fit a 4-GPU cluster, so neither breaks a rule of its own; sharing one
    cluster they need 5 together (the cluster's rule, which holds prod too); with dev on a cluster of its own, nothing
    is summed and onprem-k8s is feasible in every environment."""
    onprem = {"kube_context": "dc", "gpu_nodes": 2, "gpus_per_node": 2, "gpu_type": "t4"}
    shared = decide(_profile(models=[GPU_MODEL], onprem=onprem), env="prod")
    option = _option(shared, "onprem-k8s")
    assert option.env_violations == {"prod": ()} and not option.feasible and not option.feasible_in("prod")
    assert "the GPU models need 5 GPUs at peak (vision 1 in dev, vision 4 in prod)" in _violations(shared, "onprem-k8s")
    apart = decide(_profile(models=[GPU_MODEL], onprem=onprem, environments={"dev": {"kube_context": "lab"}, "prod": {}}))
    assert _option(apart, "onprem-k8s").feasible
    assert all(_option(apart, "onprem-k8s").feasible_in(e) for e in ("dev", "prod"))


def test_an_environment_too_large_alone_is_named_and_env_reports_it():
    heavy = {**CPU_MODEL, "traffic": {"average_rps": 900, "peak_rps": 2000}}
    d = decide(_profile(models=[heavy], onprem={"kube_context": "dc", "cpu_nodes": 3}), env="dev")
    option = _option(d, "onprem-k8s")
    assert option.feasible_in("dev") and not option.feasible  # dev's 5 % fits; prod's own peak does not
    assert "in prod: its own traffic (900 req/s average, 2000 at peak: 1 of the profile's) needs " in _violations(d, "onprem-k8s")
    assert option.env_violations == {"dev": ()}
    assert any(r.startswith("dev is checked on its own traffic: 45 req/s average, 100 at peak (0.05 of the profile's")
               and "feasible there: " in r and "onprem-k8s" in r.split("feasible there: ")[1].split(";")[0]
               for r in d.reasons)
    prod = decide(_profile(models=[heavy], onprem={"kube_context": "dc", "cpu_nodes": 3}), env="prod")
    assert _option(prod, "onprem-k8s").env_violations["prod"][0].startswith("its own traffic (900 req/s average")
    assert prod.target == d.target, "--env narrows what is reported, never the choice"


def test_staging_is_sized_for_its_own_traffic_not_prods():
    """environments.<env>.traffic_share sizes the environment: staging at its default 20 % of prod needs fewer
    GPUs, and an explicit share of 1.0 (a load-test staging) sizes it like prod."""
    onprem = {"kube_context": "dc", "gpu_nodes": 3, "gpus_per_node": 2, "gpu_type": "t4"}
    envs = {"staging": {}, "prod": {}}
    d = decide(_profile(models=[GPU_MODEL], onprem=onprem, environments=envs))
    assert _option(d, "onprem-k8s").feasible  # 330 x 0.2 x 1.2 / 120 -> 1 in staging + 4 in prod = 5 of 6
    full = decide(_profile(models=[GPU_MODEL], onprem=onprem, environments={"staging": {"traffic_share": 1.0}, "prod": {}}))
    assert "the GPU models need 8 GPUs at peak (vision 4 in staging, vision 4 in prod)" in _violations(full, "onprem-k8s")


def test_gpu_type_must_match_the_cluster():
    onprem = {"kube_context": "dc", "gpu_nodes": 8, "gpus_per_node": 2, "gpu_type": "a10g"}
    d = decide(_profile(models=[GPU_MODEL], onprem=onprem))
    assert "model 'vision' asks for gpu_type 't4' but the cluster's GPU nodes have onprem.gpu_type 'a10g'" in _violations(d, "onprem-k8s")


def test_gpu_replica_must_fit_one_node():
    model = {**GPU_MODEL, "resources": {"cpu": 2, "memory_gib": 8, "gpus": 4}}
    d = decide(_profile(models=[model], onprem={"kube_context": "dc", "gpu_nodes": 8, "gpus_per_node": 2}))
    assert "model 'vision' needs 4 GPUs per replica but a GPU node has onprem.gpus_per_node = 2" in _violations(d, "onprem-k8s")


def test_gpu_model_rules_out_sagemaker_serverless():
    d = decide(_profile(models=[GPU_MODEL]))
    lines = _option(d, "aws-sagemaker").cost_breakdown
    vision = [line for line in lines if line.item.startswith("vision:")]
    assert vision and all("real-time endpoint" in line.item for line in vision)
    assert all("Serverless ruled out: the model needs 1 GPU" in line.note for line in vision)


def test_small_cpu_model_is_served_by_sagemaker_serverless():
    d = decide(_profile())
    items = [line.item for line in _option(d, "aws-sagemaker").cost_breakdown]
    # prod: 5 req/s x 2,628,000 s; the 300 ms p95 SLO is shorter than a cold start: one invocation kept warm
    assert "scorer: Serverless 2 GB, 13.14 M requests, 1 provisioned" in items


def test_cloud_defaults_to_eu_central_1_when_no_cloud_block():
    d = decide(_profile(cloud=None, data={"sovereignty": "eu", "classification": "personal"}))
    eks = _option(d, "aws-eks")
    assert eks.feasible
    assert eks.cost_breakdown[0].price_keys == ("eks/control-plane/eu-central-1",)
    assert "processed by AWS in eu-central-1 (an EU region" in eks.notes["sovereignty"]


def test_decision_targets_restricts_the_choice():
    d = decide(_profile(decision={"targets": ["aws-eks"]}))
    assert d.target == "aws-eks"
    assert _violations(d, "aws-sagemaker") == "not among decision.targets (aws-eks)"
    assert _violations(d, "onprem-k8s") == "not among decision.targets (aws-eks)"


def test_decision_targets_must_be_installed():
    with pytest.raises(DecisionError, match=r"decision.targets names 'aws-lambda', which is not installed; installed targets: aws-eks, aws-sagemaker, onprem-k8s"):
        decide(_profile(decision={"targets": ["aws-eks", "aws-lambda"]}))


def test_a_48_gib_cpu_model_fits_the_memory_optimised_catalogue():
    """Memory-optimised sizes are in the catalogue: a 48 GiB CPU model is not ruled out of the cloud."""
    big = {**CPU_MODEL, "name": "ranker", "resources": {"cpu": 4, "memory_gib": 48}}
    d = decide(_profile(models=[big], onprem={"kube_context": "dc", "cpu_nodes": 8}))
    assert _violations(d, "aws-eks") == "" and _violations(d, "aws-sagemaker") == ""


def test_model_larger_than_any_catalogued_instance_names_the_remedy_not_a_smaller_model():
    big = {**CPU_MODEL, "name": "huge", "resources": {"cpu": 16, "memory_gib": 1000}}
    d = decide(_profile(models=[big], onprem={"kube_context": "dc", "cpu_nodes": 8},
                        costs={"onprem": {"node_memory_gib": 2048}}))
    for target, kind, prefix in (("aws-eks", "EC2", "ec2/"), ("aws-sagemaker", "SageMaker", "sagemaker/ml.")):
        why = _violations(d, target)
        assert f"model 'huge' needs 16 CPU, 1000 GiB per replica and no {kind} instance in the catalogue holds it" in why
        assert f"add an instance type that does with costs.instance_types.{prefix}<type>" in why
        assert "lower" not in why
    assert d.target == "onprem-k8s"


def test_profile_instance_type_makes_a_large_model_feasible():
    big = {**CPU_MODEL, "name": "huge", "resources": {"cpu": 16, "memory_gib": 1000}}
    added = {"ec2/x2iedn.16xlarge": {"vcpu": 64, "memory_gib": 2048, "hourly_usd": 13.338}}
    d = decide(_profile(models=[big], onprem=None, costs={"instance_types": added}), targets=["aws-eks"])
    assert d.target == "aws-eks" and _violations(d, "aws-eks") == ""


LLM_7B = {
    "name": "chat", "framework": "llm", "artifact": "s3://b/chat",
    "resources": {"cpu": 3, "memory_gib": 12, "gpus": 1, "parameters_b": 7},
    "traffic": {"average_rps": 0.5, "peak_rps": 1},
    "slo": {"latency_p95_ms": 20000, "availability": 0.995},
}


def test_a_7b_llm_is_not_placed_on_a_16_gib_t4():
    """7B bf16 weights are 13 GiB; with the KV cache and runtime 16.65 GiB: more than a T4 holds."""
    t4 = {**LLM_7B, "resources": {**LLM_7B["resources"], "gpu_type": "t4"}}
    d = decide(_profile(models=[t4], onprem=None), targets=["aws-eks"])
    assert "1 GPU (t4) with 16.65 GiB GPU memory per replica and no EC2 instance in the catalogue holds it" in _violations(d, "aws-eks")
    assert "has 1 x 16 GiB GPU memory" in _violations(d, "aws-eks")


def test_onprem_cpu_capacity_is_checked():
    heavy = {**CPU_MODEL, "traffic": {"average_rps": 900, "peak_rps": 2000}}
    d = decide(_profile(models=[heavy], onprem={"kube_context": "dc", "cpu_nodes": 1}))
    assert ("in prod: its own traffic (900 req/s average, 2000 at peak: 1 of the profile's) needs 3.17 CPU nodes of 32 "
            "cores / 128 GiB at peak") in _violations(d, "onprem-k8s")
    assert "but onprem.cpu_nodes is 1; add nodes, lower environments.prod.max_replicas or its traffic_share" in _violations(d, "onprem-k8s")


# ---------------------------------------------------------------------------------------------------------
# Trade-offs


def test_sporadic_small_traffic_goes_to_sagemaker_serverless():
    sporadic = {**CPU_MODEL, "traffic": {"average_rps": 0.05, "peak_rps": 1}}
    d = decide(_profile(models=[sporadic]))
    assert d.target == "aws-sagemaker"
    chosen = d.chosen
    assert chosen.monthly_cost_eur < _option(d, "onprem-k8s").monthly_cost_eur < _option(d, "aws-eks").monthly_cost_eur
    assert any(line.item.startswith("scorer: Serverless") for line in chosen.cost_breakdown)


def test_steady_high_gpu_load_with_onprem_gpus_stays_on_premise():
    onprem = {"kube_context": "dc", "cpu_nodes": 4, "gpu_nodes": 6, "gpus_per_node": 2, "gpu_type": "t4"}
    d = decide(_profile(models=[GPU_MODEL], onprem=onprem, team={"kubernetes_skills": "advanced", "ops_fte": 2}))
    assert d.target == "onprem-k8s"
    others = [o for o in d.options if o.target != "onprem-k8s"]
    assert all(o.feasible and o.monthly_cost_eur > d.chosen.monthly_cost_eur for o in others)
    assert d.chosen.criteria["cost"] == 1.0


def test_a_trivial_peak_is_not_called_bursty():
    """0.1 req/s on average and 2 at peak is 20x, but one sklearn replica (24 req/s) holds it: no burst need, no
    'bursty load' reason, the same scalability for fixed and autoscaled capacity."""
    tiny = {**CPU_MODEL, "traffic": {"average_rps": 0.1, "peak_rps": 2}}
    d = decide(_profile(models=[tiny]))
    assert not any("bursty" in r for r in d.reasons)
    assert "one replica per model holds it, so the load asks for no scaling" in _option(d, "onprem-k8s").notes["scalability"]
    assert _option(d, "onprem-k8s").criteria["scalability"] == 1.0
    busy = {**CPU_MODEL, "traffic": {"average_rps": 10, "peak_rps": 200}}
    assert _option(decide(_profile(models=[busy])), "onprem-k8s").criteria["scalability"] < 1.0


def test_a_team_without_operations_time_is_warned_that_nobody_owns_the_service():
    d = decide(_profile(team={"kubernetes_skills": "basic", "ops_fte": 0}))
    assert d.reasons[1].startswith("warning: team.ops_fte is 0, so nobody owns the service")
    assert f"({d.target}: needs ~" in d.reasons[1]
    assert not any("nobody owns" in r for r in decide(_profile()).reasons)


def test_bursty_multi_model_load_goes_to_autoscaling_cloud():
    models = [
        {**CPU_MODEL, "name": f"m{i}", "framework": fw, "resources": {"cpu": 2, "memory_gib": 4},
         "traffic": {"average_rps": avg, "peak_rps": peak}}
        for i, (fw, avg, peak) in enumerate([("xgboost", 4, 80), ("onnx", 6, 90), ("lightgbm", 2, 50)])
    ]
    d = decide(_profile(models=models, team={"kubernetes_skills": "advanced", "ops_fte": 1}))
    assert d.target == "aws-sagemaker"
    onprem = _option(d, "onprem-k8s")
    assert onprem.criteria["scalability"] < d.chosen.criteria["scalability"]
    assert "peak 220 req/s is 18.3x the average" in onprem.notes["scalability"]
    assert any("bursty load (peak 18.3x average)" in r for r in d.reasons)


def test_no_kubernetes_skills_rules_kubernetes_down():
    d = decide(_profile(team={"kubernetes_skills": "none", "ops_fte": 0.1}, data={"sovereignty": "eu", "classification": "personal"}))
    assert d.target == "aws-sagemaker"
    for k8s in ("onprem-k8s", "aws-eks"):
        o = _option(d, k8s)
        assert o.criteria["operations"] <= 0.3  # no Kubernetes skills carry a team 30 % of the way at most
        assert "the team has 0.1 FTE and no Kubernetes skills" in o.notes["operations"]
    # EKS: (8 h cluster + 2 nodes + 1 model) in dev + (8 + 2 + 1) in prod = 22 h = 0.165 FTE; 0.1 / 0.165 x 0.3
    assert _option(d, "aws-eks").notes["operations"].startswith("needs ~0.17 FTE (22 h a month")
    assert _option(d, "aws-eks").criteria["operations"] == pytest.approx(0.1 / (22 / 133.33) * 0.3, abs=0.002)


def test_tight_budget_beats_the_weights():
    sovereignty_only = {"weights": {"cost": 0, "scalability": 0, "sovereignty": 1, "security": 0, "operations": 0}}
    roomy = decide(_profile(decision=sovereignty_only, budget={"monthly_eur": 1000}))
    assert roomy.target == "onprem-k8s"
    tight = decide(_profile(decision=sovereignty_only, budget={"monthly_eur": 250}))
    assert tight.target == "aws-sagemaker"
    onprem = _option(tight, "onprem-k8s")
    assert onprem.over_budget and onprem.score > tight.chosen.score
    assert onprem.why.startswith("over the 250 EUR budget (298 EUR/month)")
    assert "within budget: ≈ 181 of 250 EUR/month" in tight.reasons
    assert tight.reasons[0] == (
        "aws-sagemaker ranks first as the best-scoring option within budget (0.95); scoring higher but over budget: "
        "onprem-k8s (1.00)"
    )


def test_everything_over_budget_is_flagged_in_the_reasons():
    d = decide(_profile(budget={"monthly_eur": 5}))
    assert d.target == "aws-sagemaker"
    assert all(o.over_budget for o in d.options if o.feasible)
    assert any(r.startswith("over budget: ≈ 181 EUR/month exceeds budget.monthly_eur 5") for r in d.reasons)


# ---------------------------------------------------------------------------------------------------------
# Weights, costs per environment, output shape


def test_weights_are_normalised_and_shown():
    profile = _profile(decision={"weights": {"cost": 2, "scalability": 1, "sovereignty": 1, "security": 0, "operations": 1}})
    assert normalised_weights(profile) == {"cost": 0.4, "scalability": 0.2, "sovereignty": 0.2, "security": 0.0, "operations": 0.2}
    assert decide(profile).to_dict()["weights"]["cost"] == 0.4


@pytest.mark.parametrize(
    ("cost", "cheapest", "budget", "expected"),
    [
        pytest.param(40, 40, None, 1.0, id="cheapest"),
        pytest.param(160, 40, None, 0.25, id="ratio-without-budget"),
        pytest.param(160, 40, 2000, 0.94, id="share-of-budget"),
        pytest.param(3000, 40, 2000, 0.0, id="difference-above-budget"),
    ],
)
def test_cost_score(cost, cheapest, budget, expected):
    assert cost_score(cost, cheapest, budget) == expected


def test_costs_for_one_environment_or_the_sum():
    profile = _profile(environments=["dev", "staging", "prod"])
    total = decide(profile)
    per_env = {e: decide(profile, env=e) for e in ("dev", "staging", "prod")}
    for target in ("aws-sagemaker", "aws-eks", "onprem-k8s"):
        parts = sum(_option(per_env[e], target).monthly_cost_eur for e in per_env)
        assert _option(total, target).monthly_cost_eur == pytest.approx(parts, abs=0.02)
        by_env = total.to_dict()["options"][[o.target for o in total.options].index(target)]["monthly_cost_eur_by_env"]
        assert by_env == {e: _option(per_env[e], target).monthly_cost_eur for e in ("dev", "staging", "prod")}
    assert {line.env for line in _option(per_env["prod"], "aws-eks").cost_breakdown} == {"prod"}
    assert per_env["prod"].cost_scope == "environment prod"
    assert total.cost_scope == "sum over all environments (dev, staging, prod)"


def test_one_target_for_every_environment():
    """--env shows an environment's costs; the choice weighs all of them, so no environment decides differently:
    every view names the same target with the same scores and ranks."""
    profile = _profile(environments=["dev", "staging", "prod"])
    total = decide(profile)
    for env in ("dev", "staging", "prod"):
        view = decide(profile, env=env)
        assert view.target == total.target
        assert [(o.target, o.score, o.rank) for o in view.options] == [(o.target, o.score, o.rank) for o in total.options]
    assert any("one target serves every environment (dev, staging, prod)" in r for r in total.reasons)


def test_undeployable_targets_are_never_picked():
    """A target that cannot deploy what the profile asks for is infeasible, still priced, and the row says why:
    SageMaker endpoints answer IAM-signed requests only, and the API Gateway edge for OIDC callers needs the issuer
    its JWT authorizer trusts (security.oidc, not set here); aws-eks deploys."""
    d = decision_for(_profile())  # security.authentication defaults to oidc
    assert d.target is None, "the Kubernetes targets' gates check tokens against security.oidc too"
    for kubernetes in ("onprem-k8s", "aws-eks"):
        assert _option(d, kubernetes).violations[-1].startswith(
            "cannot be deployed: security.authentication is 'oidc' but security.oidc is not set: the gate")
    d = decision_for(_profile(security={"exposure": "internal", "authentication": "oidc", "oidc": {
        "issuer": "https://login.example.com/realms/svc", "audience": ["svc"]}}))
    assert d.feasible and _option(d, "onprem-k8s").feasible
    option = _option(decision_for(_profile()), "aws-sagemaker")
    assert not option.feasible
    assert option.violations[-1].startswith(
        "cannot be deployed: security.authentication is 'oidc' but security.oidc is not set: SageMaker endpoints")
    assert option.monthly_cost_eur is not None, "still priced, for the comparison"
    assert _option(d, "aws-eks").feasible and _option(d, "aws-eks").violations == ()
    cloud = decision_for(_profile(onprem=None, security={"exposure": "internal", "authentication": "oidc", "oidc": {
        "issuer": "https://login.example.com/realms/svc", "audience": ["svc"]}}))
    assert cloud.feasible
    api_key = decision_for(_profile(security={"exposure": "internal", "authentication": "api_key"}))
    assert _option(api_key, "aws-sagemaker").feasible, "API-key callers sign with IAM access keys: deployable"
    public = decision_for(_profile(security={"exposure": "public", "authentication": "none"}))
    assert _option(public, "aws-sagemaker").feasible, "unauthenticated public callers come through the edge"
    oidc = {"issuer": "https://idp.example.com", "audience": ["svc"]}
    issuer = decision_for(_profile(security={"exposure": "internal", "authentication": "oidc", "oidc": oidc}))
    assert _option(issuer, "aws-sagemaker").feasible, "OIDC callers: the edge's JWT authorizer trusts security.oidc"


def test_unknown_environment():
    with pytest.raises(UnknownEnvironment, match="environment 'qa' is not in the profile; declared: dev, prod"):
        decide(_profile(), env="qa")


def test_json_contract_shape():
    out = decide(_profile()).to_dict()
    assert {"target", "feasible", "reasons", "options", "components"} <= set(out)
    assert out["target"] == "aws-sagemaker" and out["feasible"] is True
    assert out["components"] == ["SageMakerEndpoint", "CloudWatchMonitoring"]
    for option in out["options"]:
        assert {"target", "feasible", "violations", "monthly_cost_eur", "cost_breakdown", "score"} <= set(option)
        assert isinstance(option["violations"], list)
    assert [o["target"] for o in out["options"]] == ["aws-sagemaker", "onprem-k8s", "aws-eks"]
    used = {p["key"] for p in out["prices_used"]}
    assert "sagemaker-serverless/gb-second/eu-central-1" in used
    assert all(p["confidence"] == "U" for p in out["prices_used"] if p["key"].endswith("/eu-central-1") and p["key"].startswith("sagemaker"))
    assert {"ec2/m6i.large/eu-central-1", "ec2/m6i.large/us-east-1"} <= used  # the ratio behind the derived prices


def test_unconfirmed_prices_are_never_shown_as_exact():
    d = decide(_profile())
    sm = _option(d, "aws-sagemaker")
    assert sm.estimated
    assert all(line.estimated for line in sm.cost_breakdown if "eu-central-1" in " ".join(line.price_keys))
    onprem = _option(d, "onprem-k8s")
    assert not onprem.estimated


@pytest.mark.parametrize(
    ("example", "target"),
    [
        pytest.param("stacks/profile.yaml", "aws-sagemaker", id="bundled-eu-personal"),
        pytest.param("docs/examples/gpu-onprem.yaml", "onprem-k8s", id="gpu-onprem"),
        pytest.param("docs/examples/bursty-cloud.yaml", "aws-sagemaker", id="bursty-cloud"),
    ],
)
def test_example_profiles_decide_sensibly(repo_root, example, target):
    d = decide(load_profile(repo_root / example))
    assert d.target == target
    if example.endswith("gpu-onprem.yaml"):
        assert [o.target for o in d.options if o.feasible] == ["onprem-k8s"]
    if example.endswith("bursty-cloud.yaml"):
        assert "no `onprem` block" in _violations(d, "onprem-k8s")
        assert _option(d, "aws-eks").criteria["operations"] <= 0.3  # no Kubernetes skills, 0.2 FTE


def test_plugin_target_without_cost_model_or_scores_is_ranked_neutrally():
    from mlinfra.targets.base import Target

    class Bare(Target):
        name = "bare-metal"
        title = "Bare metal"

        def components(self, profile):
            return ["Script"]

        def assemble(self, profile, env, secrets):
            return {}

    d = rank(_profile(), [Bare(), deployable(get_target("aws-sagemaker"))])
    bare = _option(d, "bare-metal")
    assert bare.feasible and bare.monthly_cost_eur is None and bare.cost_breakdown == ()
    assert bare.criteria == {c: 0.5 for c in ("cost", "scalability", "sovereignty", "security", "operations")}
    assert bare.notes["cost"] == "no cost model (neutral 0.5)"
    assert bare.notes["security"] == "not scored by target bare-metal (neutral 0.5)"
    assert d.target == "aws-sagemaker" and bare.rank == 2


# ---------------------------------------------------------------------------------------------------------
# Break-even


def test_break_even_is_where_the_cheapest_option_changes_by_hand():
    from mlinfra.decision.sensitivity import CostCurve, break_evens

    steady = CostCurve("fixed", ((1.0, 150.0), (2.0, 150.0), (4.0, 160.0)))
    usage = CostCurve("usage", ((1.0, 100.0), (2.0, 200.0), (4.0, 400.0)))
    (b,) = break_evens([steady, usage])
    # usage - fixed: -50 at 1 req/s, +50 at 2: they cross half-way, at 1.5 req/s and 150 EUR
    assert (b.average_rps, b.cheaper_below, b.cheaper_above, b.monthly_eur) == (1.5, "usage", "fixed", 150.0)
    assert b.text(1.0) == ("break-even: fixed costs less than usage above ~1.5 req/s average (1.5x today's 1; ~150 "
                           "EUR/month there)")
    assert break_evens([steady]) == []


def test_break_even_names_the_traffic_above_which_on_premise_wins():
    """SageMaker bills usage, the on-premise share is hardware held for the peak (and its base share of the
    cluster): below ~30 req/s average SageMaker is cheaper, above it on premise; the reason and the JSON say so."""
    d = decide(_profile(security={"exposure": "internal", "authentication": "api_key"}))
    (b,) = d.break_even
    assert (b.cheaper_below, b.cheaper_above) == ("aws-sagemaker", "onprem-k8s")
    curves = {c.target: dict(c.points) for c in d.cost_curves}
    lo, hi = 20.0, 40.0  # 4 and 8 times today's 5 req/s: the crossing lies between these sweep points
    d_lo = curves["onprem-k8s"][lo] - curves["aws-sagemaker"][lo]
    d_hi = curves["onprem-k8s"][hi] - curves["aws-sagemaker"][hi]
    assert d_lo > 0 > d_hi
    assert b.average_rps == pytest.approx(lo + (hi - lo) * d_lo / (d_lo - d_hi), abs=0.001)
    assert any(r.startswith("break-even: onprem-k8s costs less than aws-sagemaker above ~30") for r in d.reasons)
    assert d.to_dict()["break_even"][0]["cheaper_above"] == "onprem-k8s"
    assert not any(r.startswith("no break-even") for r in d.reasons)


def test_without_a_break_even_the_reasons_say_what_the_sweep_covered_and_what_stays_cheapest(repo_root):
    """The table and the JSON say it too, not only the decision record: nothing changes from 1/16 to 16 times the
    traffic nor across peak ratios 1 to 16 when one option is the cheapest at every point."""
    d = decide(_profile(security={"exposure": "internal", "authentication": "api_key"}))
    cheapest_today = min(d.cost_curves, key=lambda c: dict(c.points)[round(d.average_rps, 6)]).target
    from mlinfra.decision.sensitivity import no_break_even_text

    assert no_break_even_text(d.cost_curves, d.average_rps) == (
        "no break-even from 0.0625 to 16 times today's traffic nor across peak ratios 1 to 16: "
        f"{cheapest_today} stays the cheapest")
    example = decide(load_profile(repo_root / "stacks" / "profile.yaml"))
    assert example.break_even == () and example.peak_break_even == ()
    [line] = [r for r in example.reasons if r.startswith("no break-even")]
    assert line.endswith(": onprem-k8s stays the cheapest")


# ---------------------------------------------------------------------------------------------------------
# Horizon and commitments


def test_horizon_totals_by_hand():
    from mlinfra.decision.horizon import horizon

    plans = ({"name": "1-year plan", "term_years": 1, "discount": 0.2, "services": ["ec2"]},
             {"name": "3-year plan", "term_years": 3, "discount": 0.5, "services": ["ec2"]})
    lines = [(100.0, ("ec2/m6i.large/us-east-1",)), (50.0, ("nat/hour/us-east-1",)), (30.0, ())]
    h = horizon(lines, 3, plans)
    assert h.on_demand_eur == 180 * 36  # 6,480
    # only the EC2 line is committed: 100 x 0.2 and 100 x 0.5 a month saved
    assert h.commitments == (("1-year plan", 6480 - 20 * 36), ("3-year plan", 6480 - 50 * 36))
    assert h.best_eur == 4680
    assert horizon(lines, 2, plans).commitments == (("1-year plan", 180 * 24 - 20 * 24),), "no 3-year plan in 2 years"
    # bought hardware: 9,000 up front, a 4-year life, so a 5-year horizon buys twice; its 150 a month of
    # amortisation is replaced by the purchases
    bought = horizon([(200.0, ("costs.onprem.server_price_usd",))], 5, plans, capex_eur=9000, amortised_monthly_eur=150,
                     capex_life_years=4)
    assert (bought.capex_eur, bought.on_demand_eur) == (18000, 50 * 60 + 18000)


def test_decide_shows_totals_over_the_horizon_with_savings_plans():
    d = decide(_profile(decision={"horizon_years": 3}, security={"exposure": "internal", "authentication": "api_key"}))
    sm = _option(d, "aws-sagemaker")
    assert sm.horizon.years == 3
    assert sm.horizon.on_demand_eur == pytest.approx(sm.monthly_cost_eur * 36, abs=0.05)
    endpoint = sum(line.monthly_eur for line in sm.cost_breakdown if line.price_keys
                   and line.price_keys[0].split("/")[0] in ("sagemaker", "sagemaker-serverless"))
    three = dict(sm.horizon.commitments)["3-year savings plan"]
    assert three == pytest.approx(sm.horizon.on_demand_eur - endpoint * 0.46 * 36, abs=0.05)
    assert _option(d, "onprem-k8s").horizon.commitments == (), "no savings plan covers owned hardware"
    assert d.to_dict()["options"][0]["horizon"]["years"] == 3


def test_hardware_to_be_bought_is_paid_up_front_and_refreshed():
    onprem = {"kube_context": "dc", "cpu_nodes": 4, "purchase": True}
    d = decide(_profile(onprem=onprem, decision={"horizon_years": 5}))
    o = _option(d, "onprem-k8s")
    hardware = sum(line.monthly_eur for line in o.cost_breakdown if "node hardware" in line.item)
    # the amortisation (12,000 USD over 48 months a node) becomes two purchases in 5 years (a 4-year life)
    capex = hardware * 48 * 2
    assert o.horizon.capex_eur == pytest.approx(capex, rel=0.01)
    assert o.horizon.on_demand_eur == pytest.approx((o.monthly_cost_eur - hardware) * 60 + capex, rel=0.01)


def test_on_premise_gpus_are_checked_for_memory():
    llm = {"name": "chat", "framework": "llm", "artifact": "s3://b/chat",
           "resources": {"cpu": 3, "memory_gib": 12, "gpus": 1, "parameters_b": 7},
           "traffic": {"average_rps": 0.5, "peak_rps": 1}, "slo": {"latency_p95_ms": 20000, "availability": 0.995}}
    onprem = {"kube_context": "dc", "gpu_nodes": 2, "gpus_per_node": 2, "gpu_type": "t4", "gpu_memory_gib": 16}
    d = decide(_profile(models=[llm], onprem=onprem))
    assert ("model 'chat' needs 16.65 GiB of GPU memory per replica but its 1 GPU of onprem.gpu_memory_gib = 16 hold "
            "16; give the model more GPUs per replica") in _violations(d, "onprem-k8s")
    two = {**llm, "resources": {**llm["resources"], "gpus": 2}}
    assert "GPU memory" not in _violations(decide(_profile(models=[two], onprem=onprem)), "onprem-k8s")


def test_peak_break_even_names_the_burstiness_above_which_the_cloud_wins():
    """On premise holds the peak all month, SageMaker bills its instances' peak for 15 % of it: at 60 req/s average,
    on premise is cheaper below a peak of ~4.5x the average and SageMaker above (interpolated between 4x and 8x)."""
    from mlinfra.costs.prices import price_table
    from mlinfra.decision.sensitivity import peak_curves
    from mlinfra.profiles.environments import all_environments

    model = {**CPU_MODEL, "traffic": {"average_rps": 60, "peak_rps": 120}}
    profile = _profile(models=[model], security={"exposure": "internal", "authentication": "api_key"})
    d = decide(profile)
    (b,) = d.peak_break_even
    assert (b.cheaper_below, b.cheaper_above) == ("onprem-k8s", "aws-sagemaker")
    curves = {c.target: dict(c.points) for c in peak_curves(profile, ALL_DEPLOYABLE, all_environments(profile),
                                                             price_table(profile))}
    d_lo = curves["aws-sagemaker"][4.0] - curves["onprem-k8s"][4.0]
    d_hi = curves["aws-sagemaker"][8.0] - curves["onprem-k8s"][8.0]
    assert b.average_rps == pytest.approx(4 + 4 * d_lo / (d_lo - d_hi), abs=0.001)
    assert ("break-even: onprem-k8s costs less than aws-sagemaker below a peak of ~4.5x the average (today 2x)"
            in d.reasons)
    assert d.to_dict()["peak_break_even"][0]["peak_ratio"] == b.average_rps


def test_the_reasons_name_each_sagemaker_mode_and_why():
    d = decide(_profile(monitoring={"drift": True}, security={"exposure": "internal", "authentication": "api_key"}))
    note = _option(d, "aws-sagemaker").notes["scalability"]
    assert ("in prod: scorer real-time (Serverless ruled out: monitoring.drift needs data capture, which Serverless "
            "endpoints do not support)") in note
    eligible = _option(decide(_profile(security={"exposure": "internal", "authentication": "api_key"})), "aws-sagemaker")
    assert "in prod: scorer serverless (Serverless is not dearer than real-time" in eligible.notes["scalability"]


def test_the_reasons_always_say_how_the_chosen_option_serves_the_load():
    """Whatever criteria lead, the scalability note is among the reasons: on SageMaker the mode of each model and the
    deciding field (here: confidential data rules Serverless out, whose endpoints cannot run in a VPC)."""
    d = decide(_profile(data={"sovereignty": "none", "classification": "confidential"}, onprem=None,
                        security={"exposure": "internal", "authentication": "api_key"}), targets=["aws-sagemaker"])
    assert d.target == "aws-sagemaker"
    (line,) = [r for r in d.reasons if r.startswith("scalability (")]
    assert ("in prod: scorer real-time (Serverless ruled out: data.classification 'confidential' asks for the model "
            "container inside your VPC (VpcConfig)") in line


def test_an_environment_on_a_cluster_of_its_own_is_not_counted_against_the_declared_one():
    """Capacity is checked per cluster: a dev with environments.dev.kube_context runs elsewhere, so prod alone must
    fit the declared cluster's GPUs (4 in prod of 4), where dev and prod together (5) would not."""
    onprem = {"kube_context": "dc", "gpu_nodes": 2, "gpus_per_node": 2, "gpu_type": "t4"}
    shared = decide(_profile(models=[GPU_MODEL], onprem=onprem))
    assert "the GPU models need 5 GPUs at peak (vision 1 in dev, vision 4 in prod)" in _violations(shared, "onprem-k8s")
    apart = decide(_profile(models=[GPU_MODEL], onprem=onprem,
                            environments={"dev": {"kube_context": "lab"}, "prod": {}}))
    assert _option(apart, "onprem-k8s").feasible
