"""EksAddons: what the workload needs on the cluster besides the serving and monitoring objects.

- the vpc-cni add-on with NetworkPolicy enforcement on (EKS installs the CNI with it off: the serving namespace's
  default deny and per-model policies would be ignored);
- the aws-ebs-csi-driver add-on, its controller on an IRSA role with the AWS-managed driver policy, and a default
  StorageClass (gp3, encrypted): EKS clusters since 1.30 have no default class, and the Prometheus, Alertmanager
  and Grafana claims of the monitoring chart name none.
- when models are exposed, the AWS Load Balancer Controller (pinned chart, IRSA role with
  targets.aws_eks.ingress's policy), which serves the render's `alb` Ingresses;
- when a model needs a GPU, the NVIDIA device plugin (pinned chart) on the GPU node groups.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from mlinfra.components.aws_eks.irsa import ServiceAccountRole, ServiceAccountRoleArgs
from mlinfra.components.k8s_objects import create_object
from mlinfra.conventions import TYPE_EKS_ADDONS, child_name
from mlinfra.targets.aws_eks import ingress
from mlinfra.targets.aws_eks.iam import EBS_CSI_NAMESPACE, EBS_CSI_SERVICE_ACCOUNT
from mlinfra.targets.aws_eks.platform import (
    DEVICE_PLUGIN_CHART,
    DEVICE_PLUGIN_NAMESPACE,
    DEVICE_PLUGIN_REPO,
    DEVICE_PLUGIN_VERSION,
    EBS_CSI_ADDON,
    VPC_CNI_ADDON,
    VPC_CNI_CONFIGURATION,
    StorageClassSpec,
)


@dataclass(frozen=True, kw_only=True)
class EksAddonsArgs:
    cluster_name: pulumi.Input[str]  # once the node groups exist: the add-ons' pods need nodes to become ACTIVE
    oidc_provider_arn: pulumi.Input[str]
    oidc_issuer: pulumi.Input[str]
    ebs_csi_policy_arn: str
    storage_class: StorageClassSpec
    region: str
    vpc_id: pulumi.Input[str]
    load_balancer_controller_replicas: int = 0  # 0: no controller (nothing exposed)
    load_balancer_controller_policy: dict[str, Any] | None = None
    nvidia_device_plugin: bool = False  # GPU node groups exist
    protect: bool = False  # production: Helm releases are protected (guardrails.stateful)


class EksAddons(pulumi.ComponentResource):
    """EBS CSI driver (IRSA) and the default StorageClass; `ready` lists what workloads must wait for."""

    ready: list[pulumi.Resource]

    def __init__(
        self, name: str, args: EksAddonsArgs, *, provider: aws.Provider, kubernetes: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_EKS_ADDONS, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        ebs_role = ServiceAccountRole(
            child_name(name, "ebs-csi"),
            ServiceAccountRoleArgs(
                namespace=EBS_CSI_NAMESPACE, service_account=EBS_CSI_SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
                policy_arns=(args.ebs_csi_policy_arn,),
            ),
            provider=provider, opts=pulumi.ResourceOptions(parent=self),
        )
        ebs = aws.eks.Addon(
            child_name(name, EBS_CSI_ADDON),
            cluster_name=args.cluster_name, addon_name=EBS_CSI_ADDON, service_account_role_arn=ebs_role.arn,
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            opts=child,
        )
        cni = aws.eks.Addon(  # adopts the VPC CNI EKS installed, to turn on its NetworkPolicy enforcement
            child_name(name, VPC_CNI_ADDON),
            cluster_name=args.cluster_name, addon_name=VPC_CNI_ADDON,
            configuration_values=json.dumps(VPC_CNI_CONFIGURATION, sort_keys=True),
            resolve_conflicts_on_create="OVERWRITE", resolve_conflicts_on_update="OVERWRITE",
            opts=child,
        )
        storage = create_object(
            child_name(name, "storage-class"), args.storage_class.manifest(),
            pulumi.ResourceOptions(parent=self, provider=kubernetes, depends_on=[ebs]),
        )
        self.ready = [cni, ebs, storage]
        if args.load_balancer_controller_replicas:
            self.ready.append(self._load_balancer_controller(name, args, provider, kubernetes))
        if args.nvidia_device_plugin:  # the chart's default affinity and tolerations select the GPU node groups
            self.ready.append(k8s.helm.v3.Release(
                child_name(name, "nvidia-device-plugin"),
                k8s.helm.v3.ReleaseArgs(
                    name=DEVICE_PLUGIN_CHART, chart=DEVICE_PLUGIN_CHART, version=DEVICE_PLUGIN_VERSION,
                    repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=DEVICE_PLUGIN_REPO),
                    namespace=DEVICE_PLUGIN_NAMESPACE, values={"gfd": {"enabled": False}},
                ),
                opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, protect=args.protect),
            ))
        self.register_outputs({"addons": [VPC_CNI_ADDON, EBS_CSI_ADDON], "storage_class": args.storage_class.name,
                               "load_balancer_controller": bool(args.load_balancer_controller_replicas),
                               "nvidia_device_plugin": args.nvidia_device_plugin})

    def _load_balancer_controller(
        self, name: str, args: EksAddonsArgs, provider: aws.Provider, kubernetes: k8s.Provider
    ) -> k8s.helm.v3.Release:
        role = ServiceAccountRole(
            child_name(name, "lb-controller"),
            ServiceAccountRoleArgs(
                namespace=ingress.NAMESPACE, service_account=ingress.SERVICE_ACCOUNT,
                oidc_provider_arn=args.oidc_provider_arn, oidc_issuer=args.oidc_issuer,
                policy=args.load_balancer_controller_policy,
            ),
            provider=provider, opts=pulumi.ResourceOptions(parent=self),
        )
        return k8s.helm.v3.Release(
            child_name(name, "lb-controller"),
            k8s.helm.v3.ReleaseArgs(
                name=ingress.RELEASE_NAME,
                chart=ingress.CHART,
                version=ingress.CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=ingress.CHART_REPO),
                namespace=ingress.NAMESPACE,
                values=ingress.helm_values(args.cluster_name, args.region, args.vpc_id, role.arn,
                                           args.load_balancer_controller_replicas),
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=kubernetes, protect=args.protect),
        )
