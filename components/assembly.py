"""Assemble one environment on a Kubernetes cluster: provider, namespace, one model server per model, monitoring.

Called by the targets' `assemble` (onprem-k8s, and aws-eks onto the cluster it creates) inside the running
Pulumi program; returns the stack outputs that belong to the deployment (endpoints, dashboards, alert routes,
and which environment installs the cluster's monitoring stack - the MonitoringStack of the others adds only
their rules, monitors and dashboards).
"""

from __future__ import annotations

import inspect
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.components.autoscaling import KedaOperator, KedaOperatorArgs
from mlinfra.components.environment import Environment, EnvironmentArgs
from mlinfra.components.k8s_objects import create_objects
from mlinfra.components.model_server import KubernetesModelServer, KubernetesModelServerArgs
from mlinfra.components.monitoring_stack import MonitoringStack, MonitoringStackArgs
from mlinfra.conventions import child_name
from mlinfra.guardrails.context import context_for, context_inputs
from mlinfra.manifests.artifacts import artifact_credential_keys
from mlinfra.manifests.serving import build_namespace_objects
from mlinfra.monitoring.readiness import readiness
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.model import Profile

# Never adopt an object that already exists (another profile's monitoring namespace or Secrets, a namespace someone
# else made): creating it fails with AlreadyExists instead of relabelling it. pulumi-kubernetes >= 4.29 defaults to
# this; saying it explicitly keeps PULUMI_K8S_UPSERT_EXISTING_OBJECTS from turning it off. Older SDKs lack the option.
NEVER_ADOPT: dict[str, Any] = (
    {"upsert_existing_objects": False}
    if "upsert_existing_objects" in inspect.signature(k8s.ProviderArgs.__init__).parameters else {}
)


def environment_scope(plan: EnvironmentPlan, profile: Profile, opts: pulumi.ResourceOptions | None = None) -> Environment:
    """The Environment component every target registers first: the parent of everything, carrying the guardrail
    context `mlinfra preview` and the policy pack read; it logs the environment's go-live readiness warnings."""
    ctx = context_for(profile, plan.environment, tier=plan.tier, protect=plan.protect, target=plan.target)
    # names carry no environment: stacks are environments, and `diff` pairs resources by name
    scope = Environment(profile.name, EnvironmentArgs(context=context_inputs(ctx)), opts)
    for gap in readiness(plan):  # `pulumi preview` (and its pull-request comment) shows the go-live gaps
        pulumi.log.warn(f"go-live readiness ({gap.check}): {gap.path}: {gap.message}", scope)
    return scope


def assemble_kubernetes(
    plan: EnvironmentPlan,
    profile: Profile,
    secrets: dict[str, Any],
    *,
    opts: pulumi.ResourceOptions | None = None,
    artifact_kinds: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Create the environment's components on the existing cluster its plan names (never the ambient context).

    `secrets`: secret config key -> Pulumi secret, every key the profile names (read by the program);
    `artifact_kinds`: the artifact kinds fetched with the credentials the profile names (the target's)."""
    if not plan.kube_context:
        raise pulumi.RunError(
            f"target '{plan.target}' has no cluster to deploy to: set onprem.kube_context in the profile "
            "(never the ambient kubectl context)"
        )
    scope = environment_scope(plan, profile, opts)
    provider = k8s.Provider(child_name(profile.name, "kubernetes"), context=plan.kube_context,
                            opts=pulumi.ResourceOptions(parent=scope), **NEVER_ADOPT)
    return deploy_on_cluster(profile.name, plan, secrets, scope, provider,
                             artifact_credentials=artifact_credential_keys(profile, artifact_kinds))


def deploy_on_cluster(
    name: str,
    plan: EnvironmentPlan,
    secrets: dict[str, Any],
    scope: Environment,
    provider: k8s.Provider,
    artifact_roles: dict[str, pulumi.Input[str]] | None = None,
    *,
    artifact_credentials: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The serving Namespace objects, one KubernetesModelServer per model and the MonitoringStack, on the cluster
    `provider` reaches; `artifact_roles`: model -> IAM role ARN its ServiceAccount assumes (IRSA on EKS);
    `artifact_credentials`: model -> secret config key of its artifact credentials (manifests.artifacts)."""
    roles = artifact_roles or {}
    keys = {m: k for m, k in (artifact_credentials or {}).items() if m not in roles}  # a role needs no key
    missing = sorted({k for k in keys.values() if secrets.get(k) is None})
    if missing:  # before any resource: one error naming every key (the stack is the environment)
        raise pulumi.RunError(
            f"stack '{plan.environment}' has no value for the secret config key(s) {', '.join(missing)} named in "
            "the profile's models[].artifact_credentials_secret; set each once with "
            f"`pulumi config set --secret -s {plan.environment} KEY < FILE` (the file the key's model fetch reads)"
        )
    api_keys = plan.access.api_keys_secret
    if api_keys and secrets.get(api_keys) is None:
        raise pulumi.RunError(
            f"stack '{plan.environment}' has no value for the secret config key {api_keys} (security.api_keys_secret: "
            "the API keys the models' gates accept); set it with "
            f"`pulumi config set --secret -s {plan.environment} {api_keys} < KEYS_FILE` (one key per line)"
        )
    child = pulumi.ResourceOptions(parent=scope, provider=provider)
    objects = build_namespace_objects(plan)
    shared = create_objects(name, [o for o in objects if o["kind"] == "Namespace"], child, primary=plan.namespace,
                            protect=plan.protect)
    namespace = shared["namespace"].metadata.name  # same value as plan.namespace, plus the dependency
    # the objects in it (default-deny NetworkPolicy) wait for it, rather than relying on the provider's retries
    shared |= create_objects(name, [o for o in objects if o["kind"] != "Namespace"], child, primary=plan.namespace,
                             protect=plan.protect, namespaces={plan.namespace: namespace})
    # the cluster's KEDA, with its monitoring stack (the owner's; autoscaling.keda install): ScaledObjects wait for it
    keda = (KedaOperator(child_name(name, "keda"), KedaOperatorArgs(plan=plan), provider=provider,
                         opts=pulumi.ResourceOptions(parent=scope)) if plan.autoscaling.install_keda else None)
    servers = {
        model.name: KubernetesModelServer(
            child_name(name, model.k8s_name),
            KubernetesModelServerArgs(plan=plan, model=model, namespace=namespace,
                                      artifact_role_arn=roles.get(model.name),
                                      artifact_credentials=secrets[keys[model.name]] if model.name in keys else None,
                                      api_keys=secrets[api_keys] if api_keys else None,
                                      autoscaler_after=(keda.release,) if keda else ()),
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
        "environment": plan.environment,
        "namespace": plan.namespace,
        "kube_context": plan.kube_context or "",
        "endpoints": {model: server.endpoint for model, server in sorted(servers.items())},
        "dashboards": monitoring.dashboards,
        "alert_routes": monitoring.alert_routes,
        "monitoring_stack": monitoring.ownership,  # which environment installs the cluster's monitoring stack
    }
