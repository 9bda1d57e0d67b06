"""What a profile's monitoring needs on a cluster monitored by kube-prometheus-stack, said before deploying:
errors (`validate` and `render` refuse the profile) and warnings (they go through, with the consequence named).

Each finding is (profile path, message): what was found, what it means and what is allowed.
- error: monitoring.drift without a reference sample for a model served over V2 HTTP (MLServer, Triton): its
  drift alert could never fire; a models[].drift on a model whose API the drift monitor cannot read;
- warning: monitoring.drift with models served by vLLM, TGI or a custom image: they get no drift monitor;
- error: an email notify without monitoring.smtp - Alertmanager's smarthost would be localhost:25 inside its
  pod, where nothing listens, so no mail is ever delivered;
- warning: a latency SLO between two bucket edges of its runtime's histogram is measured at the upper edge
  (runtime_metrics.latency_edge);
- warning: a prod or staging environment keeping metrics for less than the 30-day SLO window: the 30-day
  budgets cover only what Prometheus keeps.
"""

from __future__ import annotations

from mlinfra.monitoring.runtime_metrics import SLO_WINDOW, latency_edge
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import Profile
from mlinfra.runtimes.catalog import RUNTIMES, runtime_for

Finding = tuple[str, str]
SLO_DAYS = SLO_WINDOW // 86400


def drift_errors(profile: Profile) -> list[Finding]:
    """monitoring.drift on a cluster: every model served over V2 HTTP needs its reference sample, and a drift block
    on a model whose API the monitor cannot read would be silently ignored."""
    out: list[Finding] = []
    for i, model in enumerate(profile.models):
        runtime = RUNTIMES[runtime_for(model.framework)]
        if model.drift is not None and not runtime.v2_http:
            out.append((
                f"models[{i}].drift",
                f"model '{model.name}' (framework {model.framework}) is served by {runtime.title}, whose API is not "
                f"the Open Inference (V2) protocol the drift monitor reads; remove models[{i}].drift (drift of "
                "prompts and generated text is not measured by feature PSI)",
            ))
        elif profile.monitoring.drift and model.drift is None and runtime.v2_http:
            out.append((
                f"models[{i}].drift.reference",
                f"monitoring.drift is on, but model '{model.name}' has no reference sample (got none): the drift "
                f"monitor compares its traffic with one. Set models[{i}].drift.reference to a .csv or .parquet file "
                "with the model's input columns (s3://, https:// or pvc://), or set monitoring.drift to false",
            ))
    return out


def drift_warnings(profile: Profile) -> list[Finding]:
    """monitoring.drift with models the monitor cannot watch (their APIs are not V2): said, not refused."""
    if not profile.monitoring.drift:
        return []
    out: list[Finding] = []
    for i, model in enumerate(profile.models):
        runtime = RUNTIMES[runtime_for(model.framework)]
        if not runtime.v2_http and model.drift is None:
            out.append((
                f"models[{i}]",
                f"monitoring.drift does not cover model '{model.name}': {runtime.title} does not serve the Open "
                "Inference (V2) protocol the drift monitor reads, so it gets no drift monitor or drift alert",
            ))
    return out


def monitoring_errors(profile: Profile) -> list[Finding]:
    """Problems that stop alerts from reaching anyone."""
    errors = drift_errors(profile)
    mon = profile.monitoring
    emails = [f"monitoring.notify[{i}]" for i, n in enumerate(mon.notify) if n.type == "email"]
    emails += [
        f"owners.{name}.notify[{i}]" for name, owner in profile.owners.items()
        for i, n in enumerate(owner.notify) if n.type == "email"
    ]
    if emails and mon.smtp is None:
        errors += [
            (
                "monitoring.smtp",
                f"{emails[0]} sends email, but no SMTP relay is set (got none): Alertmanager "
                "would send to localhost:25 inside its pod, where no mail server runs. Set monitoring.smtp with "
                "smarthost (host:port of your relay), from_address and, if it needs a login, auth_username and "
                "auth_password_secret (a secret config key); require_tls defaults to true",
            )
        ]
    return errors


def monitoring_warnings(profile: Profile) -> list[Finding]:
    """Consequences worth knowing: latency SLOs measured at another edge, retention under the SLO window."""
    out: list[Finding] = drift_warnings(profile)
    for i, model in enumerate(profile.models):
        edge = latency_edge(runtime_for(model.framework), model.slo.latency_p95_ms)
        if edge.note:
            out.append((f"models[{i}].slo.latency_p95_ms", edge.note))
    for env in all_environments(profile):
        if env.tier != "dev" and env.retention_days < SLO_DAYS:
            out.append(
                (
                    f"environments.{env.name}.retention_days",
                    f"Prometheus keeps {env.retention_days} days, less than the {SLO_DAYS}-day SLO window: the "
                    f"30-day error and latency budgets cover {env.retention_days} days only. Set "
                    f"environments.{env.name}.retention_days or monitoring.retention_days to {SLO_DAYS} or more",
                )
            )
    return out


def latency_edges(profile: Profile) -> dict[str, dict[str, object]]:
    """Per model the bucket edge its latency SLO is measured at (render.json's `latency_edges`)."""
    out: dict[str, dict[str, object]] = {}
    for model in profile.models:
        edge = latency_edge(runtime_for(model.framework), model.slo.latency_p95_ms)
        out[model.name] = {
            "slo_ms": model.slo.latency_p95_ms,
            "edge_ms": round(edge.edge_s * 1000, 6),
            "exact": edge.exact,
            **({"note": edge.note} if edge.note else {}),
        }
    return out
