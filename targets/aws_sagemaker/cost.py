"""AWS SageMaker monthly cost per environment: the endpoints `sagemaker_plan` deploys (Serverless or real-time,
as choice.choose_endpoint decided), the CloudWatch alarms and dashboards the builders create, logs and - with
monitoring.drift - the processing hours of the Model Monitor schedules (model_monitor.py)."""

from __future__ import annotations

from collections.abc import Iterable

from mlinfra.costs.assumptions import cloud
from mlinfra.costs.effort import Effort, models_part
from mlinfra.costs.lines import priced_line
from mlinfra.costs.model import CostEstimate, CostLine, fmt_number
from mlinfra.costs.prices import PriceTable
from mlinfra.planning.sizing import traffic_share
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.environments import EnvironmentSettings, all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.egress import internet_egress_line
from mlinfra.targets.aws_sagemaker.alarms import AlarmSpec, build_alarms
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.edge import EDGE_LOG_KB_PER_REQUEST, PROXY_MEMORY_MB, has_edge, proxy_seconds
from mlinfra.targets.aws_sagemaker.model_monitor import (
    EXPECTED_RUN_MINUTES,
    HOURLY,
    INSTANCE_COUNT,
    INSTANCE_TYPE,
    MonitorSpec,
    data_quality_monitors,
    runs_per_month,
)

# AWS bills a composite alarm $0.50 a month, five standard alarm metrics ($0.10): the price table has no key of
# its own for it, so it is priced from cloudwatch/alarm.
COMPOSITE_ALARM_IN_ALARM_METRICS = 5


def estimate_sagemaker(
    profile: Profile, plan: EnvironmentPlan, env: EnvironmentSettings, table: PriceTable
) -> CostEstimate:
    """The environment's endpoints (of the target's own `plan`), alarms (billed per metric they read), one
    dashboard per model, logs. Every figure comes from a function the break-even sweep's cost function (sweep.py)
    calls too: tests/unit/test_sagemaker_sweep.py holds the two equal."""
    region = profile.region
    sm = sagemaker_plan(profile, plan, table)
    lines: list[CostLine] = [spec.choice.line for spec in sm.endpoints]

    alarms = [a for spec in sm.endpoints for a in build_alarms(sm, spec)]
    _, metrics, composites = alarm_bill(alarms)
    dashboards = len(sm.endpoints)
    alarm = table.regional("cloudwatch", "alarm", region)
    dashboard = table.regional("cloudwatch", "dashboard", region)
    lines.append(priced_line(
        f"CloudWatch: {len(alarms)} alarms, {dashboards} dashboard{'s' if dashboards != 1 else ''}",
        cloudwatch_eur(metrics, composites, dashboards, region, table),
        (alarm, dashboard),
        note=f"{metrics} alarm metrics and {composites} composite alarms (5 alarm metrics each)",
    ))
    log_gb, log_eur = logs_figures(profile, env, table)
    logs = table.regional("cloudwatch", "logs-gb", region)
    lines.append(priced_line(f"CloudWatch Logs: {fmt_number(round(log_gb, 2))} GB", log_eur, (logs,)))
    monitors = data_quality_monitors(sm)
    if monitors:
        lines.append(monitoring_line(monitors, region, table))
    lines += edge_lines(profile, env, table)
    if profile.security.exposure == "public":
        lines.append(internet_egress_line(profile, env, table))
    lines.append(sagemaker_effort(profile).line(profile.costs.onprem.ops_hourly_rate_eur))
    return CostEstimate(lines=tuple(lines), assumptions=cloud(profile))


def alarm_bill(alarms: Iterable[AlarmSpec]) -> tuple[int, int, int]:
    """(alarms, the metrics CloudWatch bills them for, composite alarms) of `alarms`."""
    n = metrics = composites = 0
    for a in alarms:
        n += 1
        metrics += a.metric_count()
        composites += a.kind == "composite"
    return n, metrics, composites


def cloudwatch_eur(metrics: int, composites: int, dashboards: int, region: str, table: PriceTable) -> float:
    """A month of alarms billed per metric they read (a composite alarm as COMPOSITE_ALARM_IN_ALARM_METRICS) and
    dashboards, in EUR."""
    alarm = table.regional("cloudwatch", "alarm", region)
    dashboard = table.regional("cloudwatch", "dashboard", region)
    return ((metrics + composites * COMPOSITE_ALARM_IN_ALARM_METRICS) * alarm.value + dashboards * dashboard.value) \
        * table.usd_to_eur


