"""Serving objects: exact dicts where the shape matters, targeted assertions elsewhere, distinct numbers."""

from __future__ import annotations

import pytest
import yaml

from profile_data import LOAN_DESK, changed

from mlinfra.files.dump import to_yaml_documents
from mlinfra.conventions import artifact_secret_name
from mlinfra.manifests import build_model_objects, build_namespace_objects, build_serving_objects
from mlinfra.manifests.common import find_none
from mlinfra.targets.registry import plan_for
from mlinfra.profiles import profile_from_data

BASE = changed(LOAN_DESK, **{"security.domain": "ml.bank.example"})
SELECTOR_SCORER = {"app.kubernetes.io/instance": "loan-desk-prod-scorer", "mlinfra.io/model": "scorer"}
LABELS_SCORER_PROD = {
    "app.kubernetes.io/name": "scorer",
    "app.kubernetes.io/instance": "loan-desk-prod-scorer",
    "app.kubernetes.io/component": "model-server",
    "app.kubernetes.io/part-of": "loan-desk",
    "app.kubernetes.io/managed-by": "mlinfra",
    "mlinfra.io/environment": "prod",
    "mlinfra.io/model": "scorer",
}
META_SCORER_PROD = {"name": "scorer", "namespace": "loan-desk-prod", "labels": LABELS_SCORER_PROD}


def plan_of(env="prod", target="onprem-k8s", **changes):
    data = changed(BASE, **changes)
    return plan_for(profile_from_data(data), env, target)


def objects_of(plan, index=0, **kwargs) -> dict[str, dict]:
    objects = build_model_objects(plan, plan.models[index], **kwargs)
    by_kind = {o["kind"]: o for o in objects}
    assert len(by_kind) == len(objects), "one object per kind and model"
    return by_kind


def pod_spec(objs):
    return objs["Deployment"]["spec"]["template"]["spec"]


# HTTPS for the artifact fetch (or the OIDC issuer), never to link-local addresses (instance metadata)
HTTPS_NOT_METADATA = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}],
                      "ports": [{"protocol": "TCP", "port": 443}]}


def server(objs):
    (container,) = [c for c in pod_spec(objs)["containers"] if c["name"] == "server"]
    return container


# --- namespace -------------------------------------------------------------------------------------------


def test_namespace_enforces_restricted_pod_security_and_denies_by_default():
    namespace, deny = build_namespace_objects(plan_of("dev"))
    assert namespace["kind"] == "Namespace" and namespace["metadata"]["name"] == "loan-desk-dev"
    labels = namespace["metadata"]["labels"]
    assert {k: v for k, v in labels.items() if k.startswith("pod-security")} == {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "v1.30",
        "pod-security.kubernetes.io/warn": "restricted",
        "pod-security.kubernetes.io/warn-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/audit-version": "latest",
    }
    assert deny == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": "default-deny",
            "namespace": "loan-desk-dev",
            "labels": {k: v for k, v in labels.items() if not k.startswith("pod-security")},
        },
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


# --- per-model objects, exact ------------------------------------------------------------------------------


def test_prod_kinds_in_order():
    assert [o["kind"] for o in build_model_objects(plan_of(), plan_of().models[0])] == [
        "ServiceAccount",
        "Deployment",
        "Service",
        "ScaledObject",  # autoscaling.metric requests, the default (tests/unit/test_autoscaling.py)
        "PodDisruptionBudget",
        "NetworkPolicy",
        "ConfigMap",  # the gate's nginx.conf (exposure internal)
        "Ingress",
    ]


def test_service_account_has_no_token_and_an_irsa_hook():
    objs = objects_of(plan_of())
    assert objs["ServiceAccount"] == {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": META_SCORER_PROD,
        "automountServiceAccountToken": False,
    }
    role = "arn:aws:iam::210987654321:role/scorer-artifacts"
    sa = objects_of(plan_of(target="aws-eks"), artifact_role_arn=role)["ServiceAccount"]
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": role}


def test_cpu_autoscaler_from_sizing_and_latency_slo():
    objs = objects_of(plan_of(**{"autoscaling.metric": "cpu"}))
    assert objs["HorizontalPodAutoscaler"] == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": META_SCORER_PROD,
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "scorer"},
            "minReplicas": 3,
            "maxReplicas": 9,
            "metrics": [
                {  # the server container's CPU: the gate beside it would dilute a pod-wide average
                    "type": "ContainerResource",
                    "containerResource": {"name": "cpu", "container": "server",
                                          "target": {"type": "Utilization", "averageUtilization": 60}},
                }
            ],
        },
    }
    tight = objects_of(plan_of(**{"models.0.slo.latency_p95_ms": 45, "autoscaling.metric": "cpu"}))["HorizontalPodAutoscaler"]
    assert tight["spec"]["metrics"][0]["containerResource"]["target"]["averageUtilization"] == 45


