"""aws-eks pure layer for the two new profile fields: the public API endpoint's allow-list
(cloud.api_access_cidrs) and an existing cluster (cloud.eks_cluster, cloud.eks_node_subnets) - profile rules with
their messages, the plan's two shapes, aws/eks.yaml, the cost of each shape, the consequences `decide` lists."""

from __future__ import annotations

import copy

import pytest
import yaml

from mlinfra.costs.prices import price_table
from mlinfra.profiles import ProfileError, profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.aws_eks import AwsEks
from mlinfra.targets.aws_eks.cost import estimate_eks
from mlinfra.targets.aws_eks.existing import oidc_provider_arn
from mlinfra.targets.aws_eks.nodegroups import node_groups
from mlinfra.targets.aws_eks.platform import eks_plan

EKS = AwsEks()
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788"]
CIDRS = ["81.2.69.192/28", "152.89.12.0/24"]
MODEL = {
    "name": "churn",
    "framework": "sklearn",
    "artifact": "s3://risk-models/churn/v7/",
    "resources": {"cpu": 1.5, "memory_gib": 3},
    "traffic": {"average_rps": 9, "peak_rps": 70},
    "slo": {"latency_p95_ms": 250, "availability": 0.995},
}


def _data(cloud: dict | None = None, exposure: str = "public", models=(MODEL,)) -> dict:
    return {
        "version": 1,
        "name": "risk",
        "environments": {"dev": {}, "prod": {"min_replicas": 2, "max_replicas": 6}},
        "models": copy.deepcopy(list(models)),
        "security": {"exposure": exposure, "authentication": "oidc",
                     "oidc": {"issuer": "https://login.risk.example/realms/eu", "audience": ["risk"]}},
        "cloud": {"region": "eu-west-1", **(cloud or {})},
        "costs": {"usd_to_eur": 0.9},
    }


def _profile(cloud: dict | None = None, exposure: str = "public", models=(MODEL,)):
    return profile_from_data(_data(cloud, exposure, models))


def _existing(exposure: str = "public", models=(MODEL,)):
    return _profile({"eks_cluster": "platform-eu", "eks_node_subnets": SUBNETS}, exposure, models)


def _problems(cloud: dict) -> list[str]:
    with pytest.raises(ProfileError) as exc:
        profile_from_data(_data(cloud), "risk.yaml")
    return [str(p) for p in exc.value.problems]


# ---------------------------------------------------------------------------------------------------------
# profile rules


def test_cidrs_are_kept_canonical():
    cloud = _profile({"api_access_cidrs": ["81.2.69.160", "152.89.12.0/24"]}).cloud
    assert cloud.api_access_cidrs == ["81.2.69.160/32", "152.89.12.0/24"]
    assert (cloud.eks_cluster, cloud.eks_node_subnets) == (None, [])


