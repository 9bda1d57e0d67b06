"""Planning assumptions every cost model states, so a reader can check the arithmetic by hand."""

from __future__ import annotations

from mlinfra.planning.sizing import PEAK_SHARE_OF_MONTH

PAYLOAD_KB = 10  # request + response per inference call
LOG_KB_PER_REQUEST = 1  # endpoint logs per request

MONTH = (
    f"a month is the price table's hours_per_month; autoscaled targets run their peak replica count "
    f"{PEAK_SHARE_OF_MONTH:.0%} of the month, on-premise capacity is held for the peak all month"
)
USAGE = (
    "usage-priced items (Serverless, load balancer capacity, logs) assume dev sees 5 % and staging 20 % of the "
    "profile's traffic"
)
PAYLOAD = f"requests carry {PAYLOAD_KB} KB (request + response) and write {LOG_KB_PER_REQUEST} KB of logs"
NOT_PRICED = (
    "free tiers (CloudWatch, Serverless first 2 months) are not deducted; NAT data, S3 and ECR storage are not "
    "included (volumes unknown)"
)
CLOUD = (MONTH, USAGE, PAYLOAD, NOT_PRICED)
