"""`mlinfra decide PROFILE`: SageMaker, EKS or on-prem Kubernetes, with reasons, scores and monthly costs.

Kept fast (a whole run well under 0.4 s): rich is imported only to print tables; the decision record (jinja2, the
writer, the scaffold) only for --adr (decide_adr.py).
"""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.monitoring.series import profile_estimates
from mlinfra.costs.model import money
from mlinfra.costs.prices import PriceError
from mlinfra.decision.decide import DecisionError
from mlinfra.decision.plot import PlotError, plot_costs
from mlinfra.profiles import load_profile
from mlinfra.targets.base import deferred
from mlinfra.targets.resolve import decision_for

_write_record = deferred("mlinfra.cli.commands.decide_adr:write_record")  # --adr only


@click.command()
@click.argument("profile", type=click.Path(dir_okay=False, path_type=str))
@format_option()
@click.option(
    "--env", "env", default=None, metavar="ENV",
    help="Show this environment's costs and feasibility, checked on its own traffic (the choice always weighs all "
    "environments: one target serves them all).",
)
@click.option(
    "--adr",
    "adr_dir",
    default=None,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=str),
    help="Also write the decision as an architecture decision record, DIR/0001-deployment-target.md.",
)
@click.option("--force", is_flag=True, help="With --adr: overwrite a record edited since mlinfra wrote it.")
@click.option(
    "--plot", "plot_file", default=None, metavar="FILE",
    type=click.Path(dir_okay=False, path_type=str),
    help="Also draw monthly cost against traffic for every priced option, break-even points marked, into FILE "
    "(.svg or .png; needs matplotlib: pip install 'mlinfra[plot]').",
)
def decide(profile: str, fmt: str, env: str | None, adr_dir: str | None, force: bool, plot_file: str | None) -> None:
    """Decide where the profile's models should run, among every installed target.

    Hard constraints rule options out (each with its reason), and so does a target this installation cannot
    deploy; the feasible ones are ranked by cost, scalability, sovereignty, security and operating effort with
    the profile's weights. One target serves every environment; render, preview, init and `pulumi up` use it.
    Exit code 0 when a target is chosen, 1 when none is feasible, 2 for usage errors.
    """
    if force and not adr_dir:
        raise click.UsageError("--force only applies together with --adr DIR")
    if plot_file and not plot_file.lower().endswith((".svg", ".png")):
        raise click.BadParameter(f"'{plot_file}' is neither .svg nor .png; use a file ending in one of them",
                                 param_hint="--plot")
    with user_errors():
        loaded = load_profile(profile)
        try:
            decision = decision_for(loaded, env)
        except (PriceError, DecisionError) as exc:
            raise DomainError(f"{profile}: {exc}") from None

    if adr_dir:
        _write_record(decision, loaded, adr_dir, force)
    if plot_file:
        try:
            plot_costs(decision, plot_file)
        except PlotError as exc:
            raise DomainError(f"{profile}: {exc}") from None
        except OSError as exc:
            raise DomainError(f"--plot: cannot write '{plot_file}': {exc.strerror or exc}") from None
    series = profile_estimates(loaded)  # what a Kubernetes target's monitoring stack would hold
    if fmt == "json":
        emit_json({**decision.to_dict(), "monitoring_series": series})
    else:
        print_decision(decision)
        for line in series_lines(series):
            console().print(line, markup=False)
    if not decision.feasible:
        raise DomainError(f"{profile}: {decision.reasons[0]}")


# ---------------------------------------------------------------------------------------------------------
# Tables for people


def series_lines(series: list[dict]) -> list[str]:
    """One line per monitoring stack a Kubernetes target would install: its series estimate and Prometheus."""
    lines = ["monitoring stack on a Kubernetes target (estimate at maximum replicas; `render` sizes Prometheus by it):"]
    for stack in series:
        prom = stack["prometheus"]
        over = ""
        if stack["needs_remote_write"]:
            over = (f", above the {stack['max_series_per_prometheus']:,} one Prometheus should hold: "
                    + ("remote write to " + stack["remote_write"]["kind"] if stack["remote_write"]
                       else "set monitoring.remote_write"))
        lines.append(f"  - {', '.join(stack['environments'])}: ~{stack['active_series']:,} active series, Prometheus "
                     f"memory {prom['memory_request']} / {prom['memory_limit']}, "
                     f"{prom['volume_gib_needed']} GiB for {prom['retention_days']} days{over}")
    return lines


