"""aws-eks under Pulumi's official mocks, the two new shapes: deploying into an existing cluster (cloud.eks_cluster,
looked up with aws.eks.get_cluster_output) and a created cluster whose public API endpoint has an allow-list
(cloud.api_access_cidrs). The real program (program.run_offline); asserts after the run, on the recorded graph."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from pathlib import Path

import pytest
import yaml

from resource_graph import of_type, one
from mlinfra.components.offline import EKS_CLUSTER_INVOKE
from mlinfra.conventions import TYPE_ENVIRONMENT
from mlinfra.guardrails.checks import run_guardrails
from mlinfra.guardrails.context import context_from_graph
from mlinfra.manifests.serving import IRSA_ANNOTATION
from mlinfra.profiles import load_profile
from mlinfra.targets.aws_eks import AwsEks
from mlinfra.targets.aws_eks.cluster import kubeconfig
from mlinfra.targets.aws_eks.iam import artifact_read_policy, irsa_trust_policy
from mlinfra.targets.aws_eks.platform import eks_plan

REPO = Path(__file__).resolve().parents[2]
BURSTY = REPO / "docs" / "examples" / "bursty-cloud.yaml"
REGION = "us-east-1"  # bursty-cloud's cloud.region
ACCOUNT = "123456789012"  # the mocks' account
EXISTING = "platform-use1"
SUBNETS = ["subnet-0a1b2c3d4e5f60718", "subnet-0f1e2d3c4b5a69788", "subnet-07a6b5c4d3e2f1098"]
CIDRS = ["81.2.69.192/28", "152.89.12.0/24"]
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
KUBE_PROVIDER = "pulumi:providers:kubernetes"
# what the platform owns: none of it may be registered into an existing cluster
OWNED_BY_THE_PLATFORM = (
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/natGateway:NatGateway", "aws:ec2/internetGateway:InternetGateway",
    "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:eks/cluster:Cluster", "aws:eks/addon:Addon", "aws:eks/accessEntry:AccessEntry",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider", "aws:cloudwatch/logGroup:LogGroup", "aws:kms/key:Key",
    "mlinfra:eks:EksNetwork", "mlinfra:eks:EksCluster", "mlinfra:eks:EksAddons",
)


def _write(tmp_path_factory, name: str, cloud: dict) -> Path:
    data = copy.deepcopy(yaml.safe_load(BURSTY.read_text()))
    data["cloud"].update(cloud)
    path = tmp_path_factory.mktemp(name) / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def existing(tmp_path_factory):
    """bursty-cloud deployed into the existing cluster, dev and prod."""
    from mlinfra.program import run_offline

    path = _write(tmp_path_factory, "existing", {"eks_cluster": EXISTING, "eks_node_subnets": SUBNETS})
    return {env: run_offline(path, env, target="aws-eks") for env in ("dev", "prod")}, path


@pytest.fixture(scope="module")
def allow_listed(tmp_path_factory):
    """bursty-cloud (exposure public) creating its cluster, with an allow-list for the API endpoint."""
    from mlinfra.program import run_offline

    return run_offline(_write(tmp_path_factory, "allow", {"api_access_cidrs": CIDRS}), "prod", target="aws-eks")


def _looked_up():
    """What the mocks' DescribeCluster answers for EXISTING: endpoint and issuer share one ID (as on AWS)."""
    oidc_id = hashlib.sha256(EXISTING.encode()).hexdigest()[:32].upper()
    return {
        "endpoint": f"https://{oidc_id}.gr7.{REGION}.eks.amazonaws.com",
        "issuer": f"https://oidc.eks.{REGION}.amazonaws.com/id/{oidc_id}",
        "ca": base64.b64encode(f"mock CA of {EXISTING}".encode()).decode(),
    }


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_the_cluster_is_looked_up_once_with_the_output_invoke(existing, env):
    runs, _ = existing
    assert runs[env].invokes == [EKS_CLUSTER_INVOKE], "one get_cluster_output, and no zone look-up (no VPC)"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_nothing_the_platform_owns_is_created(existing, env):
    runs, _ = existing
    run = runs[env]
    types = {r["type"] for r in run.resources}
    assert types.isdisjoint(OWNED_BY_THE_PLATFORM), sorted(types & set(OWNED_BY_THE_PLATFORM))
    releases = {r["inputs"]["chart"] for r in of_type(run, "kubernetes:helm.sh/v3:Release")}
    assert "aws-load-balancer-controller" not in releases and "nvidia-device-plugin" not in releases
    assert not [r for r in run.resources if r["type"] == "kubernetes:storage.k8s.io/v1:StorageClass"]
    # prod installs the shared monitoring stack, and KEDA with it (autoscaling.keda install, the default)
    assert releases == ({"keda", "kube-prometheus-stack"} if env == "prod" else set()), "prod installs the shared stack"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_node_groups_join_the_existing_cluster_in_the_given_subnets(existing, env):
    runs, path = existing
    run = runs[env]
    profile = load_profile(str(path))
    expected = eks_plan(profile, AwsEks().plan(profile, env)).node_groups
    groups = {g["name"]: g["inputs"] for g in of_type(run, NODE_GROUP)}
    assert set(groups) == {f"reco-api-nodes-{g.role}" for g in expected}
    for g in expected:
        inputs = groups[f"reco-api-nodes-{g.role}"]
        assert inputs["clusterName"] == EXISTING
        assert inputs["subnetIds"] == SUBNETS, "the profile's subnets, not the cluster's own"
        assert inputs["scalingConfig"] == {"minSize": g.min_size, "desiredSize": g.desired_size, "maxSize": g.max_size}
        assert inputs["instanceTypes"] == [g.instance_type]
    role = next(r for r in of_type(run, "aws:iam/role:Role") if r["name"] == "reco-api-nodes-role")
    assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_one_kubernetes_provider_from_the_looked_up_cluster_after_the_nodes(existing, env):
    runs, _ = existing
    run = runs[env]
    found = _looked_up()
    provider = one(run, KUBE_PROVIDER)
    assert provider["name"] == "reco-api-kubernetes"
    assert provider["inputs"]["kubeconfig"] == kubeconfig(EXISTING, found["endpoint"], found["ca"], REGION)
    assert json.loads(provider["inputs"]["kubeconfig"])["clusters"][0]["cluster"]["server"] == found["endpoint"]
    assert set(provider["options"]["depends_on"]) == {g["urn"] for g in of_type(run, NODE_GROUP)}
    assert all(r["provider"] == provider["urn"] for r in run.resources
               if r["custom"] and r["type"].startswith("kubernetes:"))
    assert (run.outputs["cluster_name"], run.outputs["cluster_endpoint"]) == (EXISTING, found["endpoint"])


