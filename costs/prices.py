"""The price table: load the shipped data, apply a profile's overrides, derive unconfirmed regional prices.

Every figure an estimate shows names the price keys it came from; a price of confidence U (unconfirmed or
derived) is never presented as exact.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlinfra.profiles.model import EU_REGIONS

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Profile

TABLE_FILE = Path(__file__).with_name("prices.yaml")
HOME_REGION_EU = "eu-central-1"
HOME_REGION_OTHER = "us-east-1"


class PriceError(ValueError):
    """A price key the table does not know (from the profile's costs.prices), or a broken table."""


@dataclass(frozen=True)
class Price:
    key: str  # <service>/<item>/<region>
    value: float  # in `currency` per `unit`
    unit: str
    region: str
    source: str
    date: str
    confidence: str  # A | B | U
    currency: str = "USD"
    derivation: str = ""  # how a derived value was computed, with the keys used
    inputs: tuple[str, ...] = ()  # keys a derived value was computed from
    overridden: bool = False  # the profile's costs.prices set this value

    @property
    def exact(self) -> bool:
        return self.confidence != "U"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "value": self.value,
            "currency": self.currency,
            "unit": self.unit,
            "region": self.region,
            "source": self.source,
            "date": self.date,
            "confidence": self.confidence,
            "derivation": self.derivation,
            "overridden": self.overridden,
        }


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpu: float
    memory_gib: float
    gpus: int = 0
    gpu: str | None = None
    burstable: bool = False
    gpu_memory_gib: float = 0.0  # per GPU
    source: str = ""  # where the sizes come from: the catalogue's source, or the profile

    @property
    def total_gpu_memory_gib(self) -> float:
        return self.gpus * self.gpu_memory_gib


