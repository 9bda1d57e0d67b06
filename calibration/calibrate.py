"""`mlinfra calibrate`: measure what one replica of a model sustains within its latency SLO, on this host.

The model's runtime is started locally on the replica's cores, a closed-loop load test of rising concurrency runs
against it on loopback (calibration.load), and the highest throughput with p95 within the SLO and no errors is the
model's capacity - the figure models[].capacity records and sizing uses.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlinfra.calibration.load import CLIENT_SATURATED, Curve, Step, load_test
from mlinfra.calibration.server import (
    CalibrationError,
    check_runtime,
    cpu_model,
    payload_from_metadata,
    pick_cores,
    runtime_version,
    start_mlserver,
)
from mlinfra.planning.sizing import TARGET_UTILISATION, capacity_rps
from mlinfra.profiles.model import Model, Profile
from mlinfra.runtimes.catalog import MLSERVER

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024
RUNTIME_STARVED = 0.8  # a runtime using less of its cores at the capacity step is noted


@dataclass(frozen=True)
class Calibration:
    """The outcome: the curve, the capacity it gives, and where it was measured."""

    profile: str
    model: str
    runtime: str
    cpu: str
    cores: int
    generator_cpus: int  # CPUs left to the load generator (0: it shared the runtime's)
    curve: Curve
    measured_on: dt.date
    seconds: float  # the whole calibration, server start included
    startup_seconds: float  # of which the runtime took to start and load the model
    load_average: tuple[float, float, float]
    payload: str  # where the request body came from
    default_rps_per_replica: float  # what sizing assumed without a measurement (framework default)
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def capacity(self) -> dict[str, Any] | None:
        """The models[].capacity entry this measurement gives (None when no step met the SLO)."""
        best = self.curve.best
        if best is None:
            return None
        return {
            "rps_per_replica": best.rps,
            "concurrency": best.concurrency,
            "p95_ms": best.p95_ms,
            "measured_on": self.measured_on,
            "cpu": self.cpu,
            "cores": self.cores,
            "runtime": self.runtime,
        }

    def to_dict(self) -> dict[str, Any]:
        cap = self.capacity
        return {
            "profile": self.profile,
            "model": self.model,
            "runtime": self.runtime,
            "cpu": self.cpu,
            "cores": self.cores,
            "generator_cpus": self.generator_cpus,
            "payload": self.payload,
            "measured_on": self.measured_on.isoformat(),
            "seconds": round(self.seconds, 1),
            "startup_seconds": round(self.startup_seconds, 1),
            "load_average": list(self.load_average),
            "capacity": {**cap, "measured_on": self.measured_on.isoformat()} if cap else None,
            "sized_rps_per_replica": round(cap["rps_per_replica"] * TARGET_UTILISATION, 4) if cap else None,
            "default_rps_per_replica": self.default_rps_per_replica,
            "curve": self.curve.to_dict(),
            "notes": list(self.notes),
        }


def find_model(profile: Profile, name: str) -> Model:
    for model in profile.models:
        if model.name == name:
            return model
    names = ", ".join(m.name for m in profile.models)
    raise CalibrationError(f"--model '{name}' is not in the profile; its models: {names}")


def read_payload(path: str) -> tuple[bytes, dict[str, Any]]:
    """A V2 inference request body from `path`: a JSON object with an `inputs` list."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_PAYLOAD_BYTES:
            raise CalibrationError(f"--payload '{path}' is larger than {MAX_PAYLOAD_BYTES // 1024 // 1024} MiB")
        raw = p.read_bytes()
        data = json.loads(raw)
    except FileNotFoundError:
        raise CalibrationError(f"--payload '{path}': file not found") from None
    except OSError as exc:
        raise CalibrationError(f"--payload '{path}': cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise CalibrationError(f"--payload '{path}' is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), list) or not data["inputs"]:
        raise CalibrationError(
            f"--payload '{path}' is not a V2 inference request: expected a JSON object with a non-empty \"inputs\" "
            'list, e.g. {"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": [0, 0, 0, 0]}]}'
        )
    return raw, data


def default_cores(model: Model, available: int) -> int:
    """The replica's cores, rounded up (a fraction of a core is measured on a whole one and scaled), at most what
    this host gives."""
    return max(1, min(math.ceil(model.resources.cpu), available))


