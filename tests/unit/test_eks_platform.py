"""aws-eks pure layer: network plan, node groups (exactly the cost model's pools), IAM documents, cluster settings,
kubeconfig - exact values, distinct numbers."""

from __future__ import annotations

import copy
import json

import pytest

from mlinfra.costs.prices import price_table
from mlinfra.profiles import profile_from_data
from mlinfra.profiles.environments import resolve_environment
from mlinfra.targets.aws_eks.cluster import cluster_spec, kubeconfig
from mlinfra.targets.aws_eks.cost import estimate_eks
from mlinfra.targets.aws_eks.iam import (
    ArtifactAccess,
    artifact_access,
    artifact_read_policy,
    cluster_key_policy,
    irsa_trust_policy,
    managed_policy_arn,
    s3_location,
)
from mlinfra.targets.aws_eks.ingress import controller_policy, helm_values
from mlinfra.targets.aws_eks.network import plan_network
from mlinfra.targets.aws_eks.nodegroups import AMI_CPU, AMI_GPU, node_groups, node_pools
from mlinfra.targets.aws_eks.platform import eks_plan
from mlinfra.targets.registry import plan_for

CPU_MODEL = {
    "name": "churn",
    "framework": "sklearn",
    "artifact": "s3://risk-models/churn/v7/",
    "resources": {"cpu": 1.5, "memory_gib": 3},
    "traffic": {"average_rps": 9, "peak_rps": 70},
    "slo": {"latency_p95_ms": 250, "availability": 0.995},
}
GPU_MODEL = {
    "name": "vision",
    "framework": "pytorch",
    "artifact": "https://models.example.com/vision.tar.gz",
    "resources": {"cpu": 2, "memory_gib": 6, "gpus": 1, "gpu_type": "l4"},
    "traffic": {"average_rps": 13, "peak_rps": 17},
    "slo": {"latency_p95_ms": 300, "availability": 0.995},
}


def _profile(models=(CPU_MODEL,), **patch):
    data = {
        "version": 1,
        "name": "risk",
        "environments": {"dev": {}, "prod": {"min_replicas": 2, "max_replicas": 6}},
        "models": list(models),
        "security": {"exposure": "internal"},
        "cloud": {"region": "eu-west-1"},
    }
    data.update(patch)
    return profile_from_data(copy.deepcopy(data))


# ---------------------------------------------------------------------------------------------------------
# network


def test_dev_network_two_zones_one_nat():
    net = plan_network(resolve_environment(_profile(), "dev"), "eu-west-1")
    assert net.vpc_cidr == "10.64.0.0/16" and net.az_count == 2
    assert [(s.role, s.az_index, s.cidr, dict(s.tags)) for s in net.private_subnets] == [
        ("private-0", 0, "10.64.0.0/19", {"kubernetes.io/role/internal-elb": "1"}),
        ("private-1", 1, "10.64.32.0/19", {"kubernetes.io/role/internal-elb": "1"}),
    ]
    assert [(s.role, s.az_index, s.cidr, dict(s.tags)) for s in net.public_subnets] == [
        ("public-0", 0, "10.64.96.0/24", {"kubernetes.io/role/elb": "1"}),
        ("public-1", 1, "10.64.97.0/24", {"kubernetes.io/role/elb": "1"}),
    ]
    assert [(n.role, n.subnet) for n in net.nat_gateways] == [("nat-0", "public-0")]
    assert [(t.role, t.default_route, t.subnets) for t in net.route_tables] == [
        ("public", "internet-gateway", ("public-0", "public-1")),
        ("private-0", "nat-0", ("private-0", "private-1")),
    ]
    assert net.private_route_tables == ("private-0",)
    assert net.s3_endpoint_service == "com.amazonaws.eu-west-1.s3"