@pytest.mark.parametrize(
    ("cloud", "expected"),
    [
        pytest.param({"api_access_cidrs": ["0.0.0.0/0"]},
                     "cloud.api_access_cidrs[0]: 0.0.0.0/0 and ::/0 open the API endpoint to the whole internet; "
                     "list the addresses that run kubectl and `pulumi up` (office, VPN, CI runners), or leave "
                     "cloud.api_access_cidrs empty for a private endpoint (got '0.0.0.0/0')", id="all-ipv4"),
        pytest.param({"api_access_cidrs": ["81.2.69.192/28", "::/0"]},
                     "cloud.api_access_cidrs[1]: 0.0.0.0/0 and ::/0 open the API endpoint to the whole internet",
                     id="all-ipv6"),
        pytest.param({"api_access_cidrs": ["2a00:1450::/32"]},
                     "cloud.api_access_cidrs[0]: IPv6 is not allowed: the EKS clusters mlinfra creates are IPv4, "
                     "whose endpoint allow-list takes IPv4 blocks only (got '2a00:1450::/32')", id="ipv6"),
        pytest.param({"api_access_cidrs": ["10.20.0.0/16"]},
                     "cloud.api_access_cidrs[0]: a private or reserved range; the allow-list is for internet "
                     "addresses (the private endpoint already serves the VPC) (got '10.20.0.0/16')", id="private"),
        pytest.param({"api_access_cidrs": ["81.2.69.197/28"]},
                     "cloud.api_access_cidrs[0]: not a CIDR block (host bits are set: use the network address); "
                     "e.g. 203.0.113.0/24 (got '81.2.69.197/28')", id="host-bits"),
        pytest.param({"api_access_cidrs": ["office"]},
                     "cloud.api_access_cidrs[0]: not a CIDR block; e.g. 203.0.113.0/24 (got 'office')", id="word"),
        pytest.param({"api_access_cidrs": ["81.2.69.160/32", "81.2.69.160"]},
                     "cloud.api_access_cidrs: entries must be unique; repeated: 81.2.69.160/32", id="repeated"),
        pytest.param({"eks_cluster": "platform-eu"},
                     "cloud: cloud.eks_cluster is 'platform-eu' but cloud.eks_node_subnets is empty; list the subnet "
                     "IDs of that cluster's VPC the node groups launch in", id="existing-without-subnets"),
        pytest.param({"eks_node_subnets": SUBNETS},
                     "cloud: cloud.eks_node_subnets is set but cloud.eks_cluster is not", id="subnets-without-cluster"),
        pytest.param({"eks_cluster": "platform-eu", "eks_node_subnets": SUBNETS, "api_access_cidrs": CIDRS},
                     "cloud: cloud.api_access_cidrs is set but cloud.eks_cluster is 'platform-eu': the allow-list is "
                     "for the API endpoint of a cluster mlinfra creates", id="allow-list-for-existing"),
        pytest.param({"eks_cluster": "platform eu", "eks_node_subnets": SUBNETS},
                     "cloud.eks_cluster: an EKS cluster name has 1 to 100 letters, digits, '-' and '_', starting "
                     "with a letter or digit (got 'platform eu')", id="cluster-name"),
        pytest.param({"eks_cluster": "-platform", "eks_node_subnets": SUBNETS},
                     "cloud.eks_cluster: an EKS cluster name", id="cluster-name-dash-first"),
        pytest.param({"eks_cluster": "platform-eu", "eks_node_subnets": ["subnet-0a1b2c3d", "sn-77"]},
                     "cloud.eks_node_subnets[1]: a subnet ID is subnet- and 8 or 17 hex digits, e.g. "
                     "subnet-0a1b2c3d4e5f60718 (got 'sn-77')", id="subnet-id"),
        pytest.param({"eks_cluster": "platform-eu", "eks_node_subnets": [SUBNETS[0], SUBNETS[0]]},
                     "cloud.eks_node_subnets: entries must be unique; repeated: subnet-0a1b2c3d4e5f60718",
                     id="subnet-repeated"),
    ],
)
def test_bad_cloud_fields_name_the_field_what_was_found_and_what_is_allowed(cloud, expected):
    found = _problems(cloud)
    assert any(expected in p for p in found), found


def test_a_cluster_name_of_100_characters_is_allowed_101_is_not():
    assert _profile({"eks_cluster": "c" * 100, "eks_node_subnets": SUBNETS}).cloud.eks_cluster == "c" * 100
    assert any(p.startswith("cloud.eks_cluster: an EKS cluster name") for p in
               _problems({"eks_cluster": "c" * 101, "eks_node_subnets": SUBNETS}))


# ---------------------------------------------------------------------------------------------------------
# the API endpoint's allow-list reaches the cluster spec


@pytest.mark.parametrize(
    ("exposure", "cidrs", "public", "allowed"),
    [
        pytest.param("public", CIDRS, True, tuple(CIDRS), id="public-with-list"),
        pytest.param("public", [], False, (), id="public-without-list"),
        pytest.param("internal", CIDRS, False, (), id="internal-with-list"),
        pytest.param("private", CIDRS, False, (), id="private-with-list"),
    ],
)
def test_endpoint_public_only_for_exposure_public_with_an_allow_list(exposure, cidrs, public, allowed):
    profile = _profile({"api_access_cidrs": cidrs}, exposure)
    spec = eks_plan(profile, EKS.plan(profile, "prod")).cluster
    assert spec.endpoint_private_access is True
    assert (spec.endpoint_public_access, spec.public_access_cidrs) == (public, allowed)


