"""How traffic reaches a model server: Service, NetworkPolicy (default deny plus what is needed) and Ingress.

Who may connect to a model pod:
- http/grpc from pods in the same namespace; with exposure `private` (cluster-only) from every namespace;
- http from the ingress controller's namespace when the model is exposed (internal/public) through an
  in-cluster controller (ingress-nginx & co.). With the AWS Load Balancer Controller (no controller
  namespace: the ALB reaches pod IPs from the VPC) the http port is open to any source and the ALB's
  security group is the gate;
- the metrics port (and the drift monitor's) from the monitoring namespace (Prometheus).
With a drift monitor (manifests/drift.py) its proxy port takes the HTTP port's place in these rules.
Egress: DNS to the cluster's DNS pods only, and TCP 443 (never to link-local addresses: instance metadata) when
an init container fetches the artifact or the drift reference (S3, registry, web server) or the gate checks OIDC
tokens against the issuer.
"""

from __future__ import annotations

from typing import Any

from mlinfra.conventions import (
    DEFAULT_DENY_POLICY,
    PORT_DRIFT_METRICS,
    PORT_GRPC,
    PORT_HTTP,
    PORT_METRICS,
    selector_labels,
)
from mlinfra.manifests import drift, gate
from mlinfra.manifests.artifacts import artifact_delivery
from mlinfra.manifests.common import model_metadata
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes.catalog import Runtime

NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"  # set on every namespace by Kubernetes (>= 1.22)
# the cluster's DNS: CoreDNS pods carry k8s-app=kube-dns in kube-system (kubeadm, EKS, GKE, k3s, RKE2)
CLUSTER_DNS = {
    "namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: "kube-system"}},
    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
}
LINK_LOCAL = "169.254.0.0/16"  # instance metadata services (node credentials) live here
SHARED_METRICS_SERVICE_PORT = 9090  # Service port named `metrics` when the runtime serves /metrics on http
ALB_CLASS = "alb"


def _selector(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, str]:
    return selector_labels(profile=plan.profile_name, environment=plan.environment, model=model.name)


def host(plan: EnvironmentPlan, model: ModelSpec) -> str:
    """DNS name of an exposed model: <model>.<env>.<domain>."""
    return f"{model.k8s_name}.{plan.environment}.{plan.domain}"


def service(plan: EnvironmentPlan, model: ModelSpec, runtime: Runtime) -> dict[str, Any]:
    """ClusterIP Service; its port named conventions.PORT_METRICS is what the ServiceMonitor scrapes."""
    ports = [{"name": PORT_HTTP, "port": runtime.http_port, "targetPort": gate.service_target_port(plan, model),
              "protocol": "TCP"}]
    if runtime.grpc_port is not None:
        ports.append({"name": PORT_GRPC, "port": runtime.grpc_port, "targetPort": PORT_GRPC, "protocol": "TCP"})
    if runtime.metrics_on_http_port:
        metrics = {"name": PORT_METRICS, "port": SHARED_METRICS_SERVICE_PORT, "targetPort": PORT_HTTP}
    else:
        metrics = {"name": PORT_METRICS, "port": runtime.metrics_port, "targetPort": PORT_METRICS}
    ports.append({**metrics, "protocol": "TCP"})
    if drift.has_drift(model):  # the drift monitor's /metrics: the ServiceMonitor's second endpoint
        ports.append({"name": PORT_DRIFT_METRICS, "port": drift.METRICS_PORT, "targetPort": PORT_DRIFT_METRICS,
                      "protocol": "TCP"})
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": model_metadata(plan, model),
        "spec": {"type": "ClusterIP", "selector": _selector(plan, model), "ports": ports},
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _from_namespace(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_NAME_LABEL: name}}}


