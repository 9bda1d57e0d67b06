"""Assemble one environment on a Kubernetes cluster: provider, namespace, one model server per model, monitoring.

Called by the targets' `assemble` (onprem-k8s, and aws-eks onto the cluster it creates) inside the running
Pulumi program; returns the stack outputs that belong to the deployment (endpoints, dashboards, alert routes,
and which environment installs the cluster's monitoring stack - the MonitoringStack of the others adds only
their rules, monitors and dashboards).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.environment import Environment, EnvironmentArgs
from mlinfra.components.k8s_objects import create_objects
from mlinfra.components.model_server import KubernetesModelServer, KubernetesModelServerArgs
from mlinfra.components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from mlinfra.conventions import child_name
from mlinfra.guardrails.context import context_for, context_inputs
from mlinfra.manifests.serving import build_namespace_objects
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile


def assemble_kubernetes(
    plan: EnvironmentPlan,
    profile: Profile,
    secrets: dict[str, Any],
    *,
    kubeconfig: pulumi.Input[str] | None = None,
    opts: pulumi.ResourceOptions | None = None,
) -> dict[str, Any]:
    """Create the environment's components; `kubeconfig` is for clusters created in the same program.

    `secrets`: secret config key -> Pulumi secret, every key the profile names (read by the program)."""
    env, target = plan.environment, plan.target
    ctx = context_for(profile, env, tier=plan.tier, protect=plan.protect, target=target)
    name = profile.name  # names carry no environment: stacks are environments, and `diff` pairs resources by name
    scope = Environment(name, EnvironmentArgs(context=context_inputs(ctx)), opts)

    if plan.kube_context:
        provider = k8s.Provider(child_name(name, "kubernetes"), context=plan.kube_context,
                                opts=pulumi.ResourceOptions(parent=scope))
    elif kubeconfig is not None:
        provider = k8s.Provider(child_name(name, "kubernetes"), kubeconfig=kubeconfig,
                                opts=pulumi.ResourceOptions(parent=scope))
    else:
        raise pulumi.RunError(
            f"target '{target}' has no cluster to deploy to: set onprem.kube_context in the profile "
            "(never the ambient kubectl context), or let the target create its cluster and pass its kubeconfig"
        )
    child = pulumi.ResourceOptions(parent=scope, provider=provider)

    ns_objects = build_namespace_objects(plan)
    shared = create_objects(name, ns_objects, child, primary=plan.namespace, protect=plan.protect)
    namespace = shared["namespace"].metadata.name  # same value as plan.namespace, plus the dependency

    servers = {
        model.name: KubernetesModelServer(
            child_name(name, model.k8s_name),
            KubernetesModelServerArgs(plan=plan, model=model, namespace=namespace),
            provider=provider,
            opts=pulumi.ResourceOptions(parent=scope),
        )
        for model in plan.models
    }
    monitoring = MonitoringStack(
        child_name(name, "monitoring"), MonitoringStackArgs(plan=plan, namespace=namespace, secrets=secrets),
        provider=provider, opts=pulumi.ResourceOptions(parent=scope),
    )
    return {
        "environment": env,
        "namespace": plan.namespace,
        "kube_context": plan.kube_context or "",
        "endpoints": {model: server.endpoint for model, server in sorted(servers.items())},
        "dashboards": monitoring.dashboards,
        "alert_routes": monitoring.alert_routes,
        "monitoring_stack": monitoring.ownership,  # which environment installs the cluster's monitoring stack
    }