def test_decide_says_who_reaches_the_endpoint():
    def endpoint(profile):
        (line,) = [c for c in EKS.consequences(profile) if "API endpoint" in c]
        return line

    assert endpoint(_profile({"api_access_cidrs": CIDRS})) == (
        "The cluster's API endpoint is public for cloud.api_access_cidrs only (81.2.69.192/28, 152.89.12.0/24) and "
        "private inside the VPC: `pulumi up` and kubectl run from those addresses or from inside the VPC.")
    assert endpoint(_profile({"api_access_cidrs": CIDRS}, "internal")) == (
        "The cluster's API endpoint is private (security.exposure is 'internal', so cloud.api_access_cidrs is not "
        "used): `pulumi up` runs where it reaches the VPC (a runner inside it, a VPN or peering).")
    assert endpoint(_profile()) == (
        "The cluster's API endpoint is private (with cloud.api_access_cidrs it would be public for those addresses "
        "only): `pulumi up` runs where it reaches the VPC (a runner inside it, a VPN or peering).")


# ---------------------------------------------------------------------------------------------------------
# an existing cluster: the plan's shape


def test_existing_cluster_plan_has_node_groups_and_irsa_only():
    profile = _existing()
    plan = eks_plan(profile, EKS.plan(profile, "prod"))
    assert plan.existing_cluster.name == plan.cluster_name == "platform-eu"
    assert plan.existing_cluster.node_subnet_ids == tuple(SUBNETS)
    assert (plan.network, plan.cluster, plan.key_alias, plan.cluster_policy_arns) == (None, None, None, None)
    assert (plan.ebs_csi_policy_arn, plan.storage_class) == (None, None)
    assert (plan.load_balancer_controller_replicas, plan.load_balancer_controller_policy) == (0, None)
    assert plan.node_groups == node_groups(profile, resolve_environment(profile, "prod"), price_table(profile))
    assert [a.model for a in plan.artifact_access] == ["churn"]
    assert plan.existing_cluster.assumed_present == (
        "an IAM OIDC provider for the cluster's issuer, for the IRSA roles (eksctl utils "
        "associate-iam-oidc-provider --cluster platform-eu --region eu-west-1 --approve)",
        "an access entry with cluster-admin for the identity that runs `pulumi up` (the monitoring chart installs "
        "CRDs and cluster roles)",
        "vpc-cni with NetworkPolicy enforcement on (enableNetworkPolicy), or another CNI that enforces NetworkPolicies",
        "aws-ebs-csi-driver and a default StorageClass (the Prometheus, Alertmanager and Grafana volumes name none)",
        "the AWS Load Balancer Controller, serving IngressClass alb",
    )


def test_assumed_add_ons_follow_exposure_and_gpus():
    gpu = {**MODEL, "name": "vision", "artifact": "https://models.example.com/vision.tar.gz",
           "resources": {"cpu": 2, "memory_gib": 6, "gpus": 1, "gpu_type": "l4"}}
    private = _existing("private", models=(MODEL, gpu))
    assumed = eks_plan(private, EKS.plan(private, "prod")).existing_cluster.assumed_present
    assert not any("Load Balancer Controller" in a for a in assumed), "no Ingress: no controller needed"
    assert assumed[-1] == "the NVIDIA device plugin, on nodes labelled nvidia.com/gpu.present=true"


def test_created_cluster_plan_has_no_existing_cluster():
    profile = _profile({"api_access_cidrs": CIDRS})
    plan = eks_plan(profile, EKS.plan(profile, "prod"))
    assert plan.existing_cluster is None and plan.cluster_name == "risk-prod"
    assert plan.network.az_count == 3 and plan.load_balancer_controller_replicas == 2
    assert "existing_cluster" not in plan.as_dict()


def test_render_writes_the_existing_cluster_to_eks_yaml():
    profile = _existing()
    (eks,) = [f for f in EKS.render(profile, "prod") if f.path == "aws/eks.yaml"]
    data = yaml.safe_load(eks.text)
    assert data["existing_cluster"]["name"] == "platform-eu"
    assert data["existing_cluster"]["node_subnet_ids"] == SUBNETS
    assert len(data["existing_cluster"]["assumed_present"]) == 5
    assert not {"network", "cluster", "key_alias", "storage_class", "ebs_csi_policy_arn"} & set(data)
    assert [g["role"] for g in data["node_groups"]] == ["cpu"]


def test_environments_in_an_existing_cluster_share_one_monitoring_stack():
    profile = _existing()
    dev, prod = EKS.plan(profile, "dev"), EKS.plan(profile, "prod")
    assert (dev.monitoring.owns_stack, dev.monitoring.stack_owner) == (False, "prod")
    assert (prod.monitoring.owns_stack, [e.name for e in prod.monitoring.routed_environments]) == (True, ["dev", "prod"])
    assert dev.kube_context is None and prod.kube_context is None, "the program builds the kubeconfig itself"
    own = _profile()
    assert EKS.plan(own, "dev").monitoring.owns_stack is True, "clusters of their own: a stack each"