@dataclass(frozen=True)
class PriceTable:
    version: str
    date: str
    hours_per_month: float
    usd_to_eur: float
    usd_to_eur_date: str
    usd_to_eur_source: str
    prices: dict[str, Price]
    ec2: tuple[InstanceType, ...]
    sagemaker: tuple[InstanceType, ...]
    onprem_references: tuple[dict[str, str], ...] = ()
    instances_source: str = ""
    instances_date: str = ""
    commitments: tuple[dict[str, Any], ...] = ()  # savings plans: name, term_years, discount, services, source

    def get(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise PriceError(_unknown_key(key, self.prices)) from None

    def regional(self, service: str, item: str, region: str) -> Price:
        """The price of service/item in `region`; a region the table lacks uses the nearest home region as U."""
        key = f"{service}/{item}/{region}"
        if key in self.prices:
            return self.prices[key]
        home = HOME_REGION_EU if region in EU_REGIONS else HOME_REGION_OTHER
        found = self.get(f"{service}/{item}/{home}")
        return replace(
            found,
            confidence="U",
            derivation=f"no {region} price in the table: the {home} price is used"
            + (f" ({found.derivation})" if found.derivation else ""),
        )

    def used(self, keys) -> list[Price]:
        """The table entries behind `keys` (an estimate's price_keys), sorted; profile-field keys are skipped."""
        return [self.prices[k] for k in sorted(set(keys)) if k in self.prices]

    def eur(self, price: Price) -> float:
        """Value of `price` in EUR."""
        return price.value * (self.usd_to_eur if price.currency == "USD" else 1.0)


# ---------------------------------------------------------------------------------------------------------
# Loading


def _yaml_load(text: str) -> Any:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster, keeps `decide` snappy
    return yaml.load(text, Loader=loader)  # noqa: S506 - a safe loader


@lru_cache(maxsize=1)
def _raw_table() -> dict[str, Any]:
    return _yaml_load(TABLE_FILE.read_text(encoding="utf-8"))


InstanceOverrides = tuple[tuple[str, tuple[tuple[str, Any], ...]], ...]  # ("ec2/<type>", spec items), hashable


def load_table(
    overrides: dict[str, float] | None = None,
    usd_to_eur: float | None = None,
    instance_types: dict[str, dict[str, Any]] | None = None,
    region: str = HOME_REGION_EU,
) -> PriceTable:
    """The shipped table with `overrides` (key -> value, in the entry's currency), the profile's instance types
    (added to or replacing catalogue entries; their hourly_usd priced in `region`) and derived prices resolved."""
    types = tuple(sorted((k, tuple(sorted(v.items()))) for k, v in (instance_types or {}).items()))
    return _build(tuple(sorted((overrides or {}).items())), usd_to_eur, types, region)


def price_table(profile: Profile) -> PriceTable:
    """The table as a profile sees it: its costs.prices overrides, costs.instance_types and costs.usd_to_eur."""
    types = {k: v.model_dump() for k, v in profile.costs.instance_types.items()}
    return load_table(dict(profile.costs.prices), profile.costs.usd_to_eur, types, profile.region)


@lru_cache(maxsize=32)
def _build(
    overrides: tuple[tuple[str, float], ...], usd_to_eur: float | None, types: InstanceOverrides = (),
    region: str = HOME_REGION_EU,
) -> PriceTable:
    raw = _raw_table()
    entries = {e["key"]: e for e in raw["prices"]}
    if len(entries) != len(raw["prices"]):
        raise PriceError("costs/prices.yaml: duplicate price keys")
    wanted_types = {k: dict(v) for k, v in types}
    unit = "USD/hour"
    for key, spec in wanted_types.items():  # a profile's instance type: its price is a known key from here on
        if spec.get("hourly_usd") is not None:
            entries.setdefault(f"{key}/{region}", {"key": f"{key}/{region}", "unit": unit, "region": region,
                                                  "date": "profile", "value": spec["hourly_usd"],
                                                  "source": "profile costs.instance_types", "confidence": "A"})
    wanted = dict(overrides)
    for key in wanted:
        if key not in entries and not _known_item(key, entries):
            raise PriceError(f"costs.prices: {_unknown_key(key, entries)}")

    resolved: dict[str, Price] = {}

    def resolve(key: str, trail: tuple[str, ...] = ()) -> Price:
        if key in resolved:
            return resolved[key]
        if key in trail:
            raise PriceError(f"costs/prices.yaml: derivation cycle through {key}")
        entry = entries[key]
        common = dict(
            key=key,
            unit=str(entry["unit"]),
            region=str(entry["region"]),
            date=str(entry["date"]),
            currency=str(entry.get("currency", "USD")),
        )
        if key in wanted:
            price = Price(value=float(wanted[key]), source="profile costs.prices", confidence="A", overridden=True, **common)
        elif "derive" in entry:
            price = _derive(entry, common, lambda k: resolve(k, (*trail, key)))
        else:
            price = Price(value=float(entry["value"]), source=str(entry["source"]), confidence=str(entry["confidence"]), **common)
        resolved[key] = price
        return price

    for key in entries:
        resolve(key)
    for key, value in wanted.items():  # a new regional price for a known service/item
        if key not in resolved:
            template = next(e for k, e in entries.items() if k.rsplit("/", 1)[0] == key.rsplit("/", 1)[0])
            resolved[key] = Price(
                key=key, value=float(value), unit=str(template["unit"]), region=key.rsplit("/", 1)[1],
                source="profile costs.prices", date="profile", confidence="A", overridden=True,
                currency=str(template.get("currency", "USD")),
            )

    for key, spec in wanted_types.items():
        if spec.get("hourly_usd") is not None:
            price_key = f"{key}/{region}"
            resolved[price_key] = replace(resolved[price_key], value=float(spec["hourly_usd"]),
                                          source="profile costs.instance_types", confidence="A", overridden=True)
        elif not any(k.rsplit("/", 1)[0] == key for k in resolved):
            raise PriceError(
                f"costs.instance_types.{key}: the price table has no price for it; set hourly_usd (USD per hour in "
                f"{region})"
            )
    fx = raw["usd_to_eur"]
    instances = raw["instances"]
    source = raw.get("instances_source", {})
    return PriceTable(
        version=str(raw["version"]),
        date=str(raw["date"]),
        hours_per_month=float(raw["hours_per_month"]),
        usd_to_eur=float(usd_to_eur if usd_to_eur is not None else fx["value"]),
        usd_to_eur_date="profile" if usd_to_eur is not None else str(fx["date"]),
        usd_to_eur_source="profile costs.usd_to_eur" if usd_to_eur is not None else str(fx["source"]),
        prices=dict(sorted(resolved.items())),
        ec2=_catalogue(instances["ec2"], "ec2", wanted_types, str(source.get("source", ""))),
        sagemaker=_catalogue(instances["sagemaker"], "sagemaker", wanted_types, str(source.get("source", ""))),
        onprem_references=tuple({k: str(v) for k, v in r.items()} for r in raw.get("onprem_references", ())),
        instances_source=str(source.get("source", "")),
        instances_date=str(source.get("date", "")),
        commitments=tuple(dict(c) for c in raw.get("commitments", ())),
    )


def _catalogue(shipped: dict, service: str, wanted: dict[str, dict], source: str) -> tuple[InstanceType, ...]:
    """The shipped instance types of `service`, with the profile's types replacing or joining them."""
    found = {n: _instance(n, s, source) for n, s in shipped.items()}
    for key, spec in wanted.items():
        kind, name = key.split("/", 1)
        if kind == service:
            found[name] = _instance(name, spec, "profile costs.instance_types")
    return tuple(found.values())


def _derive(entry: dict, common: dict, resolve) -> Price:
    spec = entry["derive"]
    base = resolve(spec["base"])
    value, inputs = base.value, [base.key]
    formula = f"{base.key} {_fmt(base.value)}"
    if "ratio" in spec:
        num, den = (resolve(k) for k in spec["ratio"])
        ratio = num.value / den.value
        value *= ratio
        inputs += [num.key, den.key]
        formula += f" x ({num.key} / {den.key} = {ratio:.4f})"
    if "multiplier" in spec:
        value *= float(spec["multiplier"])
        formula += f" x {spec['multiplier']}"
    return Price(
        value=round(value, 8),
        source=str(entry["source"]),
        confidence="U",
        derivation=f"estimated: {formula}",
        inputs=tuple(inputs),
        **common,
    )


def _instance(name: str, spec: dict, source: str = "") -> InstanceType:
    return InstanceType(
        name=name,
        vcpu=float(spec["vcpu"]),
        memory_gib=float(spec["memory_gib"]),
        gpus=int(spec.get("gpus") or 0),
        gpu=(spec.get("gpu") or None) and str(spec["gpu"]).lower(),
        burstable=bool(spec.get("burstable", False)),
        gpu_memory_gib=float(spec.get("gpu_memory_gib") or 0),
        source=source,
    )


def _known_item(key: str, entries: dict) -> bool:
    parts = key.split("/")
    return len(parts) == 3 and all(parts) and any(k.rsplit("/", 1)[0] == key.rsplit("/", 1)[0] for k in entries)


def _unknown_key(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.75)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return (
        f"unknown price key '{key}'{hint} (keys are <service>/<item>/<region> as listed by `mlinfra prices`; "
        "a new region is accepted for a known service/item)"
    )


def _fmt(value: float) -> str:
    return f"{value:g}"
