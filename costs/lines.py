"""Cost lines priced from the price table: each names the keys it used and flags unconfirmed prices."""

from __future__ import annotations

from mlinfra.costs.model import CostLine
from mlinfra.costs.prices import Price


def keys_of(price: Price) -> tuple[str, ...]:
    """The key of a price plus the keys a derived price was computed from."""
    return (price.key, *price.inputs)


def unconfirmed_note(*prices: Price) -> str:
    unconfirmed = [p for p in prices if not p.exact]
    if not unconfirmed:
        return ""
    return "; ".join(f"≈ {p.key}: {p.derivation or 'unconfirmed price (U)'}" for p in unconfirmed)


def priced_line(item: str, eur: float, prices: tuple[Price, ...], extra_keys: tuple[str, ...] = (), note: str = "") -> CostLine:
    """A line whose figure comes from `prices` (their keys recorded, unconfirmed ones noted)."""
    keys = tuple(dict.fromkeys(k for p in prices for k in keys_of(p))) + extra_keys
    text = "; ".join(n for n in (note, unconfirmed_note(*prices)) if n)
    return CostLine(item=item, monthly_eur=round(eur, 2), price_keys=keys, note=text)
