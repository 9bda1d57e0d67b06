"""`calibrate --plot FILE`: the latency curve (p50, p95 against concurrency, the SLO drawn) and the throughput of
each step, the capacity marked. matplotlib is optional (`pip install 'mlinfra[plot]'`) and imported only here."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlinfra.calibration.server import CalibrationError

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.calibration.calibrate import Calibration

FORMATS = (".svg", ".png")


def plot_curve(result: Calibration, path: str) -> Path:
    """Draw the calibration's curve into `path` (.svg or .png); raises CalibrationError."""
    out = Path(path)
    if out.suffix.lower() not in FORMATS:
        raise CalibrationError(f"--plot: '{path}' ends in '{out.suffix or '(no suffix)'}'; use a file ending in .svg or .png")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise CalibrationError(
            "--plot needs matplotlib, which is not installed; install it with `pip install 'mlinfra[plot]'`"
        ) from None

    steps = result.curve.steps
    xs = [s.concurrency for s in steps]
    matplotlib.rcParams["svg.hashsalt"] = "mlinfra"  # the same drawing gives the same file
    fig, latency = plt.subplots(figsize=(8, 5))
    latency.plot(xs, [s.p95_ms for s in steps], marker="o", label="p95 latency")
    latency.plot(xs, [s.p50_ms for s in steps], marker=".", linestyle=":", label="p50 latency")
    latency.axhline(result.curve.slo_p95_ms, color="red", linestyle="--", linewidth=1,
                    label=f"SLO p95 {result.curve.slo_p95_ms:g} ms")
    latency.set_xscale("log", base=2)
    latency.set_xticks(xs, [str(x) for x in xs])
    latency.set_xlabel("requests in flight (closed-loop workers)")
    latency.set_ylabel("latency, ms")
    throughput = latency.twinx()
    throughput.plot(xs, [s.rps for s in steps], marker="s", color="grey", alpha=0.7, label="throughput")
    throughput.set_ylabel("requests/s (successful)")
    throughput.set_ylim(bottom=0)
    best = result.curve.best
    if best is not None:
        throughput.scatter([best.concurrency], [best.rps], s=90, color="black", zorder=5)
        throughput.annotate(f"capacity {best.rps:g} req/s", (best.concurrency, best.rps), textcoords="offset points",
                            xytext=(6, -14), fontsize=8)
    handles = latency.get_legend_handles_labels()[0] + throughput.get_legend_handles_labels()[0]
    latency.legend(handles, [h.get_label() for h in handles], loc="upper left", fontsize=8)
    latency.set_title(f"{result.model}: {result.runtime} on {result.cores} core{'s' if result.cores != 1 else ''} "
                      f"of {result.cpu}")
    latency.grid(True, alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, metadata={"Date": None} if out.suffix.lower() == ".svg" else None)
    plt.close(fig)
    return out
