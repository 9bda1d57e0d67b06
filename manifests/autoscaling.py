"""How a model's replicas scale, as one object: a KEDA ScaledObject on requests (autoscaling.metric requests, the
default) or a HorizontalPodAutoscaler on CPU (autoscaling.metric cpu).

The ScaledObject (keda.sh/v1alpha1) has a Prometheus trigger on the model's normalised request rate (the
recording rules of monitoring/rules.py, `mlinfra:model_requests:rate5m`, summed over the model's series: one
value). KEDA's prometheus scaler hands the HPA it creates an External metric with target type AverageValue (the
default metricType): the HPA divides the query's value by the current replicas and compares that with
`threshold`, so the threshold is requests/s per replica - the model's capacity_rps_per_replica, what one replica
sustains at the utilisation its latency SLO allows (planning.sizing; a measured capacity where the profile has
one). LLM runtimes (a queue gauge in runtimes.catalog) scale on requests waiting per replica instead: by Little's
law a request behind W waiting ones on a replica completing C requests/s waits W / C seconds, and the queue may
take at most QUEUE_SHARE_OF_SLO of the p95 SLO, so W = C x p95 x QUEUE_SHARE_OF_SLO (at least 1).
A CPU trigger (the serving container, the HPA's target utilisation) stays as a floor: the HPA takes the largest
replica count any metric asks for.

KEDA creates and owns the HPA (a second HPA on the Deployment would fight it), under its default name
keda-hpa-<model> (conventions.keda_hpa_name, which the replicas-at-maximum alert reads): not the model's own name,
so a deployed HPA of autoscaling.metric cpu, which `pulumi up` deletes when the ScaledObject replaces it, never
collides with KEDA's.
Dev models that scale to zero (planning.scaling.scales_to_zero) add a cron trigger active in the schedule's hours
and idleReplicaCount 0: outside them, with no requests, KEDA scales the Deployment to zero; the model-down and
no-traffic alerts know (monitoring.rules). A request to a model at zero replicas is refused until the schedule
wakes it: KEDA's Prometheus trigger cannot see requests no replica served.
"""

from __future__ import annotations

import math
from typing import Any

from mlinfra.conventions import (
    CONTAINER_SERVER,
    MONITORING_RELEASE_NAME,
    PROMETHEUS_PORT,
    RECORD_REQUESTS_WAITING,
    monitoring_namespace,
    recorded,
)
from mlinfra.manifests.common import model_metadata
from mlinfra.planning.scaling import scales_to_zero
from mlinfra.planning.sizing import TARGET_UTILISATION, TIGHT_LATENCY_MS
from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes.catalog import RUNTIMES

KEDA_CHART = "keda"
KEDA_CHART_VERSION = "2.17.2"  # KEDA 2.17 (chart and app versions match); Kubernetes 1.30-1.32
KEDA_CHART_REPO = "https://kedacore.github.io/charts"
KEDA_RELEASE_NAME = "keda"
REQUESTS_RECORD = recorded("requests", "5m")  # = monitoring.runtime_metrics.requests_record(300), checked by a test
POLLING_SECONDS = 30  # how often KEDA asks Prometheus: the production scrape and evaluation interval
SCALE_TO_ZERO_COOLDOWN_SECONDS = 600  # idle this long (no requests, outside the schedule) before going to zero
QUEUE_SHARE_OF_SLO = 0.5  # LLM runtimes: the share of the p95 SLO a request may spend queued


def prometheus_url() -> str:
    """In-cluster address of the monitoring stack's Prometheus: the chart names its Service <release>-prometheus
    when the release name holds the chart name (its fullname helper), port prometheus.service.port."""
    return f"http://{MONITORING_RELEASE_NAME}-prometheus.{monitoring_namespace()}.svc:{PROMETHEUS_PORT}"


def cpu_target_percent(model: ModelSpec) -> int:
    """CPU target: the utilisation sizing planned for (lower for tight latency SLOs, as capacity_rps does)."""
    factor = 0.75 if model.latency_p95_ms < TIGHT_LATENCY_MS else 1.0
    return round(TARGET_UTILISATION * factor * 100)


def autoscaler(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    """The model's ScaledObject (metric requests) or HPA (metric cpu)."""
    if plan.autoscaling.metric == "requests":
        return scaled_object(plan, model)
    return cpu_autoscaler(plan, model)


def cpu_autoscaler(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": model_metadata(plan, model),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": model.k8s_name},
            "minReplicas": model.min_replicas,
            "maxReplicas": model.max_replicas,
            # the serving container's CPU only: a gate beside it (manifests/gate.py) would dilute the average
            "metrics": [
                {
                    "type": "ContainerResource",
                    "containerResource": {
                        "name": "cpu",
                        "container": CONTAINER_SERVER,
                        "target": {"type": "Utilization", "averageUtilization": cpu_target_percent(model)},
                    },
                }
            ],
        },
    }


def queues(model: ModelSpec) -> bool:
    """Whether the model's runtime scales on its queue (LLM runtimes) rather than on requests/s."""
    return RUNTIMES[model.runtime].waiting_metric is not None


def trigger_query(plan: EnvironmentPlan, model: ModelSpec) -> str:
    """The Prometheus trigger's query: the model's request rate (or queue), one value for all its replicas."""
    record = RECORD_REQUESTS_WAITING if queues(model) else REQUESTS_RECORD
    sel = f'namespace="{plan.namespace}", model="{model.name}", environment="{plan.environment}"'
    return f"sum({record}{{{sel}}})"


def target_per_replica(model: ModelSpec) -> float:
    """The trigger's threshold: requests/s per replica (capacity), or requests waiting per replica (LLM)."""
    if queues(model):
        waiting = model.capacity_rps_per_replica * model.latency_p95_ms / 1000 * QUEUE_SHARE_OF_SLO
        return float(max(1, math.floor(waiting)))
    return model.capacity_rps_per_replica


def _number(value: float) -> str:
    """A threshold as KEDA parses it (a float in a string), without float noise."""
    return format(value, ".10g")


def scaled_object(plan: EnvironmentPlan, model: ModelSpec) -> dict[str, Any]:
    triggers: list[dict[str, Any]] = [
        {
            "type": "prometheus",
            "name": "requests-waiting" if queues(model) else "requests",
            "metricType": "AverageValue",
            "metadata": {
                "serverAddress": prometheus_url(),
                "query": trigger_query(plan, model),
                "threshold": _number(target_per_replica(model)),
            },
        },
        {
            "type": "cpu",
            "name": "cpu-floor",
            "metricType": "Utilization",
            "metadata": {"value": str(cpu_target_percent(model)), "containerName": CONTAINER_SERVER},
        },
    ]
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": model.k8s_name},
        "minReplicaCount": model.min_replicas,
        "maxReplicaCount": model.max_replicas,
        "pollingInterval": POLLING_SECONDS,
        "triggers": triggers,
    }
    if scales_to_zero(plan, model):
        timezone, start, end = plan.autoscaling.schedule  # type: ignore[misc]  # set whenever it scales to zero
        triggers.append({
            "type": "cron",
            "name": "schedule",
            "metadata": {"timezone": timezone, "start": start, "end": end,
                         "desiredReplicas": str(model.min_replicas)},
        })
        spec["idleReplicaCount"] = 0
        spec["cooldownPeriod"] = SCALE_TO_ZERO_COOLDOWN_SECONDS
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": model_metadata(plan, model),
            "spec": spec}


def keda_values() -> dict[str, Any]:
    """Values of the KEDA release: the chart's defaults (its CRDs included); nothing mlinfra needs to change."""
    return {}
