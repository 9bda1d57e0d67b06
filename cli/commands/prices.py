"""`mlinfra prices`: the versioned price table the cost model uses, with sources, dates and confidence."""

from __future__ import annotations

import click

from mlinfra.cli.errors import DomainError, user_errors
from mlinfra.cli.output import console, emit_json, format_option
from mlinfra.costs.prices import PriceError, load_table, price_table
from mlinfra.profiles import load_profile


@click.command()
@click.option(
    "--profile",
    "profile",
    default=None,
    metavar="PROFILE",
    type=click.Path(dir_okay=False, path_type=str),
    help="Show the table as this profile sees it (its costs.prices overrides and costs.usd_to_eur applied).",
)
@format_option()
def prices(profile: str | None, fmt: str) -> None:
    """List the price table: key, value, unit, region, confidence (A vendor, B second-hand, U unconfirmed), source.

    Override any entry in a profile with `costs: {prices: {KEY: VALUE}}`.
    """
    with user_errors():
        try:
            if profile:
                table = price_table(load_profile(profile))
            else:
                table = load_table()
        except PriceError as exc:
            raise DomainError(f"{profile}: {exc}") from None
    if fmt == "json":
        emit_json(
            {
                "version": table.version,
                "date": table.date,
                "hours_per_month": table.hours_per_month,
                "usd_to_eur": {"value": table.usd_to_eur, "date": table.usd_to_eur_date, "source": table.usd_to_eur_source},
                "prices": [p.to_dict() for p in table.prices.values()],
                "onprem_references": list(table.onprem_references),
                "commitments": [dict(c) for c in table.commitments],
                "instances": {
                    "source": table.instances_source,
                    "date": table.instances_date,
                    **{service: [_instance_dict(i) for i in types] for service, types in
                       (("ec2", table.ec2), ("sagemaker", table.sagemaker))},
                },
            }
        )
        return
    from rich.table import Table


    out = console()
    grid = Table(
        title=f"price table {table.version} ({table.date}); USD->EUR {table.usd_to_eur:g} ({table.usd_to_eur_date})",
        title_justify="left",
    )
    for name, kw in (("key", {}), ("value", {"justify": "right"}), ("unit", {}), ("conf", {}), ("date", {}), ("source", {"ratio": 1})):
        grid.add_column(name, **kw)
    for p in table.prices.values():
        value = ("≈ " if not p.exact else "") + f"{p.value:g}"
        source = p.derivation or p.source
        grid.add_row(p.key, value, p.unit, p.confidence + (" *" if p.overridden else ""), p.date, source)
    out.print(grid)
    out.print("conf: A vendor price list, B second-hand, U unconfirmed or derived (≈); * set by the profile", markup=False)
    catalogue = Table(
        title=f"instance catalogue: {table.instances_source} ({table.instances_date}); price keys ec2/<type>/<region>, "
        "sagemaker/<type>/<region>",
        title_justify="left",
    )
    for name in ("service", "type", "vCPU", "memory GiB", "GPUs", "GPU", "GPU memory GiB", "source"):
        catalogue.add_column(name, justify="right" if name in ("vCPU", "memory GiB", "GPUs", "GPU memory GiB") else "left")
    for service, types in (("ec2", table.ec2), ("sagemaker", table.sagemaker)):
        for i in types:
            catalogue.add_row(
                service, i.name + (" (burstable)" if i.burstable else ""), f"{i.vcpu:g}", f"{i.memory_gib:g}",
                str(i.gpus or ""), i.gpu or "", f"{i.gpu_memory_gib:g}" if i.gpus else "",
                "profile" if i.source.startswith("profile") else "catalogue",
            )
    out.print(catalogue)
    for c in table.commitments:
        out.print(f"{c['name']} ({', '.join(c['services'])}): {c['discount']:.0%} off on demand, conf {c['confidence']} "
                  f"({c['date']}): {c['source']}", markup=False)
    out.print("add or override types with costs.instance_types in the profile", markup=False)


def _instance_dict(i) -> dict:
    return {"type": i.name, "vcpu": i.vcpu, "memory_gib": i.memory_gib, "gpus": i.gpus, "gpu": i.gpu,
            "gpu_memory_gib": i.gpu_memory_gib, "burstable": i.burstable, "source": i.source}
