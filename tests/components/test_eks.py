"""aws-eks under Pulumi's official mocks: the real program (program.run_offline) for bursty-cloud in dev and prod,
and a GPU variant. Asserts after the run, on the recorded graph."""

from __future__ import annotations

import ast
import base64
import copy
import json
from pathlib import Path

import pytest
import yaml

from resource_graph import of_type, one
from mlinfra.components.offline import AZ_INVOKE
from mlinfra.conventions import TYPE_ENVIRONMENT, TYPE_SERVICE_ACCOUNT_ROLE
from mlinfra.guardrails.context import context_from_graph
from mlinfra.guardrails.checks import run_guardrails
from mlinfra.guardrails.graph import SECRET_MARK, kube_object_key, kube_type_token
from mlinfra.manifests.serving import IRSA_ANNOTATION
from mlinfra.profiles import load_profile
from mlinfra.targets.aws_eks import AwsEks
from mlinfra.targets.aws_eks.cluster import LOG_TYPES, kubeconfig
from mlinfra.targets.aws_eks.iam import artifact_read_policy, cluster_key_policy, irsa_trust_policy
from mlinfra.targets.aws_eks.ingress import CHART_VERSION, controller_policy
from mlinfra.targets.aws_eks.platform import eks_plan
from mlinfra.targets.kubernetes.render import secrets_to_create

REPO = Path(__file__).resolve().parents[2]
BURSTY = REPO / "docs" / "examples" / "bursty-cloud.yaml"
REGION = "us-east-1"  # bursty-cloud's cloud.region
CLUSTER = "aws:eks/cluster:Cluster"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SUBNET = "aws:ec2/subnet:Subnet"
KUBE_PROVIDER = "pulumi:providers:kubernetes"


@pytest.fixture(scope="module")
def eks_runs():
    from mlinfra.program import run_offline

    return {env: run_offline(BURSTY, env, target="aws-eks") for env in ("dev", "prod")}


@pytest.fixture(scope="module")
def gpu_run(tmp_path_factory):
    """bursty-cloud plus a GPU model, internal exposure."""
    from mlinfra.program import run_offline

    data = yaml.safe_load(BURSTY.read_text())
    data = copy.deepcopy(data)
    data["security"] = {"exposure": "internal", "authentication": "oidc",
                        "oidc": {"issuer": "https://login.example.org/realms/risk", "audience": ["fraud-lab"]}}
    data["models"].append({
        "name": "vision", "framework": "pytorch", "artifact": "s3://reco-models/vision/v4",
        "resources": {"cpu": 3, "memory_gib": 11, "gpus": 1, "gpu_type": "a10g"},
        "traffic": {"average_rps": 5, "peak_rps": 9}, "slo": {"latency_p95_ms": 400, "availability": 0.995},
    })
    path = tmp_path_factory.mktemp("gpu") / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return run_offline(path, "prod", target="aws-eks"), path


def _by_name(run) -> dict[str, dict]:
    return {r["name"]: r for r in run.resources}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_everything_under_the_environment_with_unique_names(eks_runs, env):
    run = eks_runs[env]
    names = [(r["type"], r["name"]) for r in run.resources]
    assert len(names) == len(set(names))
    scope = one(run, TYPE_ENVIRONMENT)
    components = {r["urn"]: r for r in run.resources if not r["custom"]}
    for r in run.resources:
        if r is scope:
            continue
        parent = components.get(r["parent"])
        assert parent is not None, f"{r['type']} {r['name']} is not inside a component"
        assert r["name"].startswith(parent["name"]), f"{r['name']} is not named from {parent['name']}"
    assert context_from_graph(run.resources).target == "aws-eks"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_aws_resources_use_the_one_explicit_provider_in_the_profile_region(eks_runs, env):
    run = eks_runs[env]
    provider = one(run, "pulumi:providers:aws")
    assert provider["inputs"]["region"] == REGION
    assert json.loads(provider["inputs"]["defaultTags"])["tags"] == {
        "mlinfra.io/profile": "reco-api", "mlinfra.io/environment": env, "managed-by": "mlinfra"}
    aws = [r for r in run.resources if r["custom"] and r["type"].startswith("aws:")]
    assert len(aws) > 30
    for r in aws:
        assert r["provider"] == provider["urn"], f"{r['name']} does not use the explicit AWS provider"
        assert r["inputs"].get("region") in (None, REGION)


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_no_invoke_but_the_answered_zone_lookup(eks_runs, env):
    assert set(eks_runs[env].invokes) <= {AZ_INVOKE}


