"""The series estimate (monitoring/series.py) against a real scrape: N MLServer instances on loopback, each
exercised like a served model, scraped by a real Prometheus; its count of the job's series next to the estimate.

    python bench/series.py [--servers 3] [--tolerance 0.25]

Each server serves one scikit-learn model (bench/_mlserver.py: .tools/mlserver, free ports). Prometheus (on PATH)
scrapes them every second; after a few scrapes the script asks it for `count({job="mlserver"})` - every series
the servers exported plus the 5 Prometheus adds per target (up, scrape_*) - and compares that with N x the
estimate's MLServer figure. The estimate also holds one 5xx status per server (MLSERVER_SERIES_PER_STATUS) the
exercise does not provoke, so it reads that much above the measurement by design; the report shows both, and the
script exits 1 when they differ by more than --tolerance. (Pods' and nodes' Kubernetes series are estimates:
no loopback run can count them.)
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _mlserver import count_series, free_port, start_servers  # noqa: E402

from mlinfra.monitoring.series import (  # noqa: E402
    MLSERVER_SERIES_PER_STATUS,
    RUNTIME_SERIES,
    SCRAPE_SERIES_PER_TARGET,
)

REPO = Path(__file__).resolve().parents[1]


def _query(url: str, expr: str) -> float | None:
    with urllib.request.urlopen(f"{url}/api/v1/query?query={urllib.parse.quote(expr)}", timeout=10) as response:
        result = json.loads(response.read())["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def measure(n: int, workdir: Path) -> dict[str, float]:
    names = [f"bench-model-{i}" for i in range(n)]
    servers = start_servers(REPO / ".tools" / "mlserver", workdir, names)
    prometheus = None
    try:
        for server in servers:
            server.exercise()
        exported = sum(count_series(server.scrape()) for server in servers)
        port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [{"job_name": "mlserver", "static_configs": [
                {"targets": [f"127.0.0.1:{s.metrics_port}" for s in servers]}]}],
        }
        (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
        binary = shutil.which("prometheus")
        if binary is None:
            raise FileNotFoundError("prometheus is not on PATH: `make system` installs Debian's prometheus package")
        log = (workdir / "prometheus.log").open("w")
        prometheus = subprocess.Popen(
            [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        scraped = None
        while time.monotonic() < deadline:
            time.sleep(1)
            try:
                up = _query(url, 'count(up{job="mlserver"} == 1)')
                if up == n and (count := _query(url, 'count({job="mlserver"})')) is not None:
                    if count == scraped:  # stable over two scrapes
                        break
                    scraped = count
            except OSError:
                continue
        if scraped is None:
            raise RuntimeError(f"Prometheus never scraped all {n} servers: {(workdir / 'prometheus.log').read_text()[-2000:]}")
    finally:
        if prometheus is not None:
            prometheus.terminate()
            prometheus.wait(timeout=20)
        for server in servers:
            server.stop()
    estimate = n * RUNTIME_SERIES["mlserver"].series
    return {
        "servers": n,
        "exported_by_servers": exported,
        "scraped_by_prometheus": scraped,
        "estimate": estimate,
        "estimate_without_5xx": estimate - n * MLSERVER_SERIES_PER_STATUS,
        "scrape_series_added": n * SCRAPE_SERIES_PER_TARGET,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", type=int, default=3)
    parser.add_argument("--tolerance", type=float, default=0.25,
                        help="largest relative difference between estimate and real scrape (default 0.25)")
    args, _ = parser.parse_known_args()  # bench/run.py hands every script the same arguments
    with tempfile.TemporaryDirectory(prefix="mlinfra-series-") as tmp:
        r = measure(args.servers, Path(tmp))
    diff = (r["estimate"] - r["scraped_by_prometheus"]) / r["scraped_by_prometheus"]
    like = (r["estimate_without_5xx"] - r["scraped_by_prometheus"]) / r["scraped_by_prometheus"]
    print(f"{r['servers']} MLServer instances on loopback, exercised and scraped by a real Prometheus:")
    print(f"  exported by the servers (sample lines) {r['exported_by_servers']:>7.0f}")
    print(f"  scraped by Prometheus (job series)     {r['scraped_by_prometheus']:>7.0f}  "
          f"(+{r['scrape_series_added']} up/scrape_* it adds per target)")
    print(f"  estimate (monitoring/series.py)        {r['estimate']:>7.0f}  {diff:+.1%}")
    print(f"  estimate without the 5xx status        {r['estimate_without_5xx']:>7.0f}  {like:+.1%}")
    return 0 if abs(diff) <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
