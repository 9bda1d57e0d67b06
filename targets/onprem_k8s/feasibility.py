"""When the existing on-premise cluster cannot hold the profile: no cluster declared, too few GPUs or CPU nodes."""

from __future__ import annotations

from mlinfra.costs.model import fmt_number
from mlinfra.costs.nodes import gpu_memory_needed
from mlinfra.planning.sizing import size_model
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Model, Profile
from mlinfra.targets.onprem_k8s.cost import onprem_share


def on_declared_cluster(profile: Profile) -> list[EnvironmentSettings]:
    """The environments that run on the cluster the `onprem` block declares (onprem.kube_context): the capacity
    checks add up their needs. An environment with a kube_context of its own runs on another cluster, whose
    capacity the profile does not state, so it is not counted against this one."""
    o = profile.onprem
    envs = all_environments(profile)
    return [e for e in envs if o is None or e.kube_context == o.kube_context]


def gpu_demand(profile: Profile) -> list[tuple[str, str, int]]:
    """(model, environment, GPUs at peak) for every GPU model in every environment on the declared cluster."""
    return [
        (m.name, env.name, m.resources.gpus * size_model(m, env).peak_replicas)
        for env in on_declared_cluster(profile)
        for m in profile.models
        if m.resources.gpus > 0
    ]


def gpu_models(profile: Profile) -> list[Model]:
    return [m for m in profile.models if m.resources.gpus > 0]


def violations(profile: Profile) -> list[str]:
    """A declared cluster with enough GPUs (of the right type) and CPU for every environment at peak."""
    o = profile.onprem
    if o is None:
        if profile.data.sovereignty == "on_premise":
            return [
                "data must stay on premise (data.sovereignty: on_premise) but no on-premise cluster is declared: "
                "no `onprem` block; declare it with onprem.kube_context (and onprem.gpu_nodes for GPU models)"
            ]
        return [
            "no `onprem` block: onprem-k8s deploys to an existing cluster; declare it with onprem.kube_context "
            "(and onprem.gpu_nodes for GPU models)"
        ]
    problems: list[str] = []
    gpus = gpu_models(profile)
    available = o.gpu_nodes * o.gpus_per_node
    if gpus and o.gpu_nodes == 0:
        names = ", ".join(f"'{m.name}' ({m.resources.gpus} per replica)" for m in gpus)
        problems.append(
            f"GPU model{'s' if len(gpus) > 1 else ''} {names} need{'' if len(gpus) > 1 else 's'} GPUs but "
            "onprem.gpu_nodes is 0; "
            "declare the cluster's GPU nodes (onprem.gpu_nodes, onprem.gpus_per_node) or serve the models on CPU"
        )
    elif gpus:
        for m in gpus:
            if m.resources.gpus > o.gpus_per_node:
                problems.append(
                    f"model '{m.name}' needs {m.resources.gpus} GPUs per replica but a GPU node has "
                    f"onprem.gpus_per_node = {o.gpus_per_node}; one replica must fit on one node"
                )
            need = gpu_memory_needed(m)
            if o.gpu_memory_gib and need > m.resources.gpus * o.gpu_memory_gib + 1e-9:
                problems.append(
                    f"model '{m.name}' needs {fmt_number(need)} GiB of GPU memory per replica but its "
                    f"{m.resources.gpus} GPU{'s' if m.resources.gpus != 1 else ''} of onprem.gpu_memory_gib = "
                    f"{fmt_number(o.gpu_memory_gib)} hold {fmt_number(m.resources.gpus * o.gpu_memory_gib)}; give the "
                    "model more GPUs per replica (models[].resources.gpus) or serve it on GPUs with more memory"
                )
            wanted = (m.resources.gpu_type or "").lower()
            have = (o.gpu_type or "").lower()
            if wanted and have and wanted != have:
                problems.append(
                    f"model '{m.name}' asks for gpu_type '{wanted}' but the cluster's GPU nodes have "
                    f"onprem.gpu_type '{have}'; change models[].resources.gpu_type or onprem.gpu_type"
                )
        demand = gpu_demand(profile)
        needed = sum(n for _, _, n in demand)
        alone = any(sum(n for _, e, n in demand if e == env.name) > available for env in on_declared_cluster(profile))
        if needed > available and not alone:  # an environment too large alone is named by environment_violations
            detail = ", ".join(f"{model} {n} in {env}" for model, env, n in demand)
            problems.append(
                f"the GPU models need {needed} GPUs at peak ({detail}) but the cluster has onprem.gpu_nodes x "
                f"onprem.gpus_per_node = {o.gpu_nodes} x {o.gpus_per_node} = {available}; add GPU nodes or lower "
                "max_replicas"
            )
    problems += _cpu(profile)
    return problems