def test_disruption_budget_and_spread_only_with_two_or_more_replicas():
    prod = objects_of(plan_of())
    assert prod["PodDisruptionBudget"] == {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": META_SCORER_PROD,
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": SELECTOR_SCORER}},
    }
    assert [c["topologyKey"] for c in pod_spec(prod)["topologySpreadConstraints"]] == [
        "kubernetes.io/hostname",
        "topology.kubernetes.io/zone",
    ]
    assert pod_spec(prod)["topologySpreadConstraints"][0]["whenUnsatisfiable"] == "DoNotSchedule"
    dev = objects_of(plan_of("dev"))
    assert "PodDisruptionBudget" not in dev
    assert "topologySpreadConstraints" not in pod_spec(dev)
    assert dev["ScaledObject"]["spec"]["minReplicaCount"] == 1
    capped = objects_of(plan_of(**{"environments.prod": {"min_replicas": 1, "max_replicas": 1}}))
    assert "PodDisruptionBudget" not in capped, "a single replica gets no PDB (it would block every drain)"


def test_deployment_leaves_replicas_to_the_autoscaler_and_rolls_without_losing_capacity():
    spec = objects_of(plan_of())["Deployment"]["spec"]
    assert "replicas" not in spec
    assert spec["selector"] == {"matchLabels": SELECTOR_SCORER}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    assert spec["template"]["metadata"]["labels"] == LABELS_SCORER_PROD


def test_service_ports_and_the_metrics_port_the_servicemonitor_scrapes():
    mlserver = objects_of(plan_of())["Service"]
    assert mlserver == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": META_SCORER_PROD,
        "spec": {
            "type": "ClusterIP",
            "selector": SELECTOR_SCORER,
            "ports": [
                {"name": "http", "port": 8080, "targetPort": "gate", "protocol": "TCP"},  # through the gate
                {"name": "grpc", "port": 8081, "targetPort": "grpc", "protocol": "TCP"},
                {"name": "metrics", "port": 8082, "targetPort": "metrics", "protocol": "TCP"},
            ],
        },
    }
    llm = objects_of(plan_of(**{"models.0.framework": "llm", "models.0.resources.gpus": 1}))
    assert llm["Service"]["spec"]["ports"] == [
        {"name": "http", "port": 8000, "targetPort": "gate", "protocol": "TCP"},
        {"name": "metrics", "port": 9090, "targetPort": "http", "protocol": "TCP"},
    ]
    assert [p["name"] for p in server(llm)["ports"]] == ["http"]