def test_irsa_roles_trust_the_looked_up_clusters_oidc_provider(existing):
    runs, path = existing
    run = runs["prod"]
    issuer = _looked_up()["issuer"]
    provider_arn = f"arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer.removeprefix('https://')}"
    profile = load_profile(str(path))
    plan = eks_plan(profile, AwsEks().plan(profile, "prod"))
    roles = {r["name"]: r["inputs"] for r in of_type(run, "aws:iam/role:Role")}
    policies = {r["name"]: r["inputs"] for r in of_type(run, "aws:iam/rolePolicy:RolePolicy")}
    assert [a.model for a in plan.artifact_access] == ["ranker", "embedder"]
    for access in plan.artifact_access:
        base = f"reco-api-artifacts-{access.model}"
        assert json.loads(roles[f"{base}-role"]["assumeRolePolicy"]) == irsa_trust_policy(
            provider_arn, issuer, "reco-api-prod", access.model)
        assert json.loads(policies[f"{base}-policy"]["policy"]) == artifact_read_policy(REGION, access)
    accounts = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"].get("annotations", {})
                for r in of_type(run, "kubernetes:core/v1:ServiceAccount")}
    assert accounts["ranker"] == {IRSA_ANNOTATION: f"arn:aws:iam::{ACCOUNT}:role/reco-api-artifacts-ranker-role-mock"}
    assert set(roles) == {"reco-api-nodes-role", "reco-api-artifacts-ranker-role", "reco-api-artifacts-embedder-role"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_existing_cluster_graph_is_tidy_and_passes_the_guardrails(existing, env):
    runs, _ = existing
    run = runs[env]
    scope = one(run, TYPE_ENVIRONMENT)
    components = {r["urn"]: r for r in run.resources if not r["custom"]}
    for r in run.resources:
        if r is not scope:
            parent = components.get(r["parent"])
            assert parent is not None and r["name"].startswith(parent["name"]), r["name"]
    aws = one(run, "pulumi:providers:aws")
    assert all(r["provider"] == aws["urn"] for r in run.resources if r["custom"] and r["type"].startswith("aws:"))
    ctx = context_from_graph(run.resources).with_secrets(run.secret_values)
    results = {r.id: r.status for r in run_guardrails(run.resources, ctx)}
    assert {k: s for k, s in results.items() if s == "fail"} == {}


def test_allow_list_opens_the_created_clusters_endpoint_for_those_blocks_only(allow_listed):
    vpc = one(allow_listed, "aws:eks/cluster:Cluster")["inputs"]["vpcConfig"]
    assert vpc["endpointPrivateAccess"] is True
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == CIDRS
    assert EKS_CLUSTER_INVOKE not in allow_listed.invokes, "a created cluster is not looked up"
    ctx = context_from_graph(allow_listed.resources).with_secrets(allow_listed.secret_values)
    results = {r.id: r for r in run_guardrails(allow_listed.resources, ctx)}
    assert results["public-access"].status == "pass", results["public-access"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """bursty-cloud on one shared cluster (cloud.shared_cluster): prod creates it, dev joins it."""
    from mlinfra.program import run_offline

    path = _write(tmp_path_factory, "shared", {"shared_cluster": True})
    return {env: run_offline(path, env, target="aws-eks") for env in ("dev", "prod")}, path


def test_a_shared_cluster_is_created_by_prod_only_and_dev_joins_it_in_its_subnets(shared):
    runs, path = shared
    prod, dev = runs["prod"], runs["dev"]
    (cluster,) = of_type(prod, "aws:eks/cluster:Cluster")
    assert cluster["inputs"]["name"] == "reco-api-prod"
    assert of_type(prod, "aws:ec2/natGateway:NatGateway") and of_type(prod, "mlinfra:eks:EksAddons")
    types = {r["type"] for r in dev.resources}
    assert types.isdisjoint(OWNED_BY_THE_PLATFORM), sorted(types & set(OWNED_BY_THE_PLATFORM))
    assert dev.invokes == [EKS_CLUSTER_INVOKE]
    tag = hashlib.sha256(b"reco-api-prod").hexdigest()
    cluster_subnets = sorted(f"subnet-{tag[i:i + 17]}" for i in (17, 34))  # the mocks' DescribeCluster subnets
    groups = of_type(dev, NODE_GROUP)
    assert groups and all(g["inputs"]["clusterName"] == "reco-api-prod" for g in groups)
    assert all(g["inputs"]["subnetIds"] == cluster_subnets for g in groups), "the shared cluster's own subnets"
    releases = {env: {r["inputs"]["chart"] for r in of_type(runs[env], "kubernetes:helm.sh/v3:Release")}
                for env in ("dev", "prod")}
    assert "kube-prometheus-stack" in releases["prod"] and "kube-prometheus-stack" not in releases["dev"]
    for run in (dev, prod):
        checks = run_guardrails(run.resources, context_from_graph(run.resources))
        assert [c.id for c in checks if c.status == "fail"] == []