def test_components_call_only_output_invokes():
    """A blocking invoke (aws.get_x(...)) serialises the program; only the *_output forms are allowed."""
    offenders = []
    for path in sorted((REPO / "components" / "aws_eks").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called.startswith("get_") and not called.endswith("_output"):
                    offenders.append(f"{path.name}:{node.lineno} {called}")
    assert offenders == []


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_nodes_only_in_private_subnets(eks_runs, env):
    run = eks_runs[env]
    subnets = {r["name"]: r for r in of_type(run, SUBNET)}
    private = {f"{n}-id" for n, r in subnets.items() if "-private-" in n}
    public = {f"{n}-id" for n, r in subnets.items() if "-public-" in n}
    assert len(private) == len(public) == (3 if env == "prod" else 2)
    for name, r in subnets.items():
        assert r["inputs"]["mapPublicIpOnLaunch"] is False
        tag = "kubernetes.io/role/internal-elb" if "-private-" in name else "kubernetes.io/role/elb"
        assert r["inputs"]["tags"][tag] == "1"
    zones = sorted(r["inputs"]["availabilityZone"] for n, r in subnets.items() if "-private-" in n)
    assert zones == [f"{REGION}{z}" for z in "abc"[: len(private)]], "one private subnet per zone"
    for group in of_type(run, NODE_GROUP):
        assert set(group["inputs"]["subnetIds"]) == private
    assert set(one(run, CLUSTER)["inputs"]["vpcConfig"]["subnetIds"]) == private


def test_prod_differs_from_dev_nat_per_zone_node_counts_protection(eks_runs):
    dev, prod = eks_runs["dev"], eks_runs["prod"]
    assert (len(of_type(dev, "aws:ec2/natGateway:NatGateway")), len(of_type(prod, "aws:ec2/natGateway:NatGateway"))) == (1, 3)
    routes = {r["name"]: r["inputs"] for r in of_type(prod, "aws:ec2/route:Route")}
    assert sorted(v["natGatewayId"] for k, v in routes.items() if "private" in k) == [
        f"reco-api-network-nat-{i}-id" for i in range(3)]
    sizes = {env: [g["inputs"]["scalingConfig"] for g in of_type(eks_runs[env], NODE_GROUP)] for env in ("dev", "prod")}
    assert sizes != {"dev": sizes["prod"], "prod": sizes["prod"]}
    for env, run in eks_runs.items():  # node groups are the priced pools
        profile = load_profile(str(BURSTY))
        expected = eks_plan(profile, AwsEks().plan(profile, env)).node_groups
        got = {g["name"].rsplit("-", 1)[-1]: g["inputs"] for g in of_type(run, NODE_GROUP)}
        assert set(got) == {g.role for g in expected}
        for g in expected:
            assert got[g.role]["scalingConfig"] == {"minSize": g.min_size, "desiredSize": g.desired_size,
                                                    "maxSize": g.max_size}
            assert got[g.role]["instanceTypes"] == [g.instance_type]
    assert one(prod, CLUSTER)["options"]["protect"] is True
    assert one(dev, CLUSTER)["options"]["protect"] is False


def test_dev_and_prod_node_groups_by_hand(eks_runs):
    """bursty-cloud: dev serves 5 % of the traffic, so its models' floor and monitoring fit one c6i.4xlarge (15.7
    allocatable CPU; as cheap as two c6i.2xlarge, and fewer nodes); prod needs three nodes."""
    scaling = {env: one(eks_runs[env], NODE_GROUP)["inputs"] for env in ("dev", "prod")}
    assert scaling["dev"]["instanceTypes"] == ["c6i.4xlarge"]
    assert scaling["dev"]["scalingConfig"] == {"minSize": 1, "desiredSize": 1, "maxSize": 1}
    assert scaling["prod"]["scalingConfig"]["minSize"] == 3


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_launch_templates_enforce_imdsv2_and_encrypted_gp3_roots(eks_runs, env):
    run = eks_runs[env]
    templates = {f"{r['name']}-id": r["inputs"] for r in of_type(run, LAUNCH_TEMPLATE)}
    groups = of_type(run, NODE_GROUP)
    assert len(templates) == len(groups) >= 1
    for group in groups:
        lt = group["inputs"]["launchTemplate"]
        assert lt["id"] in templates and lt["version"] == "1"
        assert "diskSize" not in group["inputs"], "the launch template owns the disk"
    for inputs in templates.values():
        assert inputs["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                             "httpPutResponseHopLimit": 1}
        (root,) = inputs["blockDeviceMappings"]
        assert root["deviceName"] == "/dev/xvda"
        assert root["ebs"] == {"volumeSize": 20, "volumeType": "gp3", "encrypted": "true",
                               "deleteOnTermination": "true"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_cluster_encrypts_secrets_logs_everything_private_endpoint(eks_runs, env):
    run = eks_runs[env]
    cluster = one(run, CLUSTER)["inputs"]
    logs = one(run, "aws:cloudwatch/logGroup:LogGroup")
    assert cluster["name"] == f"reco-api-{env}" and cluster["version"] == "1.35"
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]
    key = cluster["encryptionConfig"]["provider"]["keyArn"]
    kms = one(run, "aws:kms/key:Key")
    assert key == f"arn:aws:kms:{REGION}:123456789012:key/{kms['inputs'].get('keyId') or key.rsplit('/', 1)[1]}"
    assert kms["inputs"]["enableKeyRotation"] is True and kms["options"]["protect"] is (env == "prod")
    assert logs["inputs"]["kmsKeyId"] == key
    grant = json.loads(_by_name(run)["reco-api-eks-role-kms"]["inputs"]["policy"])
    assert grant == cluster_key_policy(key), "the cluster role may use the key for Secrets"
    assert _by_name(run)["reco-api-eks-role-kms"]["urn"] in one(run, CLUSTER)["options"]["depends_on"]
    assert cluster["enabledClusterLogTypes"] == list(LOG_TYPES)
    assert logs["inputs"]["name"] == f"/aws/eks/reco-api-{env}/cluster"
    assert logs["urn"] in one(run, CLUSTER)["options"]["depends_on"], "log group before the cluster"
    assert cluster["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True}
    assert cluster["upgradePolicy"] == {"supportType": "STANDARD"}
    # bursty-cloud is public, but names no allow-list: the API endpoint stays private
    assert cluster["vpcConfig"]["endpointPrivateAccess"] is True
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in cluster["vpcConfig"]
    assert not [r for r in run.resources if r["type"] == "kubernetes:core/v1:ConfigMap"
                and r["inputs"]["metadata"]["name"] == "aws-auth"], "access entries, not aws-auth"


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kubeconfig_is_built_from_the_cluster_outputs(eks_runs, env):
    run = eks_runs[env]
    name, endpoint = run.outputs["cluster_name"], run.outputs["cluster_endpoint"]
    assert name == f"reco-api-{env}" and endpoint.endswith(f".gr7.{REGION}.eks.amazonaws.com")
    ca = base64.b64encode(f"mock CA of {name}".encode()).decode()  # what the mocks compute for the cluster
    providers = of_type(run, KUBE_PROVIDER)
    assert sorted(p["name"] for p in providers) == ["reco-api-eks-kubernetes", "reco-api-kubernetes"]
    for p in providers:
        assert p["inputs"]["kubeconfig"] == kubeconfig(name, endpoint, ca, REGION)
    # every Kubernetes resource goes through one of them; the workloads' provider waits for the add-ons
    urns = {p["urn"] for p in providers}
    assert all(r["provider"] in urns for r in run.resources if r["custom"] and r["type"].startswith("kubernetes:"))
    workloads = next(p for p in providers if p["name"] == "reco-api-kubernetes")
    addons = {a["inputs"]["addonName"]: a for a in of_type(run, "aws:eks/addon:Addon")}
    assert set(addons) == {"vpc-cni", "aws-ebs-csi-driver"}
    assert json.loads(addons["vpc-cni"]["inputs"]["configurationValues"]) == {"enableNetworkPolicy": "true"}
    assert {a["urn"] for a in addons.values()} <= set(workloads["options"]["depends_on"])
    addon = addons["aws-ebs-csi-driver"]
    assert {g["urn"] for g in of_type(run, NODE_GROUP)} <= set(addon["options"]["depends_on"]), "add-on after nodes"
    platform = next(p for p in providers if p["name"] == "reco-api-eks-kubernetes")
    assert set(platform["options"]["depends_on"]) >= {g["urn"] for g in of_type(run, NODE_GROUP)}, "after the nodes"


def _rendered_objects(profile_path: Path, env: str) -> dict:
    """The rendered objects, and the Secrets render lists (never writes) as the program builds them (values
    aside: placeholders here, Pulumi secrets there)."""
    profile = load_profile(str(profile_path))
    objects = {}
    target = AwsEks()
    for f in target.render(profile, env):
        if f.path.startswith("kubernetes/"):
            for obj in yaml.safe_load_all(f.text):
                key = kube_object_key({"type": kube_type_token(obj["apiVersion"], obj["kind"]), "inputs": obj})
                objects[key] = obj
    for secret, _keys in secrets_to_create(target.plan(profile, env)):
        objects[("core/Secret", secret["metadata"]["namespace"], secret["metadata"]["name"])] = secret
    return objects


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_kubernetes_objects_equal_the_kubernetes_render(eks_runs, env, plain):
    run = eks_runs[env]
    rendered = _rendered_objects(BURSTY, env)
    registered = {key: r for r in run.resources if (key := kube_object_key(r))}
    platform = {("storage.k8s.io/StorageClass", "", "gp3-encrypted")}
    api_keys = {k for k in rendered if k[0] == "core/Secret" and k[2].endswith("-api-keys")}  # authentication api_key
    assert {k[2] for k in api_keys} == {f"{m}-api-keys" for m in ("embedder", "ranker", "summariser")}
    assert set(registered) == set(rendered) | platform
    roles = {r["name"]: r for r in of_type(run, "aws:iam/role:Role")}
    for key, obj in rendered.items():
        inputs = copy.deepcopy(registered[key]["inputs"])
        if key[0] == "core/Secret":  # render lists the Secrets without values, the program has Pulumi secrets
            assert inputs["stringData"] == SECRET_MARK
            inputs["stringData"] = obj["stringData"]
        if key[0] == "core/ServiceAccount" and key[2] in ("ranker", "embedder"):  # s3 artifacts: IRSA
            role = roles[f"reco-api-artifacts-{key[2]}-role"]
            assert inputs["metadata"].pop("annotations") == {IRSA_ANNOTATION: f"arn:aws:iam::123456789012:role/"
                                                             f"reco-api-artifacts-{key[2]}-role-mock"}, role["name"]
        assert plain(inputs) == plain(obj), key


def test_irsa_roles_read_only_their_own_model_prefix(eks_runs):
    run = eks_runs["prod"]
    oidc = one(run, "aws:iam/openIdConnectProvider:OpenIdConnectProvider")
    issuer = oidc["inputs"]["url"]
    assert oidc["inputs"]["clientIdLists"] == ["sts.amazonaws.com"] and issuer.startswith("https://oidc.eks.")
    provider_arn = f"arn:aws:iam::123456789012:oidc-provider/{issuer.removeprefix('https://')}"
    profile = load_profile(str(BURSTY))
    plan = eks_plan(profile, AwsEks().plan(profile, "prod"))
    roles = {r["name"]: r["inputs"] for r in of_type(run, "aws:iam/role:Role")}
    policies = {r["name"]: r["inputs"] for r in of_type(run, "aws:iam/rolePolicy:RolePolicy")}
    assert [a.model for a in plan.artifact_access] == ["ranker", "embedder"], "the https model needs no role"
    for access in plan.artifact_access:
        base = f"reco-api-artifacts-{access.model}"
        assert json.loads(roles[f"{base}-role"]["assumeRolePolicy"]) == irsa_trust_policy(
            provider_arn, issuer, "reco-api-prod", access.model)
        assert json.loads(policies[f"{base}-policy"]["policy"]) == artifact_read_policy(REGION, access)
    assert len(of_type(run, TYPE_SERVICE_ACCOUNT_ROLE)) == 4  # two models, the EBS CSI driver, the LB controller


def test_exposed_environment_gets_the_pinned_load_balancer_controller(eks_runs, plain):
    run = eks_runs["prod"]
    releases = {r["name"]: r["inputs"] for r in of_type(run, "kubernetes:helm.sh/v3:Release")}
    lb = releases["reco-api-addons-lb-controller"]
    assert (lb["chart"], lb["version"], lb["namespace"]) == ("aws-load-balancer-controller", CHART_VERSION, "kube-system")
    vpc = one(run, "aws:ec2/vpc:Vpc")
    assert lb["values"]["vpcId"] == f"{vpc['name']}-id" and lb["values"]["clusterName"] == "reco-api-prod"
    assert lb["values"]["serviceAccount"]["annotations"] == {
        IRSA_ANNOTATION: "arn:aws:iam::123456789012:role/reco-api-addons-lb-controller-role-mock"}
    assert lb["values"]["createIngressClassResource"] is True and lb["values"]["ingressClass"] == "alb"
    policy = _by_name(run)["reco-api-addons-lb-controller-policy"]["inputs"]["policy"]
    assert json.loads(policy) == plain(controller_policy(REGION))


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_guardrails_pass(eks_runs, env):
    run = eks_runs[env]
    ctx = context_from_graph(run.resources).with_secrets(run.secret_values)
    results = {r.id: r for r in run_guardrails(run.resources, ctx)}
    assert {k: r.status for k, r in results.items() if r.status == "fail"} == {}
    assert results["protect"].status == ("pass" if env == "prod" else "n/a")


def test_gpu_group_only_with_a_gpu_model(eks_runs, gpu_run):
    run, _path = gpu_run
    groups = {g["name"]: g["inputs"] for g in of_type(run, NODE_GROUP)}
    assert set(groups) == {"reco-api-nodes-cpu", "reco-api-nodes-gpu-vision"}
    gpu = groups["reco-api-nodes-gpu-vision"]
    assert gpu["amiType"] == "AL2023_x86_64_NVIDIA" and gpu["instanceTypes"] == ["g5.xlarge"]
    assert gpu["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    assert gpu["labels"]["nvidia.com/gpu.product"] == "NVIDIA-A10G"
    assert groups["reco-api-nodes-cpu"]["amiType"] == "AL2023_x86_64_STANDARD"
    assert "taints" not in groups["reco-api-nodes-cpu"] or groups["reco-api-nodes-cpu"]["taints"] == []
    for env_run in eks_runs.values():  # no GPU model: no GPU group
        assert all(g["inputs"]["amiType"] == "AL2023_x86_64_STANDARD" for g in of_type(env_run, NODE_GROUP))
    assert len(of_type(run, LAUNCH_TEMPLATE)) == 2
    releases = {r["name"]: r["inputs"] for r in of_type(run, "kubernetes:helm.sh/v3:Release")}
    plugin = releases["reco-api-addons-nvidia-device-plugin"]
    assert (plugin["chart"], plugin["version"], plugin["namespace"]) == ("nvidia-device-plugin", "0.17.1", "kube-system")
    for env_run in eks_runs.values():
        assert "reco-api-addons-nvidia-device-plugin" not in {r["name"] for r in env_run.resources}


def test_internal_exposure_gets_an_internal_controller_and_no_public_endpoint(gpu_run):
    run, _path = gpu_run
    cluster = one(run, CLUSTER)["inputs"]
    assert cluster["vpcConfig"]["endpointPublicAccess"] is False
    ingresses = of_type(run, "kubernetes:networking.k8s.io/v1:Ingress")
    assert ingresses and all(i["inputs"]["metadata"]["annotations"]["alb.ingress.kubernetes.io/scheme"] == "internal"
                             for i in ingresses)
