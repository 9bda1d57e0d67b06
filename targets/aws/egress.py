"""Data leaving AWS for internet callers, priced the same way on every AWS target."""

from __future__ import annotations

from mlinfra.costs.lines import priced_line
from mlinfra.costs.model import CostLine, fmt_number
from mlinfra.costs.prices import PriceTable
from mlinfra.planning.sizing import traffic_share
from mlinfra.profiles.environments import EnvironmentSettings
from mlinfra.profiles.model import Profile


def internet_egress_line(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> CostLine:
    """Responses leaving AWS for internet callers: requests x costs.payload_kb_per_request (request and response:
    an upper bound), at the data-transfer-out price; the 100 GB free a month is not deducted."""
    gb, eur = internet_egress_figures(profile, env, table)
    out = table.regional("data-transfer", "internet-out-gb", profile.region)
    return priced_line(f"internet egress: {fmt_number(round(gb, 2))} GB", eur, (out,),
                       note="responses to public callers; request + response size, an upper bound")


def internet_egress_figures(profile: Profile, env: EnvironmentSettings, table: PriceTable) -> tuple[float, float]:
    """GB leaving AWS for internet callers in a month, and their EUR."""
    seconds = table.hours_per_month * 3600
    gb = sum(m.traffic.average_rps for m in profile.models) * traffic_share(env) * seconds \
        * profile.costs.payload_kb_per_request / 1e6
    return gb, gb * table.regional("data-transfer", "internet-out-gb", profile.region).value * table.usd_to_eur