def test_existing_cluster_components_and_consequences():
    profile = _existing()
    assert EKS.components(profile) == ["EksNodeGroups", "ServiceAccountRole", "KubernetesModelServer",
                                       "MonitoringStack"]
    assert EKS.components(_profile())[:2] == ["EksNetwork", "EksCluster"]
    first, assumed, shared, *_ = EKS.consequences(profile)
    assert first.startswith("Deploys into the existing EKS cluster 'platform-eu' (cloud.eks_cluster")
    assert "billed for those only" in first
    assert assumed.startswith("Assumed present in the cluster, not installed by the stack: an IAM OIDC provider")
    assert "aws-ebs-csi-driver and a default StorageClass" in assumed and "AWS Load Balancer Controller" in assumed
    assert "they share one kube-prometheus-stack, installed by the highest tier" in shared


def test_oidc_provider_arn_from_the_cluster_arn_and_issuer():
    assert oidc_provider_arn("arn:aws:eks:eu-west-1:210987654321:cluster/platform-eu",
                             "https://oidc.eks.eu-west-1.amazonaws.com/id/5E1F") == (
        "arn:aws:iam::210987654321:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/5E1F")
    assert oidc_provider_arn("arn:aws-cn:eks:cn-north-1:310987654321:cluster/c",
                             "https://oidc.eks.cn-north-1.amazonaws.com.cn/id/77") == (
        "arn:aws-cn:iam::310987654321:oidc-provider/oidc.eks.cn-north-1.amazonaws.com.cn/id/77")
    with pytest.raises(ValueError, match="not an EKS cluster ARN: 'arn:aws:iam::1:role/x'"):
        oidc_provider_arn("arn:aws:iam::1:role/x", "https://issuer")


# ---------------------------------------------------------------------------------------------------------
# cost: a cluster of its own against an existing one


def _lines(profile, env="prod"):
    est = estimate_eks(profile, resolve_environment(profile, env), price_table(profile))
    return {line.item.split(" (")[0].split(":")[0]: line for line in est.lines}


def test_a_cluster_of_its_own_pays_control_plane_nat_and_cluster_operations():
    lines = _lines(_profile())
    assert list(lines) == ["EKS control plane", "CPU pool", "node root volumes", "NAT gateways",
                           "NAT data processing", "application load balancer", "public IPv4 addresses", "internet egress",
                           "Prometheus volume", "operations time"]
    assert lines["public IPv4 addresses"].item == "public IPv4 addresses (6)"  # 3 NAT EIPs + 3 ALB zones in prod
    nodes = 4  # test_eks_platform: prod's CPU pool holds 4 x m6i.large at the peak
    # 8 h for the cluster, 1 h per node, 1 h per model (costs.eks_ops_hours_per_*, costs.ops_hours_per_model_month)
    assert lines["operations time"].item == f"operations time ({8 + nodes + 1} h)"
    assert "costs.eks_ops_hours_per_cluster_month" in lines["operations time"].price_keys


def test_an_existing_cluster_pays_its_nodes_not_the_cluster_or_network():
    own, existing = _lines(_profile()), _lines(_existing())
    assert list(existing) == ["CPU pool", "node root volumes", "application load balancer", "public IPv4 addresses",
                              "internet egress", "Prometheus volume", "operations time"]
    for item in ("CPU pool", "node root volumes", "application load balancer", "internet egress", "Prometheus volume"):
        assert existing[item] == own[item], item
    assert existing["public IPv4 addresses"].item == "public IPv4 addresses (3)"  # the ALB's; no NAT of its own
    assert existing["operations time"].item == "operations time (5 h)"  # 1 h per node x 4 + 1 model, no cluster
    assert existing["operations time"].monthly_eur == 5 * 60.0  # costs.onprem.ops_hourly_rate_eur default
    assert "costs.eks_ops_hours_per_cluster_month" not in existing["operations time"].price_keys
    saved = sum(l.monthly_eur for l in own.values()) - sum(l.monthly_eur for l in existing.values())
    expected = (own["EKS control plane"].monthly_eur + own["NAT gateways"].monthly_eur
                + own["NAT data processing"].monthly_eur + 8 * 60.0
                + own["public IPv4 addresses"].monthly_eur - existing["public IPv4 addresses"].monthly_eur)
    assert saved == pytest.approx(expected, abs=0.01)


