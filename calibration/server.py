"""Start the model's runtime on this host, limited to the replica's cores, on 127.0.0.1 ports the OS picks.

MLServer is configured as the deployed container is (runtimes/catalog.py: the same MLSERVER_* environment, the
model loaded from the environment unless the artifact brings its own model-settings.json), with two deviations a
host needs: the ports are free ones on 127.0.0.1, and parallel_workers is 0 (inference in the server process;
the host's uvloop cannot start MLServer's worker processes). The process runs in its own session, pinned to
`cores` CPUs (sched_setaffinity), and is stopped by its pid.
"""

from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlinfra.runtimes.catalog import MLSERVER, MODEL_DIR, RUNTIMES, runtime_for

MLSERVER_INSTALL = "pip install 'mlserver==1.7.*' mlserver-sklearn (or mlserver-xgboost, mlserver-lightgbm)"
# What calibrate would need for the runtimes it cannot start here, and how to get a figure anyway
ELSEWHERE = {
    "triton": "NVIDIA Triton (tritonserver), which ships as the container image {image} and needs an NVIDIA host",
    "vllm": "vLLM, which needs a GPU host ({image})",
    "tgi": "text-generation-inference, which ships as the container image {image} and needs a GPU host",
    "custom": "the model's own image ({image}), whose server mlinfra does not know how to start",
}


_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception)(: |$)")


# argv: CPUS (comma-separated) COMMAND ARGS...: pin this process to CPUS, then become COMMAND (no preexec_fn, which
# is unsafe while threads run - rich's status line is one)
PINNED_EXEC = "import os, sys; os.sched_setaffinity(0, {int(c) for c in sys.argv[1].split(',')}); " \
              "os.execv(sys.argv[2], sys.argv[2:])"


