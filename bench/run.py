"""Run every benchmark in bench/ (each a script timing whole `mlinfra` processes: decide, preview, render,
calibrate; series.py checks the monitoring series estimate against real servers); used by `make bench`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    status = 0
    for script in sorted(p for p in HERE.glob("*.py") if p.name != "run.py" and not p.name.startswith("_")):
        status |= subprocess.run([sys.executable, str(script), *sys.argv[1:]], check=False).returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