def network_policy(plan: EnvironmentPlan, model: ModelSpec, runtime: Runtime) -> dict[str, Any]:
    # with a drift monitor, HTTP callers reach its proxy (which passes everything to the server on loopback),
    # never the server's HTTP port past it; gRPC goes to the server directly
    http_port = drift.PROXY_PORT if drift.has_drift(model) else runtime.http_port
    serving_ports = [http_port] + ([runtime.grpc_port] if runtime.grpc_port is not None else [])
    clients = [{"namespaceSelector": {}}] if plan.exposure == "private" else [{"podSelector": {}}]
    ingress: list[dict[str, Any]] = [{"from": clients, "ports": _tcp(*serving_ports)}]
    if plan.exposure != "private":
        # the edge reaches the gate when there is one (it checks callers), never the model's port past it
        edge_port = gate.GATE_PORT if gate.gated(plan) else http_port
        if gate.gated(plan):
            ingress[0]["ports"].append({"protocol": "TCP", "port": gate.GATE_PORT})
        if plan.ingress_namespace:
            ingress.append({"from": [_from_namespace(plan.ingress_namespace)], "ports": _tcp(edge_port)})
        else:
            ingress.append({"ports": _tcp(edge_port)})
    metrics_ports = [runtime.metrics_port] + ([drift.METRICS_PORT] if drift.has_drift(model) else [])
    ingress.append({"from": [_from_namespace(plan.monitoring.namespace)], "ports": _tcp(*metrics_ports)})
    egress: list[dict[str, Any]] = [{"to": [CLUSTER_DNS], "ports": [{"protocol": "UDP", "port": 53},
                                                                  {"protocol": "TCP", "port": 53}]}]
    if artifact_delivery(model, runtime.run_as_user, "tmp").needs_https_egress or drift.fetches_over_https(model) or (
        gate.gated(plan) and plan.access.authentication == "oidc"  # the issuer's discovery and keys
    ):  # HTTPS to the artifact store or issuer; never to link-local addresses (the cloud's instance metadata)
        egress.append({"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": [LINK_LOCAL]}}], "ports": _tcp(443)})
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": model_metadata(plan, model),
        "spec": {
            "podSelector": {"matchLabels": _selector(plan, model)},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": egress,
        },
    }


def default_deny(plan: EnvironmentPlan, labels: dict[str, str]) -> dict[str, Any]:
    """Namespace-wide deny of all traffic; each model's policy then allows exactly what it needs."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": DEFAULT_DENY_POLICY, "namespace": plan.namespace, "labels": labels},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def ingress(plan: EnvironmentPlan, model: ModelSpec, runtime: Runtime) -> dict[str, Any]:
    """HTTPS entry for exposure internal/public: host <model>.<env>.<domain>, TLS from the plan's Secret."""
    name = host(plan, model)
    spec: dict[str, Any] = {}
    if plan.ingress_class:
        spec["ingressClassName"] = plan.ingress_class
    spec["tls"] = [{"hosts": [name], "secretName": plan.tls_secret}]
    spec["rules"] = [
        {
            "host": name,
            "http": {
                "paths": [
                    {
                        "path": "/",
                        "pathType": "Prefix",
                        "backend": {"service": {"name": model.k8s_name, "port": {"name": PORT_HTTP}}},
                    }
                ]
            },
        }
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": model_metadata(plan, model, annotations=_ingress_annotations(plan, runtime)),
        "spec": spec,
    }


def _ingress_annotations(plan: EnvironmentPlan, runtime: Runtime) -> dict[str, str]:
    if plan.ingress_class != ALB_CLASS:
        return {}
    # The ALB health-checks pod IPs itself; its default path `/` is a 404 on MLServer and Triton. The TLS
    # certificate comes from ACM (discovered by host), the Secret in spec.tls is ignored by this controller.
    annotations = {
        "alb.ingress.kubernetes.io/scheme": "internet-facing" if plan.exposure == "public" else "internal",
        "alb.ingress.kubernetes.io/target-type": "ip",
        "alb.ingress.kubernetes.io/listen-ports": '[{"HTTPS": 443}]',
        "alb.ingress.kubernetes.io/healthcheck-path": runtime.readiness_path or "/",
    }
    if gate.gated(plan):  # the gate answers the model's readiness there without credentials
        annotations["alb.ingress.kubernetes.io/healthcheck-path"] = gate.READY_PATH
    if plan.access.allowed_cidrs:  # the ALB's security group admits the allowed ranges only (the gate checks too)
        annotations["alb.ingress.kubernetes.io/inbound-cidrs"] = ",".join(plan.access.allowed_cidrs)
    return annotations