class CalibrationError(Exception):
    """Calibration cannot run as asked; the message names the option or field, what was found and the fix."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_model() -> str:
    """The CPU model as /proc/cpuinfo names it (Linux), else what the platform says."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip() or "unknown"
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def pick_cores(cores: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(the runtime's CPUs, the load generator's): the last `cores` of this process's CPUs for the runtime, the rest
    for the generator (empty when none is left: both share)."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    if cores > len(available):
        raise CalibrationError(
            f"--cores {cores}: this host lets mlinfra use {len(available)} CPU{'s' if len(available) != 1 else ''}; "
            f"pass --cores {len(available)} or less (sizing scales the figure to resources.cpu and says so)"
        )
    return tuple(available[-cores:]), tuple(available[:-cores])


def check_runtime(framework: str, mlserver: str | None) -> str:
    """The runtime server's executable for `framework`; CalibrationError naming what is needed when it cannot run
    here."""
    key = runtime_for(framework)
    if key != MLSERVER.key:
        runtime = RUNTIMES[key]
        need = ELSEWHERE.get(key, "{image}").format(image=runtime.image or "models[].image")
        raise CalibrationError(
            f"framework '{framework}' is served by {runtime.title}; calibrate starts runtimes on this host and this "
            f"one needs {need}. Measure it with a load test where it runs and record the result in "
            "models[].capacity by hand (rps_per_replica, concurrency, p95_ms, measured_on, cpu, cores, runtime)"
        )
    found = mlserver or shutil.which("mlserver")
    if not found:
        raise CalibrationError(
            f"framework '{framework}' is served by MLServer, and `mlserver` is not on PATH; install it ({MLSERVER_INSTALL}) "
            "or pass --mlserver PATH"
        )
    path = Path(found)
    if not path.is_file() or not os.access(path, os.X_OK):
        raise CalibrationError(f"--mlserver '{found}' is not an executable file; pass the path of MLServer's `mlserver`")
    return os.path.abspath(path)


def runtime_version(executable: str) -> str:
    """'mlserver 1.7.1' from `mlserver --version` ('mlserver' when it does not say)."""
    try:
        out = subprocess.run(  # noqa: S603 - the executable the user named or PATH found
            [executable, "--version"], capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return MLSERVER.key
    match = re.search(r"version\s+([0-9][A-Za-z0-9.+_-]*)", out)
    return f"{MLSERVER.key} {match.group(1)}" if match else MLSERVER.key


def http_get(url: str, timeout: float = 2.0) -> tuple[int | None, bytes]:
    """(status, body) of a GET; status None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except (urllib.error.URLError, OSError):
        return None, b""


@dataclass
class ModelServer:
    """A running MLServer serving one model; use as a context manager (stops it by pid, removes its files)."""

    process: subprocess.Popen
    workdir: Path
    model_name: str
    http_port: int
    log_path: Path

    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def model_path(self) -> str:
        return f"/v2/models/{self.model_name}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def last_error(self) -> str:
        """The last exception line of the log (`SomeError: ...`), '' when there is none."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return next((line.strip() for line in reversed(lines) if _EXCEPTION.match(line)), "")[:300]

    def wait_ready(self, timeout: float) -> None:
        """Poll the model's V2 ready endpoint; CalibrationError with the log's tail if the server dies or is late."""
        url = f"http://{self.host}:{self.http_port}{self.model_path}/ready"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.last_error()
                raise CalibrationError(
                    f"MLServer exited (code {self.process.returncode}) before model '{self.model_name}' was ready"
                    + (f": {error}" if error else "") + f" (check --artifact); its log ends:\n{self.log_tail(12)}"
                )
            if http_get(url)[0] == 200:
                return
            time.sleep(0.2)
        raise CalibrationError(
            f"model '{self.model_name}' was not ready after {timeout:.0f} s; MLServer's log ends:\n{self.log_tail()}"
        )

    def cpu_seconds(self) -> float | None:
        """CPU time (user + system) the runtime's processes have used so far, from /proc (None where there is none):
        every process of its session, which it leads."""
        return session_cpu_seconds(self.process.pid)

    def metadata(self) -> dict[str, Any]:
        """The model's V2 metadata (name, inputs, outputs); {} when it gives none."""
        status, body = http_get(f"http://{self.host}:{self.http_port}{self.model_path}")
        try:
            data = json.loads(body) if status == 200 else {}
        except ValueError:
            data = {}
        return data if isinstance(data, dict) else {}

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the server's process group (its own session), SIGKILL after `grace` seconds."""
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    os.killpg(self.process.pid, signal.SIGKILL)
                    self.process.wait(timeout=grace)
        except ProcessLookupError:
            pass

    def __enter__(self) -> ModelServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def session_cpu_seconds(session: int) -> float | None:
    """CPU seconds of every process in `session` (its own and its reaped children's); None without /proc."""
    proc = Path("/proc")
    if not (proc / str(session) / "stat").exists():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        # after "pid (comm)": state ppid pgrp session ... utime stime cutime cstime (14th to 17th field of the line;
        # cutime and cstime hold the children it reaped, whose own lines are gone)
        if len(fields) > 14 and fields[3] == str(session):
            total += sum(int(f) for f in fields[11:15])
    return total / ticks


def artifact_model_name(artifact: Path) -> str | None:
    """The model name in the artifact's own model-settings.json, None when it has none."""
    settings = artifact / "model-settings.json"
    if not settings.is_file():
        return None
    try:
        data = json.loads(settings.read_text())
    except (OSError, ValueError) as exc:
        raise CalibrationError(f"--artifact: {settings} is not valid JSON ({exc})") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name:
        raise CalibrationError(f"--artifact: {settings} has no \"name\"; MLServer needs it to serve the model")
    return name


def start_mlserver(executable: str, artifact: Path, model_name: str, framework: str, cpus: tuple[int, ...]) -> ModelServer:
    """Start MLServer for the model in `artifact` (a directory), pinned to `cpus`; not yet ready."""
    own_name = artifact_model_name(artifact)
    workdir = Path(tempfile.mkdtemp(prefix="mlinfra-calibrate-"))
    repo = workdir / "repository"
    repo.mkdir()
    if own_name:  # the artifact configures itself, as in the deployed container
        (repo / own_name).symlink_to(artifact.resolve(), target_is_directory=True)
    http_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLSERVER")}
    for item in MLSERVER.container_env(model_name, framework):  # the deployed container's settings ...
        env[item["name"]] = item["value"].replace(MODEL_DIR, str(artifact.resolve()))
    env.update({  # ... on this host
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(free_port()),
        "MLSERVER_METRICS_PORT": str(free_port()),
        "MLSERVER_PARALLEL_WORKERS": "0",
        "MLSERVER_METRICS_DIR": str(workdir / "metrics"),
        "MLSERVER_ENVIRONMENTS_DIR": str(workdir / "envs"),
    })
    log_path = workdir / "mlserver.log"
    argv = [executable, "start", str(repo)]
    if cpus and hasattr(os, "sched_setaffinity"):  # pinned before exec: every thread and process it starts inherits
        argv = [sys.executable, "-c", PINNED_EXEC, ",".join(map(str, cpus)), *argv]
    try:
        with open(log_path, "wb") as log:
            process = subprocess.Popen(  # noqa: S603 - the runtime executable check_runtime resolved
                argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise CalibrationError(f"--mlserver: cannot start {executable} ({exc})") from None
    return ModelServer(process=process, workdir=workdir, model_name=own_name or model_name, http_port=http_port,
                       log_path=log_path)


def payload_from_metadata(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """A V2 request with one row of zeros (strings 'a' for BYTES) for every input the model declares; None when it
    declares none."""
    inputs = metadata.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        return None
    request = []
    for item in inputs:
        if not isinstance(item, dict) or not {"name", "datatype", "shape"} <= item.keys():
            return None
        shape = [1 if (not isinstance(d, int) or d < 1) else d for d in item["shape"]] or [1]
        count = math.prod(shape)
        value: Any = "a" if item["datatype"] == "BYTES" else (False if item["datatype"] == "BOOL" else 0)
        request.append({"name": item["name"], "datatype": item["datatype"], "shape": shape, "data": [value] * count})
    return {"inputs": request}