def test_prod_network_three_zones_a_nat_per_zone():
    net = plan_network(resolve_environment(_profile(), "prod"), "eu-west-1")
    assert net.az_count == 3
    assert [s.cidr for s in net.private_subnets] == ["10.64.0.0/19", "10.64.32.0/19", "10.64.64.0/19"]
    assert [s.cidr for s in net.public_subnets] == ["10.64.96.0/24", "10.64.97.0/24", "10.64.98.0/24"]
    assert [(n.role, n.subnet) for n in net.nat_gateways] == [("nat-0", "public-0"), ("nat-1", "public-1"),
                                                              ("nat-2", "public-2")]
    assert [(t.role, t.default_route, t.subnets) for t in net.route_tables[1:]] == [
        ("private-0", "nat-0", ("private-0",)), ("private-1", "nat-1", ("private-1",)),
        ("private-2", "nat-2", ("private-2",)),
    ]
    assert net.private_route_tables == ("private-0", "private-1", "private-2")


# ---------------------------------------------------------------------------------------------------------
# node groups: what the cost model priced


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_node_groups_are_the_priced_pools(env):
    profile = _profile(models=(CPU_MODEL, GPU_MODEL))
    settings = resolve_environment(profile, env)
    table = price_table(profile)
    groups = node_groups(profile, settings, table)
    pools = node_pools(profile, settings, table)
    assert [(g.instance_type, g.min_size, g.desired_size, g.max_size) for g in groups] == [
        (p.plan.instance.name, p.plan.peak_nodes, p.plan.peak_nodes, p.plan.peak_nodes) for p in pools
    ]
    lines = [line.item for line in estimate_eks(profile, settings, table).lines if "pool" in line.item]
    assert [line.split(": ")[1].split(" x ")[1].split(" ")[0] for line in lines] == [g.instance_type for g in groups]
    assert [int(line.split(": ")[1].split(" x ")[0]) for line in lines] == [g.min_size for g in groups]


def test_gpu_group_only_for_a_gpu_model_with_nvidia_ami_taint_and_product_label():
    profile = _profile(models=(CPU_MODEL, GPU_MODEL))
    cpu, gpu = node_groups(profile, resolve_environment(profile, "prod"), price_table(profile))
    assert (cpu.role, cpu.ami_type, cpu.taints, dict(cpu.labels)) == ("cpu", AMI_CPU, (), {"mlinfra.io/node-pool": "cpu"})
    assert (gpu.role, gpu.instance_type, gpu.ami_type, gpu.gpu) == ("gpu-vision", "g6.xlarge", AMI_GPU, True)
    assert [(t.key, t.value, t.effect) for t in gpu.taints] == [("nvidia.com/gpu", "true", "NO_SCHEDULE")]
    assert dict(gpu.labels) == {"mlinfra.io/node-pool": "gpu-vision", "nvidia.com/gpu.present": "true",
                                "nvidia.com/gpu.product": "NVIDIA-L4"}
    assert (gpu.min_size, gpu.max_size, gpu.root_volume_gib, gpu.capacity_type) == (2, 2, 20, "ON_DEMAND")
    alone = node_groups(_profile(), resolve_environment(_profile(), "prod"), price_table(_profile()))
    assert [g.role for g in alone] == ["cpu"] and not any(g.gpu for g in alone)


def test_cpu_group_sizes_dev_and_prod():
    profile = _profile()
    table = price_table(profile)
    (dev,) = node_groups(profile, resolve_environment(profile, "dev"), table)
    (prod,) = node_groups(profile, resolve_environment(profile, "prod"), table)
    # a churn replica (1.5 CPU) fills a node's 1.7 allocatable CPU; monitoring (1.0 CPU) needs one more node.
    # dev serves 5 % of the traffic: 1 replica, also at peak, burstable t3 allowed; prod: 2 replicas (HA), 3 at
    # peak, no burstable. No cluster autoscaler: every group runs its peak count.
    assert (dev.instance_type, dev.min_size, dev.desired_size, dev.max_size) == ("t3.large", 2, 2, 2)
    assert (prod.instance_type, prod.min_size, prod.desired_size, prod.max_size) == ("m6i.large", 4, 4, 4)