def _post(host: str, port: int, path: str, body: bytes, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def calibrate(
    profile: Profile,
    model_name: str,
    *,
    artifact: str | None,
    payload: str | None = None,
    max_concurrency: int = 32,
    step_seconds: float = 5.0,
    cores: int | None = None,
    mlserver: str | None = None,
    on_event: Callable[[str, int | None, Step | None], None] | None = None,
) -> Calibration:
    """Measure `model_name`'s capacity on this host; raises CalibrationError naming what is missing or wrong.

    `on_event(what, concurrency, step)`: 'starting' (server), 'ready', then 'step' per start/end of a load step.
    """
    started = time.monotonic()
    model = find_model(profile, model_name)
    if model.resources.gpus > 0:
        raise CalibrationError(
            f"model '{model.name}' has resources.gpus {model.resources.gpus}: calibrate measures on this host's CPUs, "
            "which says nothing of a GPU replica; measure it on its GPU host and record models[].capacity by hand"
        )
    executable = check_runtime(model.framework, mlserver)
    if artifact is None:
        raise CalibrationError(
            f"--artifact PATH is needed: models[].artifact of '{model.name}' is {model.artifact}, which calibrate "
            "does not fetch; pass a local directory holding the model as the runtime loads it (e.g. model.joblib)"
        )
    art = Path(artifact)
    if not art.exists():
        raise CalibrationError(f"--artifact '{artifact}': no such file or directory")
    body, payload_source = (None, "")
    if payload:
        body, _ = read_payload(payload)
        payload_source = f"--payload {payload}"
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n_cores = cores or default_cores(model, available)
    server_cpus, generator_cpus = pick_cores(n_cores)
    notes = []
    if model.resources.cpu != n_cores:
        notes.append(f"measured on {n_cores} core{'s' if n_cores != 1 else ''}, the replica requests resources.cpu "
                     f"{model.resources.cpu:g}: sizing scales the figure linearly (an approximation)")
    if not generator_cpus:
        notes.append("the load generator shared the runtime's CPUs (no CPU left for it): the figure is a lower bound")
    runtime = runtime_version(executable)
    event = on_event or (lambda *_: None)

    event("starting", None, None)
    with start_mlserver(executable, art, model.name, model.framework, server_cpus) as server:
        server.wait_ready(MLSERVER.startup_seconds)
        ready = time.monotonic()
        if body is None:
            derived = payload_from_metadata(server.metadata())
            if derived is None:
                raise CalibrationError(
                    f"model '{server.model_name}' declares no inputs (model-settings.json \"inputs\" with name, "
                    "datatype and shape), so no request can be derived; pass --payload FILE with a V2 inference "
                    "request body"
                )
            body, payload_source = json.dumps(derived).encode(), "derived from the model's declared inputs"
        try:
            status, answer = _post(server.host, server.http_port, f"{server.model_path}/infer", body, 60)
        except (OSError, http.client.HTTPException) as exc:
            raise CalibrationError(f"the first request to model '{server.model_name}' failed ({exc}); MLServer's "
                                   f"log ends:\n{server.log_tail(12)}") from None
        if status != 200:
            raise CalibrationError(
                f"the model answered the request from {payload_source} with HTTP {status}: "
                f"{answer[:300].decode(errors='replace')}; fix the request (--payload FILE)"
            )
        event("ready", None, None)
        own = _pin_self(generator_cpus)
        try:
            curve = load_test(
                server.host, server.http_port, f"{server.model_path}/infer", body,
                slo_p95_ms=model.slo.latency_p95_ms, max_concurrency=max_concurrency, step_seconds=step_seconds,
                on_step=lambda n, step: event("step", n, step), server_cpu=server.cpu_seconds,
            )
        finally:
            _pin_self(own)
    best = curve.best
    if best is not None and best.server_cpu is not None and best.server_cpu < RUNTIME_STARVED * n_cores:
        notes.append(f"the runtime used {best.server_cpu:g} of its {n_cores} core{'s' if n_cores != 1 else ''} at the "
                     "capacity step: other processes on this host took the rest, or the runtime cannot use them all; "
                     f"per CPU-second it served {best.requests_per_cpu_second:g} requests")
    saturated = [s.concurrency for s in curve.steps if s.client_cpu >= CLIENT_SATURATED]
    if saturated:
        notes.append(f"the load generator used most of a core at concurrency {', '.join(map(str, saturated))}: "
                     "there it may have been the limit, not the runtime")
    return Calibration(
        profile=profile.name,
        model=model.name,
        runtime=runtime,
        cpu=cpu_model(),
        cores=n_cores,
        generator_cpus=len(generator_cpus),
        curve=curve,
        measured_on=dt.datetime.now(dt.timezone.utc).date(),
        seconds=time.monotonic() - started,
        startup_seconds=ready - started,
        load_average=tuple(round(x, 2) for x in os.getloadavg()) if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0),
        payload=payload_source,
        default_rps_per_replica=capacity_rps(model.model_copy(update={"capacity": None})),
        notes=tuple(notes),
    )


def _pin_self(cpus: tuple[int, ...] | set[int]) -> set[int]:
    """Pin this thread (and the threads it starts) to `cpus` when given; returns the CPUs it had."""
    if not hasattr(os, "sched_getaffinity"):
        return set()
    before = os.sched_getaffinity(0)
    if cpus:
        os.sched_setaffinity(0, cpus)
    return before
