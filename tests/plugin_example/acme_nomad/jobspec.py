"""Nomad job specifications (JSON job format) built from mlinfra's model specs. Pure: no Pulumi."""

from __future__ import annotations

import json

from mlinfra.planning.specs import EnvironmentPlan, ModelSpec
from mlinfra.runtimes import MODEL_DIR, RUNTIMES

MHZ_PER_CORE = 1000  # Nomad reserves CPU in MHz; Acme's clients count one core as 1000 MHz
SECOND_NS = 1_000_000_000  # the JSON job format gives durations in nanoseconds


def job_name(plan: EnvironmentPlan, model: ModelSpec) -> str:
    return f"{plan.profile_name}-{plan.environment}-{model.k8s_name}"


def job_spec(plan: EnvironmentPlan, model: ModelSpec, datacenter: str = "dc1") -> dict:
    """One service job per model: `min_replicas` allocations of the model's serving runtime."""
    runtime = RUNTIMES[model.runtime]
    name = job_name(plan, model)
    ports = [{"Label": "http", "To": runtime.http_port}]
    if not runtime.metrics_on_http_port:
        ports.append({"Label": "metrics", "To": runtime.metrics_port})
    check_path = runtime.readiness_path or "/"
    resources = {"CPU": int(model.cpu * MHZ_PER_CORE), "MemoryMB": int(model.memory_gib * 1024)}
    if model.gpus:
        resources["Devices"] = [{"Name": "nvidia/gpu", "Count": model.gpus}]
    return {
        "Job": {
            "ID": name,
            "Name": name,
            "Type": "service",
            "Datacenters": [datacenter],
            "Meta": {"mlinfra-profile": plan.profile_name, "mlinfra-environment": plan.environment},
            "TaskGroups": [
                {
                    "Name": model.k8s_name,
                    "Count": model.min_replicas,
                    "Networks": [{"DynamicPorts": ports}],
                    "Services": [
                        {
                            "Name": name,
                            "PortLabel": "http",
                            "Tags": [f"model={model.name}", f"env={plan.environment}"],
                            "Checks": [
                                {
                                    "Type": "http",
                                    "Path": check_path,
                                    "Interval": 10 * SECOND_NS,
                                    "Timeout": 2 * SECOND_NS,
                                }
                            ],
                        }
                    ],
                    "Tasks": [
                        {
                            "Name": "server",
                            "Driver": "docker",
                            "Config": {"image": model.image, "ports": [p["Label"] for p in ports]},
                            "Env": {"MODEL_URI": model.artifact, "MODEL_DIR": MODEL_DIR},
                            "Resources": resources,
                        }
                    ],
                }
            ],
        }
    }


def job_json(plan: EnvironmentPlan, model: ModelSpec) -> str:
    """The job as deterministic JSON text (what `nomad job run -json` and the Pulumi resource take)."""
    return json.dumps(job_spec(plan, model), indent=2, sort_keys=True) + "\n"
