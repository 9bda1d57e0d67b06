"""Start the three real servers of the e2e test on 127.0.0.1: MLServer, Prometheus and Alertmanager."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

from .processes import ManagedProcess, free_port

MODEL_DIR = Path(__file__).resolve().parents[1] / "model"  # train.py and faulty_runtime.py


class FaultSwitch:
    """Writes the fault file the MLServer runtime reads on every request (atomically, so no torn reads)."""

    def __init__(self, path: Path):
        self.path = path
        self.set()

    def set(self, *, latency_s: float = 0.0, error_every: int = 0) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"latency_s": latency_s, "error_every": error_every}))
        os.replace(tmp, self.path)


class ModelServer:
    """MLServer serving a scikit-learn model trained now, with the fault-injecting runtime, on free ports."""

    def __init__(self, mlserver_venv: Path, workdir: Path, model_name: str):
        repo = workdir / "mlserver"
        model_dir = repo / model_name
        model_dir.mkdir(parents=True)
        subprocess.run(  # noqa: S603 - train with the serving venv so the pickle matches its scikit-learn
            [str(mlserver_venv / "bin" / "python"), str(MODEL_DIR / "train.py"), str(model_dir)],
            check=True, capture_output=True, timeout=120,
        )
        shutil.copy(MODEL_DIR / "faulty_runtime.py", model_dir / "faulty_runtime.py")
        self.fault = FaultSwitch(workdir / "fault.json")
        self.http_port, self.grpc_port, self.metrics_port = free_port(), free_port(), free_port()
        settings = {
            "parallel_workers": 0,  # one process: the runtime class and its fault switch live in the server
            "host": "127.0.0.1",
            "http_port": self.http_port,
            "grpc_port": self.grpc_port,
            "metrics_port": self.metrics_port,
            "metrics_dir": str(workdir / "mlserver-metrics"),
        }
        model_settings = {
            "name": model_name,
            "implementation": "faulty_runtime.FaultInjectingSKLearnModel",
            "parameters": {"uri": "./model.joblib", "extra": {"fault_file": str(self.fault.path)}},
        }
        (repo / "settings.json").write_text(json.dumps(settings, indent=2))
        (model_dir / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")}
        self._start = lambda log: ManagedProcess(
            "mlserver", [str(mlserver_venv / "bin" / "mlserver"), "start", str(repo)], log, cwd=repo, env=env
        )
        self._workdir = workdir
        self.process = self._start(workdir / "mlserver.log")
        self.model_url = f"http://127.0.0.1:{self.http_port}/v2/models/{model_name}"
        self.infer_url = f"{self.model_url}/infer"

    def wait_ready(self, timeout: float = 90) -> None:
        self.process.wait_ready(f"{self.model_url}/ready", timeout)

    def kill(self) -> None:
        """A total outage: the server dies at once (SIGKILL to its process group, no graceful shutdown)."""
        self.process.kill()

    def restart(self) -> None:
        """Start the server again on the same ports (after kill)."""
        self.process = self._start(self._workdir / "mlserver-restarted.log")


class Prometheus:
    def __init__(self, binary: str, workdir: Path, *, scrape_interval_s: float, metrics_path: str,
                 targets: list[dict], rule_files: list[Path], alertmanager_port: int,
                 scrape_configs: list[dict] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.rule_files = [str(path) for path in rule_files]
        self._config = {
            "global": {
                "scrape_interval": f"{scrape_interval_s:g}s",
                "scrape_timeout": f"{scrape_interval_s:g}s",
                "evaluation_interval": f"{scrape_interval_s:g}s",  # rule groups set their own interval
            },
            "rule_files": [],  # load_rules() adds them once the targets have samples (see there)
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]},
            # more jobs (the drift monitor's) after the model server's
            "scrape_configs": [{"job_name": "mlserver", "metrics_path": metrics_path, "static_configs": targets},
                               *(scrape_configs or [])],
        }
        self.config_path = workdir / "prometheus.yml"
        self.config_path.write_text(yaml.safe_dump(self._config, sort_keys=True))
        self.process = ManagedProcess(
            "prometheus",
            [
                binary,
                f"--config.file={self.config_path}",
                f"--storage.tsdb.path={workdir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--rules.alert.resend-delay=1s",  # default 1m would hide resolutions and re-fires from the test
                "--storage.tsdb.retention.time=1d",
                "--web.enable-lifecycle",  # POST /-/reload: load_rules()
            ],
            workdir / "prometheus.log",
        )

    def wait_ready(self, timeout: float = 60) -> None:
        self.process.wait_ready(f"{self.url}/-/ready", timeout)

    def load_rules(self, timeout: float = 30) -> None:
        """Load the rule files into the running Prometheus. The fixture calls it once every target has two
        samples: a Prometheus that starts with rules evaluates them before its first scrape, so absence alerts
        hold from its first second - longer than a `for:` divided by 60 (a restarted production Prometheus
        has its first samples well within the `for:` of MLModelDown)."""
        self._config["rule_files"] = self.rule_files
        self.config_path.write_text(yaml.safe_dump(self._config, sort_keys=True))
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - 127.0.0.1 only
        url = f"{self.url}/api/v1/rules"
        deadline = time.monotonic() + timeout
        while True:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
                groups = json.loads(response.read())["data"]["groups"]
            if {g["file"] for g in groups} >= set(self.rule_files):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not load {self.rule_files}: {[g['file'] for g in groups]}")
            time.sleep(0.2)

    def query(self, expr: str) -> list[dict]:
        """Instant query; the result vector (for diagnostics in assertion messages)."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - 127.0.0.1 only
            return json.loads(response.read())["data"]["result"]

    def describe(self, expr: str) -> str:
        try:
            return "; ".join(f"{r['metric']} = {r['value'][1]}" for r in self.query(expr)) or "(empty)"
        except OSError as err:
            return f"(query failed: {err})"


def credential_files(config: object) -> list[str]:
    """Every `*_file` value in an Alertmanager config (receivers and global)."""
    if isinstance(config, dict):
        found = [v for k, v in config.items() if k.endswith("_file") and isinstance(v, str)]
        return found + [f for k, v in config.items() if not k.endswith("_file") for f in credential_files(v)]
    if isinstance(config, list):
        return [f for item in config for f in credential_files(item)]
    return []


class Alertmanager:
    def __init__(self, binary: str, workdir: Path, config_path: Path, *, features: tuple[str, ...] = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = ManagedProcess(
            "alertmanager",
            [
                binary,
                f"--config.file={config_path}",
                f"--storage.path={workdir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--cluster.listen-address=",  # no HA gossip: a single instance on 127.0.0.1 only
                *([f"--enable-feature={','.join(features)}"] if features else []),
            ],
            workdir / "alertmanager.log",
        )

    def wait_ready(self, timeout: float = 60) -> None:
        self.process.wait_ready(f"{self.url}/-/ready", timeout)
