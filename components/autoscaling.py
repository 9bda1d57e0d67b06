"""KedaOperator: the cluster's KEDA, installed by the environment that installs its monitoring stack when the
profile asks for it (autoscaling.metric requests, autoscaling.keda install; planning.scaling.autoscaling_spec).

One pinned Helm release (manifests.autoscaling: chart, version, repository, values) into autoscaling.keda_namespace,
which the release creates. It brings KEDA's CRDs: every model's ScaledObject waits for it
(components/assembly.py), as a ServiceMonitor waits for the monitoring release. Other environments on the cluster
use this one (KEDA is cluster-wide, like the monitoring stack); deploy the owner's stack first.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from mlinfra.conventions import TYPE_KEDA, child_name
from mlinfra.manifests.autoscaling import KEDA_CHART, KEDA_CHART_REPO, KEDA_CHART_VERSION, KEDA_RELEASE_NAME, keda_values
from mlinfra.planning.specs import EnvironmentPlan

RELEASE_TIMEOUT_SECONDS = 600


@dataclass(frozen=True, kw_only=True)
class KedaOperatorArgs:
    plan: EnvironmentPlan


class KedaOperator(pulumi.ComponentResource):
    """The pinned KEDA chart (operator, metrics API server, admission webhooks and CRDs)."""

    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: KedaOperatorArgs,
        *,
        provider: k8s.Provider,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE_KEDA, name, None, opts)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        self.release = k8s.helm.v3.Release(
            child_name(name, "release"),
            k8s.helm.v3.ReleaseArgs(
                name=KEDA_RELEASE_NAME,
                chart=KEDA_CHART,
                version=KEDA_CHART_VERSION,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=KEDA_CHART_REPO),
                namespace=args.plan.autoscaling.keda_namespace,
                create_namespace=True,
                values=keda_values(),
                timeout=RELEASE_TIMEOUT_SECONDS,
                atomic=True,
                cleanup_on_fail=True,
            ),
            # protected in production like every release there (guardrails/stateful.py): removing it would take the
            # cluster's ScaledObjects, and with them every model's autoscaling, along
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=args.plan.protect)),
        )
        self.register_outputs({"namespace": args.plan.autoscaling.keda_namespace, "chart_version": KEDA_CHART_VERSION})
