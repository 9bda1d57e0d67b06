"""Guardrails over plain resource graphs: each check fails on a breaking graph and passes on a good one."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mlinfra.guardrails import GuardrailContext, run_check, run_guardrails
from mlinfra.guardrails.context import allowed_regions_for, context_from_graph, context_inputs
from mlinfra.guardrails.graph import SECRET_MARK, resource

PROVIDER = "urn:pulumi:prod::mlinfra::pulumi:providers:kubernetes::k8s"
ENV_URN = "urn:pulumi:prod::mlinfra::mlinfra:environment:Environment::lab"


def ctx(**changes) -> GuardrailContext:
    base = GuardrailContext(
        profile="lab", environment="prod", tier="prod", target="onprem-k8s", sovereignty="eu",
        exposure="internal", protect_stateful=True, allowed_regions=allowed_regions_for("eu"),
    )
    return replace(base, **changes)


def k8s(kind: str, name: str, group: str = "core/v1", *, protect: bool = False, provider: str | None = PROVIDER,
        **inputs) -> dict:
    meta = {"name": name, "namespace": "lab-prod"} if kind != "Namespace" else {"name": name}
    return resource(
        type=f"kubernetes:{group}:{kind}", name=f"lab-{kind.lower()}-{name}", urn=f"urn:k8s:{kind}:{name}",
        parent=ENV_URN, provider=provider, inputs={"metadata": meta, **inputs}, protect=protect,
    )


def provider(**inputs) -> dict:
    return resource(type="pulumi:providers:kubernetes", name="k8s", urn=PROVIDER, parent=ENV_URN,
                    inputs=inputs or {"context": "lab-ctx"})


def aws(typ: str, name: str, *, depends_on=(), **inputs) -> dict:
    return resource(type=typ, name=name, urn=f"urn:aws:{name}", parent=ENV_URN, inputs=inputs, depends_on=depends_on,
                    provider="urn:pulumi:prod::mlinfra::pulumi:providers:aws::aws")


def messages(check: str, graph: list[dict], context: GuardrailContext) -> list[str]:
    return [v.message for v in run_check(check, graph, context).violations]


# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "context", "expected"),
    [
        pytest.param([aws("pulumi:providers:aws", "aws", region="eu-central-1")], ctx(), [], id="eu-region-ok"),
        pytest.param(
            [aws("pulumi:providers:aws", "aws", region="us-east-1")], ctx(),
            ["region 'us-east-1' does not satisfy data.sovereignty 'eu' (allowed: eu-central-1, eu-north-1, "
             "eu-south-1, eu-south-2, eu-west-1, eu-west-3, eusc-de-east-1)"],
            id="us-region-breaks-eu",
        ),
        pytest.param(
            [aws("pulumi:providers:aws", "aws")], ctx(),
            ["AWS provider has no explicit region (the ambient AWS_REGION would decide)"], id="ambient-region",
        ),
        pytest.param(
            [aws("aws:s3/bucket:Bucket", "models", region="eu-west-1")], ctx(sovereignty="on_premise", allowed_regions=()),
            ["data.sovereignty is 'on_premise' but this stack creates a cloud resource"], id="on-premise-no-cloud",
        ),
        pytest.param([aws("pulumi:providers:aws", "aws", region="us-west-2")],
                     ctx(sovereignty="none", allowed_regions=None), [], id="no-sovereignty-any-region"),
    ],
)
def test_sovereignty(graph, context, expected):
    assert messages("sovereignty", graph, context) == expected


@pytest.mark.parametrize(
    ("graph", "exposure", "expected"),
    [
        pytest.param([k8s("Service", "m", spec={"type": "ClusterIP"})], "private", [], id="clusterip-ok"),
        pytest.param(
            [k8s("Service", "m", spec={"type": "LoadBalancer"})], "internal",
            ["Service type LoadBalancer exposes it outside the cluster; security.exposure is 'internal'"], id="lb",
        ),
        pytest.param(
            [k8s("Service", "m", spec={"type": "LoadBalancer"},
                 metadata={"name": "m", "annotations": {"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"}})],
            "internal", [], id="internal-lb-ok",
        ),
        pytest.param(
            [k8s("Service", "m", spec={"type": "NodePort"})], "public", [], id="public-allows-nodeport",
        ),
        pytest.param(
            [k8s("Ingress", "m", "networking.k8s.io/v1", spec={})], "private",
            ["an Ingress makes the model reachable from outside; security.exposure is 'private'"], id="private-ingress",
        ),
        pytest.param(
            [k8s("Ingress", "m", "networking.k8s.io/v1", spec={},
                 metadata={"name": "m", "annotations": {"alb.ingress.kubernetes.io/scheme": "internet-facing"}})],
            "internal", ["ALB scheme internet-facing is public; security.exposure is 'internal'"], id="alb-internet",
        ),
        pytest.param(
            [k8s("Deployment", "m", "apps/v1", spec={"template": {"spec": {"containers": [
                {"name": "server", "ports": [{"containerPort": 8080, "hostPort": 8080}]}]}}})],
            "internal", ["container 'server' binds a hostPort; security.exposure is 'internal'"], id="host-port",
        ),
        pytest.param(
            [resource(type="kubernetes:helm.sh/v3:Release", name="r", urn="urn:r",
                      inputs={"values": {"grafana": {"service": {"type": "LoadBalancer"}}}})],
            "internal",
            ["values.grafana.service.type=LoadBalancer exposes a chart Service outside the cluster; "
             "security.exposure is 'internal'"], id="helm-values-lb",
        ),
        pytest.param(
            [aws("aws:lb/loadBalancer:LoadBalancer", "alb", internal=False)], "internal",
            ["load balancer is internet-facing (internal is not true); security.exposure is 'internal'"], id="aws-lb",
        ),
    ],
)
def test_exposure(graph, exposure, expected):
    assert messages("exposure", graph, ctx(exposure=exposure)) == expected


def test_encryption_of_buckets_and_topics():
    bucket = aws("aws:s3/bucket:Bucket", "models")
    sse = aws("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "models-sse",
              depends_on=[bucket["urn"]])
    topic = aws("aws:sns/topic:Topic", "alerts")
    assert messages("encryption", [bucket, topic], ctx()) == [
        "not encrypted at rest (set SSE/KMS encryption)", "not encrypted at rest (set SSE/KMS encryption)",
    ]
    encrypted_topic = aws("aws:sns/topic:Topic", "alerts", kmsMasterKeyId="alias/aws/sns")
    assert run_check("encryption", [bucket, sse, encrypted_topic], ctx()).status == "pass"


@pytest.mark.parametrize(
    ("plain", "encrypted"),
    [
        pytest.param(aws("aws:ec2/launchTemplate:LaunchTemplate", "lt",
                         blockDeviceMappings=[{"ebs": {"encrypted": "false", "volumeType": "gp3"}}]),
                     aws("aws:ec2/launchTemplate:LaunchTemplate", "lt",
                         blockDeviceMappings=[{"ebs": {"encrypted": "true", "volumeType": "gp3"}}]), id="node-volumes"),
        pytest.param(aws("aws:eks/cluster:Cluster", "c"),
                     aws("aws:eks/cluster:Cluster", "c", encryptionConfig={"provider": {"keyArn": "arn:aws:kms:k"},
                                                                           "resources": ["secrets"]}), id="eks-secrets"),
        pytest.param(aws("aws:cloudwatch/logGroup:LogGroup", "logs"),
                     aws("aws:cloudwatch/logGroup:LogGroup", "logs", kmsKeyId="arn:aws:kms:k"), id="log-group"),
    ],
)
def test_encryption_of_node_volumes_cluster_secrets_and_logs(plain, encrypted):
    assert messages("encryption", [plain], ctx()) == ["not encrypted at rest (set SSE/KMS encryption)"]
    assert messages("encryption", [encrypted], ctx()) == []


def test_encryption_says_there_is_nothing_to_check_for_kubernetes_only():
    result = run_check("encryption", [provider(), k8s("Namespace", "lab-prod", protect=True)], ctx())
    assert result.status == "n/a"
    assert "PersistentVolumeClaims" in result.note and "nothing to check" in result.note


@pytest.mark.parametrize(
    ("res", "context", "expected"),
    [
        pytest.param(k8s("ConfigMap", "c", data={"url": "x-mlinfra-fake-secret-hook-y"}),
                     ctx(secret_values=(("hook", "mlinfra-fake-secret-hook"),)),
                     ["data.url holds the value of secret config key 'hook' in plain text"], id="fake-value-leak"),
        pytest.param(k8s("ConfigMap", "c", data={"u": "https://hooks.slack.com/services/T0/B0/abc"}), ctx(),
                     ["data.u holds a credential-shaped literal (webhook URL with its token)"], id="slack-url"),
        pytest.param(resource(type="kubernetes:helm.sh/v3:Release", name="r", urn="urn:r",
                              inputs={"values": {"grafana": {"adminPassword": "prom-operator"}}}), ctx(),
                     ["values.grafana.adminPassword is a secret field with a literal value"], id="helm-password"),
        pytest.param(resource(type="kubernetes:helm.sh/v3:Release", name="r", urn="urn:r", inputs={"values": {
            "alertmanager": {"config": {"receivers": [{"slack_configs": [{"api_url_file": "/etc/am/s/hook"}]}]}},
            "grafana": {"admin": {"existingSecret": "grafana-admin"}}}}), ctx(), [], id="file-and-reference-ok"),
        pytest.param(k8s("Secret", "s", stringData={"hook": "plain"}), ctx(secrets_marked=True),
                     ["stringData of a Kubernetes Secret is not a Pulumi secret"], id="plain-secret-object"),
        pytest.param(k8s("Secret", "s", stringData=SECRET_MARK), ctx(secrets_marked=True), [], id="secret-object-ok"),
    ],
)
def test_no_plain_secrets(res, context, expected):
    assert messages("secrets", [res], context) == expected


def test_protection_required_in_prod_only():
    graph = [provider(), k8s("Namespace", "lab-prod"), k8s("Deployment", "m", "apps/v1"),
             resource(type="kubernetes:helm.sh/v3:Release", name="r", urn="urn:r", protect=True)]
    assert messages("protect", graph, ctx()) == ["stateful resource without protect=True in production"]
    violation = run_check("protect", graph, ctx()).violations[0]
    assert violation.resource == "kubernetes:core/v1:Namespace lab-namespace-lab-prod"
    dev = run_check("protect", graph, ctx(tier="dev", protect_stateful=False))
    assert dev.status == "n/a" and dev.note == "tier 'dev': protection not required (2 stateful resources)"


def test_explicit_provider_and_unique_objects():
    default = "urn:pulumi:prod::mlinfra::pulumi:providers:kubernetes::default_4_34_2"
    graph = [provider(), k8s("Service", "m"), k8s("Service", "m", provider=default)]
    assert messages("provider", graph, ctx()) == ["uses the default Kubernetes provider (the ambient kubectl context)"]
    assert messages("provider", [provider(cluster="x"), k8s("Service", "m")], ctx()) == [
        "provider k8s has neither context nor kubeconfig"
    ]
    graph[2]["name"] = "other-name"
    assert messages("unique", graph, ctx()) == ["core/Service lab-prod/m is also managed by lab-service-m"]


def test_context_round_trips_through_the_environment_component():
    context = ctx(tier="staging", exposure="private", protect_stateful=False)
    env = resource(type="mlinfra:environment:Environment", name="lab", urn=ENV_URN, custom=False,
                   inputs=context_inputs(context))
    assert context_from_graph([env]) == context
    assert context_from_graph([env], {"exposure": "public"}).exposure == "public"
    assert context_from_graph([provider()]) is None


def test_run_guardrails_reports_every_check_in_order():
    results = run_guardrails([provider(), k8s("Namespace", "lab-prod", protect=True)], ctx())
    assert [r.id for r in results] == ["sovereignty", "exposure", "encryption", "public-access", "imds", "secrets",
                                       "protect", "provider", "unique"]
    assert [r.status for r in results] == ["pass", "pass", "n/a", "n/a", "n/a", "pass", "pass", "pass", "pass"]


FOUR = {"blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True}
BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"


@pytest.mark.parametrize(
    ("graph", "exposure", "expected"),
    [
        pytest.param([aws("aws:s3/bucket:Bucket", "b"), aws(BLOCK, "pab", depends_on=["urn:aws:b"], **FOUR)],
                     "internal", [], id="bucket-blocked"),
        pytest.param([aws("aws:s3/bucket:Bucket", "b")], "internal",
                     ["no public access block (set all four: blockPublicAcls, blockPublicPolicy, ignorePublicAcls, "
                      "restrictPublicBuckets)"], id="no-block"),
        pytest.param([aws("aws:s3/bucket:Bucket", "b"),
                      aws(BLOCK, "pab", depends_on=["urn:aws:b"], **{**FOUR, "restrictPublicBuckets": False})],
                     "internal", ["public access block leaves restrictPublicBuckets off"], id="three-of-four"),
        pytest.param([aws("aws:s3/bucket:Bucket", "b"), aws(BLOCK, "pab", depends_on=["urn:aws:other"], **FOUR)],
                     "internal", ["no public access block (set all four: blockPublicAcls, blockPublicPolicy, "
                                  "ignorePublicAcls, restrictPublicBuckets)"], id="another-buckets-block"),
        pytest.param([aws("aws:eks/cluster:Cluster", "c", vpcConfig={"endpointPublicAccess": False})], "internal", [],
                     id="private-api"),
        pytest.param([aws("aws:eks/cluster:Cluster", "c",
                          vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]})],
                     "internal", ["public API endpoint while security.exposure is 'internal'"], id="public-api-internal"),
        pytest.param([aws("aws:eks/cluster:Cluster", "c",
                          vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]})],
                     "public", [], id="public-api-allow-listed"),
        pytest.param([aws("aws:eks/cluster:Cluster", "c",
                          vpcConfig={"endpointPublicAccess": True, "publicAccessCidrs": ["0.0.0.0/0"]})],
                     "public", ["public API endpoint open to the whole internet (set an allow-list)"], id="open-api"),
    ],
)
def test_public_access(graph, exposure, expected):
    assert messages("public-access", graph, ctx(exposure=exposure)) == expected


def _template(name: str, **meta) -> dict:
    return aws("aws:ec2/launchTemplate:LaunchTemplate", name, metadataOptions=meta)


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        pytest.param([_template("lt", httpTokens="required", httpPutResponseHopLimit=1),
                      aws("aws:eks/nodeGroup:NodeGroup", "ng", depends_on=["urn:aws:lt"])], [], id="imdsv2"),
        pytest.param([_template("lt", httpTokens="optional", httpPutResponseHopLimit=1)],
                     ["IMDSv1 allowed (metadataOptions.httpTokens is not 'required')"], id="imdsv1"),
        pytest.param([_template("lt", httpTokens="required", httpPutResponseHopLimit=2)],
                     ["metadata hop limit above 1 lets pods reach the node's credentials"], id="hop-limit"),
        pytest.param([aws("aws:eks/nodeGroup:NodeGroup", "ng")],
                     ["node group without a launch template of this stack (IMDSv2 not enforced)"], id="no-template"),
    ],
)
def test_instance_metadata(graph, expected):
    assert messages("imds", graph, ctx()) == expected
