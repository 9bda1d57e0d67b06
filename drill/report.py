"""What a fire drill found: one row per route, receiver and integration (or SNS subscription)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DELIVERED = "delivered"
FAILED = "failed"
NOT_REACHED = "not reached"
PLANNED = "planned"  # without --send: nothing was sent
RESULTS = (DELIVERED, FAILED, NOT_REACHED)


@dataclass(frozen=True)
class Row:
    route: str
    receiver: str
    integration: str
    result: str
    detail: str = ""
    labels: dict[str, str] = field(default_factory=dict, hash=False)  # the drill alert's labels (Alertmanager)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"route": self.route, "receiver": self.receiver, "integration": self.integration,
                               "result": self.result, "detail": self.detail}
        if self.labels:
            out["labels"] = dict(self.labels)
        return out


@dataclass(frozen=True)
class DrillReport:
    profile: str
    environment: str
    target: str
    mechanism: str  # "alertmanager" or "sns"
    sent: bool
    rows: tuple[Row, ...]
    skipped: tuple[dict[str, str], ...] = ()  # routes nobody is told about, or no alert can take
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Every route delivered (a plan is never a failure)."""
        return not self.sent or (bool(self.rows) and all(r.result == DELIVERED for r in self.rows))

    def to_dict(self) -> dict[str, Any]:
        counts = {result: sum(r.result == result for r in self.rows) for result in (*RESULTS, PLANNED)}
        return {
            "profile": self.profile,
            "environment": self.environment,
            "target": self.target,
            "mechanism": self.mechanism,
            "sent": self.sent,
            "ok": self.ok,
            "summary": {k: v for k, v in counts.items() if v or k in RESULTS},
            "routes": [r.to_dict() for r in self.rows],
            "skipped": list(self.skipped),
            "notes": list(self.notes),
        }