# ---------------------------------------------------------------------------------------------------------
# IAM


def test_managed_policies_per_partition():
    assert managed_policy_arn("eu-west-1", "AmazonEKSClusterPolicy") == "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    assert managed_policy_arn("cn-north-1", "X") == "arn:aws-cn:iam::aws:policy/X"
    assert managed_policy_arn("us-gov-west-1", "X") == "arn:aws-us-gov:iam::aws:policy/X"


def test_irsa_trust_policy_names_one_service_account():
    doc = irsa_trust_policy("arn:aws:iam::210987654321:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12",
                            "https://oidc.eks.eu-west-1.amazonaws.com/id/AB12", "risk-prod", "churn")
    assert doc == {
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": "arn:aws:iam::210987654321:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/AB12"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                "oidc.eks.eu-west-1.amazonaws.com/id/AB12:sub": "system:serviceaccount:risk-prod:churn",
                "oidc.eks.eu-west-1.amazonaws.com/id/AB12:aud": "sts.amazonaws.com",
            }},
        }],
    }


def test_artifact_roles_only_for_s3_models_and_only_their_prefix():
    profile = _profile(models=(CPU_MODEL, GPU_MODEL))
    (access,) = artifact_access(plan_for(profile, "prod", "aws-eks"))
    assert access == ArtifactAccess(role="artifacts-churn", model="churn", namespace="risk-prod",
                                    service_account="churn", bucket="risk-models", prefix="churn/v7")
    assert artifact_read_policy("eu-west-1", access) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "ListModelPrefix", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::risk-models",
             "Condition": {"StringLike": {"s3:prefix": ["churn/v7", "churn/v7/*"]}}},
            {"Sid": "ReadModelObjects", "Effect": "Allow", "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::risk-models/churn/v7/*"},
        ],
    }
    with_key = artifact_read_policy("eu-west-1", access, "arn:aws:kms:eu-west-1:210987654321:key/k-3")
    assert with_key["Statement"][2] == {
        "Sid": "DecryptModelObjects", "Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": "arn:aws:kms:eu-west-1:210987654321:key/k-3",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}},
    }
    assert s3_location("s3://bucket-only") == ("bucket-only", "")


# ---------------------------------------------------------------------------------------------------------
# cluster


@pytest.mark.parametrize(
    ("exposure", "cidrs", "public", "allowed"),
    [
        pytest.param("internal", ("198.51.100.0/24",), False, (), id="internal-private-only"),
        pytest.param("public", (), False, (), id="public-without-allow-list-stays-private"),
        pytest.param("public", ("198.51.100.0/24",), True, ("198.51.100.0/24",), id="public-with-allow-list"),
    ],
)
def test_endpoint_private_always_public_only_when_exposed_with_an_allow_list(exposure, cidrs, public, allowed):
    spec = cluster_spec("risk", resolve_environment(_profile(), "prod"), exposure, cidrs)
    assert spec.endpoint_private_access is True
    assert (spec.endpoint_public_access, spec.public_access_cidrs) == (public, allowed)


def test_cluster_settings():
    spec = cluster_spec("risk", resolve_environment(_profile(), "prod"), "internal")
    assert (spec.name, spec.log_group, spec.log_retention_days) == ("risk-prod", "/aws/eks/risk-prod/cluster", 365)
    assert spec.log_types == ("api", "audit", "authenticator", "controllerManager", "scheduler")
    assert (spec.authentication_mode, spec.support_type, spec.encrypted_resources) == ("API", "STANDARD", ("secrets",))
    assert cluster_spec("risk", resolve_environment(_profile(), "dev"), "internal").log_retention_days == 30