def test_container_runs_the_runtime_with_its_real_probes_and_guaranteed_resources():
    c = server(objects_of(plan_of()))
    assert (c["name"], c["image"], c["imagePullPolicy"]) == ("server", "seldonio/mlserver:1.7.1", "IfNotPresent")
    assert c["command"] == ["mlserver", "start", "/mnt/models"]
    assert {e["name"]: e["value"] for e in c["env"]}["MLSERVER_MODEL_IMPLEMENTATION"] == "mlserver_lightgbm.LightGBMModel"
    assert c["ports"] == [
        {"name": "http", "containerPort": 8080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 8081, "protocol": "TCP"},
        {"name": "metrics", "containerPort": 8082, "protocol": "TCP"},
    ]
    assert c["livenessProbe"]["httpGet"] == {"path": "/v2/health/live", "port": "http", "scheme": "HTTP"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/v2/health/ready", "port": "http", "scheme": "HTTP"}
    assert c["startupProbe"]["failureThreshold"] * c["startupProbe"]["periodSeconds"] == 180
    # 3 GiB fetched model + 1 GiB /tmp + 1 GiB logs/layer
    assert c["resources"] == {
        "requests": {"cpu": "1500m", "memory": "3Gi", "ephemeral-storage": "5Gi"},
        "limits": {"cpu": "1500m", "memory": "3Gi", "ephemeral-storage": "5Gi"},
    }


def test_custom_image_gets_tcp_probes():
    objs = objects_of(plan_of(**{"models.0.framework": "custom", "models.0.image": "registry.bank.example/score:3.1.4"}))
    c = server(objs)
    assert c["image"] == "registry.bank.example/score:3.1.4"
    assert c["livenessProbe"]["tcpSocket"] == {"port": "http"} and "httpGet" not in c["readinessProbe"]


# --- security -------------------------------------------------------------------------------------------------


RESTRICTED = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


@pytest.mark.parametrize(
    ("framework", "artifact", "uid"),
    [
        pytest.param("sklearn", "s3://b/churn/v3", 1000, id="mlserver-s3"),
        pytest.param("onnx", "oci://registry.example/models/enc:2.0.1", 1000, id="triton-oci"),
        pytest.param("llm", "https://models.example/chat.tar.gz", 65532, id="vllm-https"),
        pytest.param("huggingface", "pvc://weights/sum", 65532, id="tgi-pvc"),
    ],
)
def test_every_container_is_restricted_with_requests_and_limits(framework, artifact, uid):
    objs = objects_of(plan_of(**{"models.0.framework": framework, "models.0.artifact": artifact}))
    spec = pod_spec(objs)
    assert spec["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": uid,
        "fsGroup": uid,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert spec["automountServiceAccountToken"] is False
    containers = spec["containers"] + spec.get("initContainers", [])
    assert len(containers) == (2 if artifact.startswith("pvc://") else 3), "server, gate (exposure internal), fetch"
    for c in containers:
        own = 101 if c["name"] == "gate" else uid  # the gate runs as its image's nginx user
        assert c["securityContext"] == {**RESTRICTED, "runAsUser": own, "runAsGroup": own}, c["name"]
        for kind in ("requests", "limits"):
            assert set(c["resources"][kind]) >= {"cpu", "memory", "ephemeral-storage"}, (c["name"], kind)
        assert c["imagePullPolicy"] == "IfNotPresent" and ":" in c["image"]
    mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert "/tmp" in mounts, "read-only root: /tmp is an emptyDir"


# --- artifacts ------------------------------------------------------------------------------------------------


def test_pvc_artifact_is_mounted_read_only_without_init_container():
    objs = objects_of(plan_of(), index=1)
    spec = pod_spec(objs)
    assert "initContainers" not in spec
    assert {"name": "model", "persistentVolumeClaim": {"claimName": "model-store", "readOnly": True}} in spec["volumes"]
    assert server(objs)["volumeMounts"][0] == {
        "name": "model",
        "mountPath": "/mnt/models",
        "readOnly": True,
        "subPath": "doc-reader/v4",
    }
    egress_ports = [p["port"] for rule in objs["NetworkPolicy"]["spec"]["egress"] for p in rule["ports"]]
    assert 443 not in egress_ports, "nothing to fetch, no egress beyond DNS"


def test_s3_artifact_is_synced_by_an_init_container_with_optional_file_credentials():
    objs = objects_of(plan_of())
    spec = pod_spec(objs)
    (init,) = spec["initContainers"]
    assert (init["name"], init["image"]) == ("fetch-model", "amazon/aws-cli:2.32.8")
    assert init["command"] == ["aws"]
    assert init["args"] == ["s3", "sync", "--no-progress", "--only-show-errors", "s3://risk-models/scorer/v12", "/mnt/models"]
    env = {e["name"]: e["value"] for e in init["env"]}
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == "/var/run/secrets/mlinfra/artifact/credentials"
    assert env["AWS_CONFIG_FILE"] == "/var/run/secrets/mlinfra/artifact/config"
    assert "envFrom" not in init, "credentials are files, never environment variables"
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["model"] == {"name": "model", "emptyDir": {"sizeLimit": "3Gi"}}
    assert volumes["artifact-credentials"]["secret"] == {
        "secretName": artifact_secret_name("scorer"),
        "optional": True,
        "defaultMode": 0o440,
    }
    assert server(objs)["volumeMounts"][0] == {"name": "model", "mountPath": "/mnt/models", "readOnly": True}
    assert HTTPS_NOT_METADATA in objs["NetworkPolicy"]["spec"]["egress"]


def test_oci_and_https_artifacts():
    oci = pod_spec(objects_of(plan_of(**{"models.0.artifact": "oci://registry.example/models/scorer:12.0.3"})))
    (init,) = oci["initContainers"]
    assert init["image"] == "ghcr.io/oras-project/oras:v1.2.3"
    assert init["args"] == ["pull", "--output", "/mnt/models", "registry.example/models/scorer:12.0.3"]
    url = "https://models.example.com/scorer-v12.tgz?sig=a'b;$(id)"
    https = pod_spec(objects_of(plan_of(**{"models.0.artifact": url})))
    (init,) = https["initContainers"]
    assert init["image"] == "curlimages/curl:8.14.1"
    assert {"name": "ARTIFACT_URL", "value": url} in init["env"]
    assert url not in init["args"][0], "the URL is data in the environment, never part of the shell script"
    assert "tar -xzf - -C /mnt/models" in init["args"][0]


# --- GPUs -------------------------------------------------------------------------------------------------------


def test_gpu_model_gets_limits_toleration_and_gpu_product_affinity():
    objs = objects_of(plan_of(), index=1)
    spec = pod_spec(objs)
    assert server(objs)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert "nvidia.com/gpu" not in server(objs)["resources"]["requests"]
    assert spec["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchExpressions": [{"key": "nvidia.com/gpu.product", "operator": "In", "values": ["NVIDIA-A10"]}]}]
    assert {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}} in spec["volumes"]
    cpu = objects_of(plan_of())
    assert "tolerations" not in pod_spec(cpu) and "affinity" not in pod_spec(cpu)
    assert "nvidia.com/gpu" not in server(cpu)["resources"]["limits"]


