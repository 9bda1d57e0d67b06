"""aws-sagemaker's cost as a function of traffic, for the break-even sweep (decision/sensitivity.py): equal to the sum
of cost.estimate_sagemaker over the environments at every point, without building a plan, endpoints or alarms per
point.

Once per profile and environment: what traffic does not change - each model's instance type (the cheapest holding a
replica), the alarms each of its alerts bills (built once, from the profile's own plan), the dashboards, the Model
Monitor schedules, the operations time. Per point: what it does change - each model's mode, instances and
Serverless figures (choice.price_endpoint: the same rule and prices choose_endpoint describes), which alerts its
endpoint has (alarms.endpoint_alerts: no traffic, no instances), the requests-priced lines (logs, edge, egress).
Every line is rounded to the cent as the estimate's lines are; tests/unit/test_sagemaker_sweep.py holds the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlinfra.costs.prices import PriceTable
from mlinfra.planning.specs import EnvironmentPlan, expects_traffic
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile
from mlinfra.targets.aws.egress import internet_egress_figures
from mlinfra.targets.aws_sagemaker.alarms import alert_alarms, endpoint_alerts
from mlinfra.targets.aws_sagemaker.choice import on_instances, price_endpoint, sagemaker_instance
from mlinfra.targets.aws_sagemaker.cost import (
    alarm_bill,
    cloudwatch_eur,
    edge_eur,
    edge_usage,
    logs_figures,
    monitoring_line,
    sagemaker_effort,
)
from mlinfra.targets.aws_sagemaker.edge import has_edge
from mlinfra.targets.aws_sagemaker.endpoints import sagemaker_plan
from mlinfra.targets.aws_sagemaker.model_monitor import data_quality_monitors


def cost_function(
    profile: Profile, plans: Sequence[tuple[EnvironmentSettings, EnvironmentPlan]], table: PriceTable
) -> Callable[[Profile], float]:
    """Monthly EUR over the environments of `plans` (each with the target's plan of `profile`) of a variant of
    `profile` that differs only in its models' traffic (raises EstimateError where the estimate does: no instance
    holds a model, whatever the traffic)."""
    parts = [_environment(profile, env, plan, table) for env, plan in plans]

    def monthly(variant: Profile) -> float:
        return sum(part(variant) for part in parts)

    return monthly


def _environment(
    profile: Profile, env: EnvironmentSettings, plan: EnvironmentPlan, table: PriceTable
) -> Callable[[Profile], float]:
    """One environment's estimate (its monthly_eur) as a function of the variant."""
    region = profile.region
    sm = sagemaker_plan(profile, plan, table)
    models = sm.models
    instances = [sagemaker_instance(m, env, table, region) for m in profile.models]
    every_alert = endpoint_alerts(True, True)
    # per endpoint, what each alert's alarms bill: (alarms, metrics, composite alarms)
    bills = [{alert: alarm_bill(alert_alarms(sm, spec, models[spec.model], alert)) for alert in every_alert}
             for spec in sm.endpoints]
    dashboards = len(sm.endpoints)
    monitors = data_quality_monitors(sm)
    fixed_monitoring = monitoring_line(monitors, region, table).monthly_eur if monitors else None
    edge, public = has_edge(profile), profile.security.exposure == "public"
    effort = sagemaker_effort(profile).line(profile.costs.onprem.ops_hourly_rate_eur).monthly_eur
    traffic_expected, share = env.traffic_expected, env.traffic_share

    def monthly(variant: Profile) -> float:
        lines: list[float] = []  # the estimate's lines, in its order, each to the cent
        metrics = composites = 0
        for model, inst, bill in zip(variant.models, instances, bills):
            priced = price_endpoint(variant, model, env, table, inst)
            lines.append(priced.monthly_eur)
            alerts = endpoint_alerts(expects_traffic(traffic_expected, model.traffic.average_rps, share),
                                     on_instances(priced.mode))
            for alert in alerts:
                _, m, c = bill[alert]
                metrics += m
                composites += c
        lines.append(round(cloudwatch_eur(metrics, composites, dashboards, region, table), 2))
        lines.append(round(logs_figures(variant, env, table)[1], 2))
        if fixed_monitoring is not None:
            lines.append(fixed_monitoring)
        if edge:
            lines += [round(eur, 2) for eur in edge_eur(*edge_usage(variant, env, table), region, table)]
        if public:
            lines.append(round(internet_egress_figures(variant, env, table)[1], 2))
        lines.append(effort)
        return round(sum(lines), 2)

    return monthly