def test_existing_cluster_dev_costs_nodes_only_too():
    lines = _lines(_existing(), "dev")
    assert "EKS control plane" not in lines and "NAT gateway" not in lines
    # dev serves 5 % of prod's traffic: one churn replica and the monitoring stack
    assert lines["CPU pool"].item.startswith("CPU pool (models + monitoring): 2 x t3.large")


def test_an_existing_cluster_needs_less_operations_time():
    def operations(cloud):
        data = _data(cloud)
        data["team"] = {"ops_fte": 0.1, "kubernetes_skills": "advanced"}
        scored = EKS.criteria(profile_from_data(data))
        return scored.scores["operations"], scored.notes["operations"]

    own, own_note = operations({})
    existing, existing_note = operations({"eks_cluster": "platform-eu", "eks_node_subnets": SUBNETS})
    # the hours the cost bills, over dev and prod: (8 cluster + 2 nodes + 1 model) + (8 + 4 + 1) = 24 h of 133.33
    assert own_note.startswith("needs ~0.18 FTE (24 h a month, the operations time priced)")
    assert existing_note.startswith("needs ~0.06 FTE (8 h a month")  # its owners run the cluster: nodes and model
    assert (round(own, 3), existing) == (round(0.1 / 0.18, 3), 1.0)


# ---------------------------------------------------------------------------------------------------------
# a shared cluster (cloud.shared_cluster): one cluster mlinfra creates for every environment


def _shared():
    return _profile({"shared_cluster": True})


def test_a_shared_cluster_is_created_by_prod_and_joined_by_the_others():
    profile = _shared()
    prod, dev = (eks_plan(profile, EKS.plan(profile, env)) for env in ("prod", "dev"))
    assert prod.existing_cluster is None and prod.cluster.name == "risk-prod" and prod.network.az_count == 3
    assert dev.cluster is None and dev.network is None
    assert (dev.existing_cluster.name, dev.existing_cluster.shared_by) == ("risk-prod", "prod")
    assert dev.existing_cluster.node_subnet_ids == (), "the shared cluster's own subnets"
    # both environments name the one cluster as their context: one monitoring stack, installed by prod
    assert {EKS.cluster(profile, resolve_environment(profile, e)).kube_context for e in ("dev", "prod")} == {"risk-prod"}


def test_a_shared_cluster_bills_one_control_plane_nat_and_cluster_time():
    """Hand arithmetic: prod pays the control plane (0.10 USD x 730 h x 0.9), its NAT and the cluster's 8 h; dev pays
    nodes, volumes, load balancer and its nodes' hours only - as in an existing cluster."""
    shared, own = _shared(), _profile()
    lines = {env: _lines(shared, env) for env in ("dev", "prod")}
    assert lines["prod"]["EKS control plane"].monthly_eur == pytest.approx(0.10 * 730 * 0.9, abs=0.006)  # 65.70
    assert "EKS control plane" not in lines["dev"] and "NAT gateway" not in lines["dev"]
    assert "NAT data processing" not in lines["dev"] and "NAT data processing" in lines["prod"]
    assert "costs.eks_ops_hours_per_cluster_month" not in lines["dev"]["operations time"].price_keys
    assert lines["prod"]["operations time"].item == _lines(own, "prod")["operations time"].item
    saved = sum(l.monthly_eur for l in _lines(own, "dev").values()) - sum(l.monthly_eur for l in lines["dev"].values())
    own_dev = _lines(own, "dev")
    expected = (own_dev["EKS control plane"].monthly_eur + own_dev["NAT gateway"].monthly_eur
                + own_dev["NAT data processing"].monthly_eur + 8 * 60.0
                + own_dev["public IPv4 addresses"].monthly_eur - lines["dev"]["public IPv4 addresses"].monthly_eur)
    assert saved == pytest.approx(expected, abs=0.01)


def test_the_decision_lists_the_shared_clusters_consequences():
    found = EKS.consequences(_shared())
    assert found[0].startswith("One EKS cluster, 'risk-prod', for every environment (cloud.shared_cluster): "
                               "environment prod's stack creates")


def test_shared_cluster_and_an_existing_cluster_exclude_each_other():
    problems = _problems({"eks_cluster": "platform-eu", "eks_node_subnets": SUBNETS, "shared_cluster": True})
    assert any("cloud.shared_cluster is true but cloud.eks_cluster is 'platform-eu'" in p for p in problems)