def logs_figures(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> tuple[float, float]:
    """GB of endpoint logs a month (costs.log_kb_per_request of every request the environment serves) and their EUR."""
    requests = sum(m.traffic.average_rps for m in profile.models) * traffic_share(env) * table.hours_per_month * 3600
    log_gb = requests * profile.costs.log_kb_per_request / 1e6
    return log_gb, log_gb * table.regional("cloudwatch", "logs-gb", profile.region).value * table.usd_to_eur


def sagemaker_effort(profile: Profile) -> Effort:
    """Operations hours of one environment: its models (managed endpoints: no cluster or nodes to run) - what the
    cost bills and the operations score weighs."""
    return Effort((models_part(len(profile.models), profile.costs.ops_hours_per_model_month),))


def edge_usage(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> tuple[float, float, float]:
    """The edge's month: requests, the Lambda proxy's GB-seconds (it waits for the endpoint), GB of its logs."""
    seconds = table.hours_per_month * 3600
    per_model = [(m.traffic.average_rps * traffic_share(env) * seconds, proxy_seconds(m)) for m in profile.models]
    requests = sum(n for n, _ in per_model)
    gb_seconds = sum(n * s for n, s in per_model) * PROXY_MEMORY_MB / 1024
    return requests, gb_seconds, requests * EDGE_LOG_KB_PER_REQUEST / 1e6


def edge_eur(
    requests: float, gb_seconds: float, log_gb: float, region: str, table: PriceTable
) -> tuple[float, float, float]:
    """EUR of the edge's HTTP API requests, Lambda proxy (requests and GB-seconds) and logs."""
    fx = table.usd_to_eur
    http = table.regional("apigateway-http", "requests-million", region)
    invocations = table.regional("lambda", "requests-million", region)
    compute = table.regional("lambda", "gb-second-x86", region)
    logs = table.regional("cloudwatch", "logs-gb", region)
    return (requests / 1e6 * http.value * fx, (requests / 1e6 * invocations.value + gb_seconds * compute.value) * fx,
            log_gb * logs.value * fx)


def edge_lines(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> list[CostLine]:
    """The API Gateway edge (edge.py) where the environment has one: HTTP API requests, the Lambda proxy's requests
    and GB-seconds (it waits for the endpoint), their logs. Free tiers are not deducted."""
    if not has_edge(profile):
        return []
    region = profile.region
    requests, gb_seconds, log_gb = edge_usage(profile, env, table)
    http_eur, proxy_eur, logs_eur = edge_eur(requests, gb_seconds, log_gb, region, table)
    http = table.regional("apigateway-http", "requests-million", region)
    invocations = table.regional("lambda", "requests-million", region)
    compute = table.regional("lambda", "gb-second-x86", region)
    logs = table.regional("cloudwatch", "logs-gb", region)
    millions = fmt_number(round(requests / 1e6, 3))
    return [
        priced_line(f"API Gateway HTTP API (edge): {millions} M requests", http_eur, (http,)),
        priced_line(
            f"Lambda edge proxy: {millions} M requests, {fmt_number(round(gb_seconds))} GB-s", proxy_eur,
            (invocations, compute),
            note=f"{PROXY_MEMORY_MB} MB x86 for the endpoint's time per request plus the proxy's own",
        ),
        priced_line(f"CloudWatch Logs (edge): {fmt_number(round(log_gb, 2))} GB", logs_eur, (logs,),
                    note="access logs and the proxy's lines"),
    ]


def edge_monthly_eur(profile: Profile, table: PriceTable) -> float:
    """What the edge costs a month over all environments (0 without one)."""
    return round(sum(line.monthly_eur for env in all_environments(profile) for line in edge_lines(profile, env, table)), 2)


def monitoring_line(monitors: tuple[MonitorSpec, ...], region: str, table: PriceTable) -> CostLine:
    """The schedules' processing hours: runs a month x the expected minutes of a run x the instances of a run, at
    the SageMaker Processing price of the instance type."""
    price = table.regional("sagemaker-processing", INSTANCE_TYPE, region)
    runs = sum(runs_per_month(m.schedule_expression, table.hours_per_month) for m in monitors)
    hours = runs * EXPECTED_RUN_MINUTES / 60 * INSTANCE_COUNT
    n = len(monitors)
    cadence = sorted({"hourly" if m.schedule_expression == HOURLY else "daily" for m in monitors})
    return priced_line(
        f"SageMaker Model Monitor: {n} data-quality schedule{'s' if n != 1 else ''}, "
        f"{fmt_number(round(hours, 1))} processing hours on {INSTANCE_TYPE}",
        hours * price.value * table.usd_to_eur,
        (price,),
        note=f"{fmt_number(round(runs, 1))} runs a month ({' and '.join(cadence)}) x {EXPECTED_RUN_MINUTES} min "
        "(assumed); the per-feature CloudWatch metrics Model Monitor publishes are not priced (the profile names no "
        "features)",
    )