def test_kubeconfig_from_cluster_outputs():
    config = json.loads(kubeconfig("risk-prod", "https://E7.gr7.eu-west-1.eks.amazonaws.com", "Q0EtZGF0YQ==", "eu-west-1"))
    assert config["clusters"] == [{"name": "risk-prod", "cluster": {
        "server": "https://E7.gr7.eu-west-1.eks.amazonaws.com", "certificate-authority-data": "Q0EtZGF0YQ=="}}]
    assert config["users"] == [{"name": "risk-prod", "user": {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1beta1", "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", "risk-prod", "--region", "eu-west-1", "--output", "json"],
        "interactiveMode": "Never"}}}]
    assert config["current-context"] == "risk-prod"
    assert config["contexts"] == [{"name": "risk-prod", "context": {"cluster": "risk-prod", "user": "risk-prod"}}]


def test_eks_plan_is_plain_data():
    profile = _profile()
    plan = eks_plan(profile, plan_for(profile, "prod", "aws-eks"))
    data = plan.as_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["region"] == "eu-west-1" and data["protect"] is True and data["gpu"] is False
    assert data["key_alias"] == "alias/mlinfra/risk-prod"
    assert data["tags"] == {"mlinfra.io/profile": "risk", "mlinfra.io/environment": "prod", "managed-by": "mlinfra"}
    assert data["node_policy_arns"] == [
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    ]
    assert data["storage_class"]["parameters"] == {"type": "gp3", "encrypted": "true"}


# ---------------------------------------------------------------------------------------------------------
# AWS Load Balancer Controller


def test_controller_only_when_models_are_exposed():
    for exposure, replicas in (("private", 0), ("internal", 2), ("public", 2)):
        profile = _profile(security={"exposure": exposure, "authentication": "oidc"})
        plan = eks_plan(profile, plan_for(profile, "prod", "aws-eks"))
        assert plan.load_balancer_controller_replicas == replicas
        assert (plan.load_balancer_controller_policy is None) == (replicas == 0)
    dev = _profile()
    assert eks_plan(dev, plan_for(dev, "dev", "aws-eks")).load_balancer_controller_replicas == 1


def test_controller_values():
    assert helm_values("risk-prod", "eu-west-1", "vpc-0a1", "arn:aws:iam::210987654321:role/lb", 2) == {
        "clusterName": "risk-prod",
        "region": "eu-west-1",
        "vpcId": "vpc-0a1",
        "replicaCount": 2,
        "serviceAccount": {"create": True, "name": "aws-load-balancer-controller",
                           "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::210987654321:role/lb"}},
        "ingressClass": "alb",
        "createIngressClassResource": True,
        "enableServiceMutatorWebhook": False,
        "podDisruptionBudget": {"maxUnavailable": 1},
    }
    assert "podDisruptionBudget" not in helm_values("risk-dev", "eu-west-1", "vpc-0a1", "arn", 1)


def test_controller_policy_changes_only_what_it_tagged():
    policy = controller_policy("eu-west-1")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    for s in policy["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        assert all("*" not in a for a in actions), s["Sid"]
        destructive = [a for a in actions if a.split(":")[1].startswith(("Delete", "Modify", "Set", "Remove"))]
        if destructive and s["Sid"] != "Listeners":  # listeners and rules cannot be tagged before they exist
            assert s["Resource"] != "*" or "Condition" in s, s["Sid"]
    assert statements["ManageOwnLoadBalancers"]["Condition"] == {"Null": {"aws:ResourceTag/elbv2.k8s.aws/cluster": "false"}}
    assert statements["CreateTaggedLoadBalancers"]["Condition"] == {"Null": {"aws:RequestTag/elbv2.k8s.aws/cluster": "false"}}
    assert statements["Targets"]["Resource"] == "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*"
    assert controller_policy("cn-north-1")["Statement"][-1]["Resource"].startswith("arn:aws-cn:")


def test_cluster_role_may_use_the_key_for_secrets_only_through_grants_for_aws():
    key = "arn:aws:kms:eu-west-1:210987654321:key/5e1"
    assert cluster_key_policy(key) == {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EnvelopeEncryptionOfSecrets", "Effect": "Allow",
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"], "Resource": key},
            {"Sid": "GrantsForTheControlPlane", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": key,
             "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        ],
    }