def test_gpu_without_known_type_only_tolerates():
    spec = pod_spec(objects_of(plan_of(target="aws-eks"), index=1))
    assert "affinity" not in spec and spec["tolerations"][0]["key"] == "nvidia.com/gpu"


# --- network ------------------------------------------------------------------------------------------------


def test_network_policy_allows_ingress_controller_same_namespace_and_prometheus():
    policy = objects_of(plan_of())["NetworkPolicy"]
    assert policy["spec"]["podSelector"] == {"matchLabels": SELECTOR_SCORER}
    assert policy["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert policy["spec"]["ingress"] == [
        {"from": [{"podSelector": {}}], "ports": [{"protocol": "TCP", "port": 8080}, {"protocol": "TCP", "port": 8081},
                                                  {"protocol": "TCP", "port": 8088}]},
        {  # the ingress controller reaches the gate only, never the model's port past it
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "traefik-system"}}}],
            "ports": [{"protocol": "TCP", "port": 8088}],
        },
        {
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
            "ports": [{"protocol": "TCP", "port": 8082}],
        },
    ]
    # DNS to the cluster's DNS pods only, not to any address
    assert policy["spec"]["egress"][0] == {
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
    }


def test_private_exposure_has_no_ingress_and_admits_cluster_clients():
    objs = objects_of(plan_of(**{"security.exposure": "private"}))
    assert "Ingress" not in objs
    ingress_rules = objs["NetworkPolicy"]["spec"]["ingress"]
    assert ingress_rules[0]["from"] == [{"namespaceSelector": {}}]
    assert len(ingress_rules) == 2, "clients + Prometheus, no ingress controller"


def test_ingress_host_tls_and_class():
    assert objects_of(plan_of())["Ingress"] == {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": META_SCORER_PROD,
        "spec": {
            "ingressClassName": "traefik",
            "tls": [{"hosts": ["scorer.prod.ml.bank.example"], "secretName": "loan-desk-prod-tls"}],
            "rules": [
                {
                    "host": "scorer.prod.ml.bank.example",
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "scorer", "port": {"name": "http"}}},
                            }
                        ]
                    },
                }
            ],
        },
    }


def test_eks_ingress_uses_the_alb_with_a_real_health_check_and_an_open_http_port():
    objs = objects_of(plan_of(target="aws-eks", **{"security.exposure": "public"}))
    assert objs["Ingress"]["spec"]["ingressClassName"] == "alb"
    assert objs["Ingress"]["metadata"]["annotations"] == {
        "alb.ingress.kubernetes.io/scheme": "internet-facing",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
        "alb.ingress.kubernetes.io/healthcheck-path": "/_mlinfra/ready",  # the gate: the model's readiness
    }
    # the ALB reaches pod IPs from the VPC: the gate's port is open to it, the model's port is not
    assert {"ports": [{"protocol": "TCP", "port": 8088}]} in objs["NetworkPolicy"]["spec"]["ingress"]
    assert {"ports": [{"protocol": "TCP", "port": 8080}]} not in objs["NetworkPolicy"]["spec"]["ingress"]
    internal = objects_of(plan_of(target="aws-eks"))["Ingress"]["metadata"]["annotations"]
    assert internal["alb.ingress.kubernetes.io/scheme"] == "internal"


# --- whole environment ---------------------------------------------------------------------------------------


def test_two_models_do_not_collide():
    objects = build_serving_objects(plan_of())
    keys = [(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys)), keys
    selectors = [o["spec"]["selector"]["matchLabels"] for o in objects if o["kind"] == "Deployment"]
    assert selectors[0] != selectors[1]
    hosts = [o["spec"]["rules"][0]["host"] for o in objects if o["kind"] == "Ingress"]
    assert hosts == ["scorer.prod.ml.bank.example", "doc-reader.prod.ml.bank.example"]


@pytest.mark.parametrize("env", ["dev", "prod"])
@pytest.mark.parametrize("target", ["onprem-k8s", "aws-eks"])
def test_objects_are_deterministic_plain_data_without_none_or_shared_references(env, target):
    first = build_serving_objects(plan_of(env, target))
    assert first == build_serving_objects(plan_of(env, target))
    for obj in first:
        assert find_none(obj) == [], (obj["kind"], find_none(obj))
    text = to_yaml_documents(first)  # what render writes: shared dicts are written out, never as YAML anchors
    assert "&id" not in text and "*id" not in text
    assert list(yaml.safe_load_all(text)) == first
