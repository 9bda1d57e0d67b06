"""`decide --plot FILE`: monthly cost against traffic for every priced option, break-even points marked, today's
traffic drawn as a line. matplotlib is optional (`pip install 'mlinfra[plot]'`) and imported only here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.decision.decide import Decision

FORMATS = (".svg", ".png")


class PlotError(ValueError):
    """The picture cannot be drawn as asked (file type, missing matplotlib, nothing to draw)."""


def plot_costs(decision: Decision, path: str) -> Path:
    """Draw the decision's cost curves into `path` (.svg or .png); raises PlotError."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise PlotError(f"--plot: '{path}' ends in '{out.suffix or '(no suffix)'}'; use a file ending in .svg or .png")
    if not decision.cost_curves:
        raise PlotError("--plot: no two feasible options with a cost to compare, so there is no curve to draw")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotError(
            "--plot needs matplotlib, which is not installed; install it with `pip install 'mlinfra[plot]'`"
        ) from None

    matplotlib.rcParams["svg.hashsalt"] = "mlinfra"  # the same drawing gives the same file
    fig, ax = plt.subplots(figsize=(8, 5))
    for curve in decision.cost_curves:
        xs, ys = zip(*curve.points)
        ax.plot(xs, ys, marker="o", markersize=3, label=curve.target + (" (chosen)" if curve.target == decision.target else ""))
    for b in decision.break_even:
        ax.scatter([b.average_rps], [b.monthly_eur], s=60, color="black", zorder=5)
        ax.annotate(f"{b.cheaper_above} cheaper\nabove ~{b.average_rps:.3g} req/s", (b.average_rps, b.monthly_eur),
                    textcoords="offset points", xytext=(6, 8), fontsize=8)
    today = decision.average_rps
    if today:
        ax.axvline(today, color="grey", linestyle="--", linewidth=1)
        ax.annotate("today", (today, ax.get_ylim()[1]), textcoords="offset points", xytext=(4, -12), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("average requests/s over all models (the profile's traffic scaled)")
    ax.set_ylabel(f"EUR a month, {decision.cost_scope}" if not decision.env else "EUR a month, all environments")
    ax.set_title(f"{decision.profile}: monthly cost against traffic")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
    plt.close(fig)
    return out
