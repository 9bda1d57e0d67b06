"""Planning assumptions every cost model states, so a reader can check the arithmetic by hand; the deciding ones
are the profile's `costs` fields (defaults shown with their field names)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Profile

NOT_PRICED = (
    "free tiers (CloudWatch, Serverless first 2 months) are not deducted; S3 and ECR storage are not included "
    "(volumes unknown); no WAF is deployed, so none is priced"
)


def month(profile: Profile) -> str:
    return (
        "a month is the price table's hours_per_month; autoscaled targets run their peak replica count "
        f"{profile.costs.peak_share_of_month:.0%} of the month (costs.peak_share_of_month), on-premise capacity is "
        "held for the peak all month"
    )


def cloud(profile: Profile) -> tuple[str, ...]:
    """What every cloud estimate assumes, with the profile's values."""
    c = profile.costs
    return (
        month(profile),
        "usage-priced items (Serverless, load balancer capacity, logs) and every environment's sizing use its "
        "environments.<env>.traffic_share of the profile's traffic (default dev 5 %, staging 20 %)",
        f"requests carry {c.payload_kb_per_request:g} KB (request + response, costs.payload_kb_per_request) and write "
        f"{c.log_kb_per_request:g} KB of logs (costs.log_kb_per_request)",
        NOT_PRICED,
    )