def _cpu(profile: Profile) -> list[str]:
    o, c = profile.onprem, profile.costs.onprem
    assert o is not None
    n = len(all_environments(profile))
    shares = [onprem_share(profile, env, n).cpu_node_equivalents for env in on_declared_cluster(profile)]
    used = sum(shares)
    if used > o.cpu_nodes and all(s <= o.cpu_nodes for s in shares):  # else an environment alone is too large
        return [
            f"at peak the models and the monitoring stack need {used:.2f} CPU nodes of {c.node_cpu:g} cores / "
            f"{c.node_memory_gib:g} GiB (costs.onprem.node_cpu, node_memory_gib) but onprem.cpu_nodes is "
            f"{o.cpu_nodes}; add nodes or lower max_replicas"
        ]
    return []


def environment_violations(profile: Profile, env: EnvironmentSettings) -> list[str]:
    """The declared cluster against one environment's own peak needs (its traffic, its replicas): an environment that
    alone needs more GPUs or CPU nodes than the cluster has. What the environments sharing the cluster need together
    is `violations`' check; an environment on a kube_context of its own runs on a cluster whose capacity the profile
    does not state, so nothing is checked for it."""
    o, c = profile.onprem, profile.costs.onprem
    if o is None or env.name not in {e.name for e in on_declared_cluster(profile)}:
        return []
    problems: list[str] = []
    available = o.gpu_nodes * o.gpus_per_node
    demand = [(m.name, m.resources.gpus * size_model(m, env).peak_replicas) for m in gpu_models(profile)]
    needed = sum(n for _, n in demand)
    if o.gpu_nodes and needed > available:
        detail = ", ".join(f"{model} {n}" for model, n in demand)
        problems.append(
            f"its own traffic ({_traffic(profile, env)}) needs {needed} GPUs at peak ({detail}) but the cluster has "
            f"onprem.gpu_nodes x onprem.gpus_per_node = {o.gpu_nodes} x {o.gpus_per_node} = {available}; add GPU nodes, "
            f"lower environments.{env.name}.max_replicas or its traffic_share"
        )
    share = onprem_share(profile, env, len(all_environments(profile)))
    if share.cpu_node_equivalents > o.cpu_nodes:
        problems.append(
            f"its own traffic ({_traffic(profile, env)}) needs {share.cpu_node_equivalents:.2f} CPU nodes of "
            f"{c.node_cpu:g} cores / {c.node_memory_gib:g} GiB at peak (costs.onprem.node_cpu, node_memory_gib) but "
            f"onprem.cpu_nodes is {o.cpu_nodes}; add nodes, lower environments.{env.name}.max_replicas or its "
            "traffic_share"
        )
    return problems


def _traffic(profile: Profile, env: EnvironmentSettings) -> str:
    """One environment's share of the profile's traffic, as the messages quote it."""
    average = sum(m.traffic.average_rps for m in profile.models) * env.traffic_share
    peak = sum(m.traffic.peak_rps for m in profile.models) * env.traffic_share
    return (f"{fmt_number(round(average, 3))} req/s average, {fmt_number(round(peak, 3))} at peak: "
            f"{fmt_number(env.traffic_share)} of the profile's")


def utilisation(profile: Profile) -> float:
    """Peak share of the declared cluster (the larger of CPU and GPU), over every environment."""
    if profile.onprem is None:
        return 1.0
    n = len(all_environments(profile))
    shares = [onprem_share(profile, e, n) for e in on_declared_cluster(profile)]
    cpu = sum(s.cpu_node_equivalents for s in shares) / profile.onprem.cpu_nodes
    gpu_total = profile.onprem.gpu_nodes * profile.onprem.gpus_per_node
    gpu = sum(s.gpus for s in shares) / gpu_total if gpu_total else 0.0
    return round(max(cpu, gpu), 4)
