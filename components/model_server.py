"""KubernetesModelServer: one model's serving objects (from manifests.serving) as Pulumi resources."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.k8s_objects import create_object, create_objects
from mlinfra.conventions import TYPE_MODEL_SERVER, child_name
from mlinfra.manifests.artifacts import build_artifact_secret
from mlinfra.manifests.gate import api_keys_map, build_api_keys_secret
from mlinfra.manifests.serving import build_model_objects, endpoint_of
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec


@dataclass(frozen=True, kw_only=True)
class KubernetesModelServerArgs:
    plan: EnvironmentPlan
    model: ModelSpec
    # the Namespace resource's name output: same value as plan.namespace, plus the dependency on it
    namespace: pulumi.Input[str] | None = None
    artifact_role_arn: pulumi.Input[str] | None = None  # EKS: IAM role for IRSA (S3 artifacts)
    # the artifact credentials file, a Pulumi secret (models[].artifact_credentials_secret): becomes the model's
    # artifact Secret, created before the Deployment whose fetch init container reads it
    artifact_credentials: pulumi.Input[str] | None = None
    # the accepted API keys, one a line, a Pulumi secret (security.api_keys_secret): becomes the Secret the
    # model's gate reads, created before the Deployment
    api_keys: pulumi.Input[str] | None = None
    # what the autoscaler waits for: the KEDA release whose CRDs a ScaledObject needs (components/autoscaling.py)
    autoscaler_after: tuple[pulumi.Resource, ...] = ()


class KubernetesModelServer(pulumi.ComponentResource):
    """ServiceAccount, Deployment, Service, ScaledObject or HPA, PDB (>= 2 replicas), NetworkPolicy and Ingress of one model, and
    its artifact Secret when it has credentials, the Secret of its gate's API keys with authentication api_key."""

    endpoint: str
    resources: dict[str, pulumi.CustomResource]

    def __init__(
        self,
        name: str,
        args: KubernetesModelServerArgs,
        *,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_MODEL_SERVER, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        objects = build_model_objects(args.plan, args.model, artifact_role_arn=args.artifact_role_arn)
        namespaces = {args.plan.namespace: args.namespace} if args.namespace is not None else None
        secret: dict[str, pulumi.CustomResource] = {}
        serving = child
        if args.artifact_credentials is not None:
            body = build_artifact_secret(args.plan, args.model, args.artifact_credentials)
            secret["artifact-secret"] = create_object(child_name(name, "artifact-secret"), body, child,
                                                      namespaces=namespaces)
            serving = pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[secret["artifact-secret"]]))
        if args.api_keys is not None and args.plan.access.api_keys_secret:
            keys_map = pulumi.Output.secret(args.api_keys).apply(
                lambda text: api_keys_map(text, key=args.plan.access.api_keys_secret or ""))
            body = build_api_keys_secret(args.plan, args.model, keys_map)
            secret["api-keys"] = create_object(child_name(name, "api-keys"), body, child, namespaces=namespaces)
            serving = pulumi.ResourceOptions.merge(serving, pulumi.ResourceOptions(depends_on=[secret["api-keys"]]))
        scaled = [o for o in objects if o["kind"] == "ScaledObject"]  # needs KEDA's CRDs first
        after_keda = pulumi.ResourceOptions.merge(serving, pulumi.ResourceOptions(depends_on=list(args.autoscaler_after)))
        self.resources = secret | create_objects(
            name, [o for o in objects if o["kind"] != "ScaledObject"], serving, primary=args.model.k8s_name,
            protect=args.plan.protect, namespaces=namespaces,
        ) | create_objects(name, scaled, after_keda, primary=args.model.k8s_name, namespaces=namespaces)
        self.endpoint = endpoint_of(objects)
        self.register_outputs({"endpoint": self.endpoint, "objects": sorted(self.resources)})