def print_decision(decision) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    chosen = decision.chosen
    if chosen:
        out.print(f"[bold]{decision.profile}[/bold] -> [bold green]{chosen.target}[/bold green] "
                  f"({', '.join(decision.components)})")
    else:
        out.print(f"[bold]{decision.profile}[/bold] -> [bold red]no feasible target[/bold red]")
    reasons = Table.grid(padding=(0, 1))  # bullet column: wrapped reasons keep a hanging indent
    reasons.add_column(width=3, justify="right")
    reasons.add_column(ratio=1)
    for reason in decision.reasons:
        reasons.add_row("-", Text(reason))
    out.print(reasons)

    options = Table(title=f"Options (EUR/month, {decision.cost_scope})", title_justify="left", show_lines=True)
    for name, kw in (("#", {"justify": "right"}), ("target", {}), ("feasible", {}), ("EUR/month", {"justify": "right"}),
                     ("budget", {}), ("score", {"justify": "right"}), ("why", {"ratio": 1})):
        options.add_column(name, **kw)
    for o in decision.options:
        budget = "-" if o.over_budget is None else ("over" if o.over_budget else "within")
        why = "chosen" if chosen and o.target == chosen.target else o.why
        feasible = "yes" if o.feasible else "no"
        if decision.env and not o.feasible and o.feasible_in(decision.env):
            feasible = f"no (yes in {decision.env})"  # ruled out by another environment or the profile
        options.add_row(
            str(o.rank or "-"), o.target, feasible, money(o.monthly_cost_eur, estimated=o.estimated, cents=True),
            budget, f"{o.score:.2f}" if o.score is not None else "-", why,
        )
    out.print(options)

    totals = [o for o in decision.options if o.horizon]
    if totals:
        years = totals[0].horizon.years
        out.print(f"Over {years} year{'s' if years != 1 else ''} (decision.horizon_years, all environments):", markup=False)
        for o in totals:
            h = o.horizon
            plans = "".join(f", {money(total, estimated=True)} with a {name}" for name, total in h.commitments)
            capex = f" (incl. {money(h.capex_eur)} hardware bought)" if h.capex_eur else ""
            flag = "" if o.feasible else " (infeasible, for comparison)"
            out.print(f"  - {o.target}{flag}: {money(h.on_demand_eur, estimated=o.estimated)} on demand{capex}{plans}",
                      markup=False)
    if chosen and chosen.cost_breakdown:
        costs = Table(title=f"Cost breakdown: {chosen.target}", title_justify="left")
        for name, kw in (("env", {}), ("item", {"ratio": 1}), ("EUR/month", {"justify": "right"}), ("price keys", {"ratio": 1})):
            costs.add_column(name, **kw)
        for line in chosen.cost_breakdown:
            keys = line.price_keys[0] + (f" +{len(line.price_keys) - 1}" if len(line.price_keys) > 1 else "") if line.price_keys else ""
            costs.add_row(line.env, line.item, money(line.monthly_eur, estimated=line.estimated, cents=True), keys)
        costs.add_row("", "total", money(chosen.monthly_cost_eur, estimated=chosen.estimated, cents=True), "")
        out.print(costs)

    if decision.assumptions:
        out.print("assumptions (override the costs.* fields named in the profile):", markup=False)
        for assumption in decision.assumptions:
            out.print(f"  - {assumption}", markup=False)
    weights = ", ".join(f"{c} {w:.2f}" for c, w in decision.weights.items())
    t = decision.price_table
    out.print(f"weights (decision.weights, normalised): {weights}", markup=False)
    out.print(
        f"price table {t['version']}, USD->EUR {t['usd_to_eur']:g} ({t['usd_to_eur_date']}); "
        f"≈ marks figures using unconfirmed prices; `mlinfra prices` lists every price, --format json shows the keys used",
        markup=False,
    )
