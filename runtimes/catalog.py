"""The serving runtimes mlinfra deploys: pinned images, real ports and health endpoints, how each loads a model.

Facts, not guesses: MLServer's ports, health paths, metrics port and env-based model loading were checked by
running MLServer 1.7.1 (tests/tools/test_mlserver_runtime.py repeats the check). The other runtimes follow
their documentation: Triton (HTTP 8000, gRPC 8001, metrics 8002, /v2/health/{live,ready}), vLLM's
OpenAI-compatible server (/health and /metrics on its HTTP port 8000), Hugging Face text-generation-inference
(/health and /metrics on its HTTP port, moved from 80 to 8080 so a non-root user may bind it).

Every runtime reads the model from MODEL_DIR (a read-only PVC mount or an emptyDir an init container filled)
and runs as a non-root user under a read-only root filesystem; `writable_dirs` are the emptyDirs it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

MODEL_DIR = "/mnt/models"  # where every runtime finds its model


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """One serving runtime. `args` and `env` values are templates over {model_name} {model_dir} {implementation}."""

    key: str
    title: str
    frameworks: tuple[str, ...]
    image: str | None  # pinned image; None = the model's own image (framework custom)
    http_port: int
    grpc_port: int | None
    metrics_port: int  # equal to http_port when /metrics is served on the HTTP port
    metrics_path: str
    liveness_path: str | None  # None: TCP connect on the HTTP port (nothing better is known)
    readiness_path: str | None
    startup_seconds: int  # how long loading a model may take before the startup probe gives up
    # gauge of the requests queued in the server (LLM runtimes batch continuously: a queue means the batch is
    # full): autoscaling scales these on waiting requests per replica, not requests/s; None: not a queueing runtime
    waiting_metric: str | None = None
    command: tuple[str, ...] = ()  # empty: the image's entrypoint
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    implementations: tuple[tuple[str, str], ...] = ()  # framework -> runtime class (MLServer)
    writable_dirs: tuple[tuple[str, str], ...] = (("tmp", "/tmp"),)  # (volume name, mount path)
    shared_memory: bool = False  # needs a memory-backed /dev/shm (NCCL, Python backends, tokenizer workers)
    run_as_user: int = 65532  # the image's own non-root user where it has one
    # serves the Open Inference (V2) protocol over HTTP (/v2/models/{name}/infer): the drift monitor can sit in front
    v2_http: bool = False
    source: str = ""  # where the facts above come from

    @property
    def metrics_on_http_port(self) -> bool:
        """True when /metrics is served on the HTTP port (no separate metrics container port)."""
        return self.metrics_port == self.http_port

    def implementation(self, framework: str) -> str:
        """MLServer runtime class for `framework` ('' for runtimes that need none)."""
        return dict(self.implementations).get(framework, "")

    def _values(self, model_name: str, framework: str) -> dict[str, str]:
        return {"model_name": model_name, "model_dir": MODEL_DIR, "implementation": self.implementation(framework)}

    def container_command(self, model_name: str, framework: str) -> list[str]:
        values = self._values(model_name, framework)
        return [part.format(**values) for part in self.command]

    def container_args(self, model_name: str, framework: str) -> list[str]:
        values = self._values(model_name, framework)
        return [part.format(**values) for part in self.args]

    def container_env(self, model_name: str, framework: str) -> list[dict[str, str]]:
        """Environment of the serving container, in declaration order (deterministic)."""
        values = self._values(model_name, framework)
        return [{"name": name, "value": value.format(**values)} for name, value in self.env]


MLSERVER = Runtime(
    key="mlserver",
    title="Seldon MLServer",
    frameworks=("sklearn", "xgboost", "lightgbm"),
    # The full image carries the sklearn, xgboost and lightgbm runtimes (one image to pull for all three).
    image="seldonio/mlserver:1.7.1",
    http_port=8080,
    grpc_port=8081,
    metrics_port=8082,  # MLServer serves /metrics on its own port only (404 on the HTTP port, checked)
    metrics_path="/metrics",
    liveness_path="/v2/health/live",
    readiness_path="/v2/health/ready",
    startup_seconds=180,
    command=("mlserver", "start", "{model_dir}"),
    env=(
        ("MLSERVER_HTTP_PORT", "8080"),
        ("MLSERVER_GRPC_PORT", "8081"),
        ("MLSERVER_METRICS_PORT", "8082"),
        ("MLSERVER_DEBUG", "false"),
        # One model per server, configured from the environment when the artifact has no model-settings.json.
        ("MLSERVER_MODEL_NAME", "{model_name}"),
        ("MLSERVER_MODEL_IMPLEMENTATION", "{implementation}"),
        ("MLSERVER_MODEL_URI", "{model_dir}"),  # a directory: the runtime finds model.joblib/.json/.bst/.txt
        # Defaults are under the working directory (/opt/mlserver), read-only here.
        ("MLSERVER_METRICS_DIR", "/tmp/mlserver-metrics"),
        ("MLSERVER_ENVIRONMENTS_DIR", "/tmp/mlserver-envs"),
    ),
    implementations=(
        ("sklearn", "mlserver_sklearn.SKLearnModel"),
        ("xgboost", "mlserver_xgboost.XGBoostModel"),
        ("lightgbm", "mlserver_lightgbm.LightGBMModel"),
    ),
    run_as_user=1000,  # the image's `mlserver` user
    v2_http=True,
    source="run: mlserver 1.7.1 (tests/tools/test_mlserver_runtime.py); settings: mlserver/settings.py",
)

TRITON = Runtime(
    key="triton",
    title="NVIDIA Triton Inference Server",
    frameworks=("onnx", "pytorch", "tensorflow"),
    # 26.01 is the first release whose request histogram counts every model, not only decoupled ones
    # (triton-inference-server/core "Extend histogram metrics to non-decoupled models"): the latency SLI reads it.
    image="nvcr.io/nvidia/tritonserver:26.01-py3",
    http_port=8000,
    grpc_port=8001,
    metrics_port=8002,
    metrics_path="/metrics",
    liveness_path="/v2/health/live",
    readiness_path="/v2/health/ready",  # ready only when every model in the repository is loaded
    startup_seconds=600,
    command=("tritonserver",),
    args=(
        "--model-repository={model_dir}",  # the artifact is a Triton model repository (<model>/<version>/...)
        "--http-port=8000",
        "--grpc-port=8001",
        "--metrics-port=8002",
        # Latency metrics are off by default (core src/metric_model_reporter.cc): the request histogram
        # nv_inference_first_response_histogram_ms feeds the latency SLO, the summary
        # nv_inference_request_summary_us the dashboard's p50/p95/p99.
        "--metrics-config=histogram_latencies=true",
        "--metrics-config=summary_latencies=true",
    ),
    env=(("HOME", "/tmp"),),
    shared_memory=True,
    run_as_user=1000,  # the image's `triton-server` user
    v2_http=True,
    source="Triton docs: user_guide/metrics.md (port 8002, --metrics-config), protocol/extension_health (v2 health)",
)

VLLM = Runtime(
    key="vllm",
    title="vLLM OpenAI-compatible server",
    frameworks=("llm",),
    image="vllm/vllm-openai:v0.11.0",
    http_port=8000,
    grpc_port=None,
    metrics_port=8000,  # vllm:* metrics on the API port
    metrics_path="/metrics",
    liveness_path="/health",
    readiness_path="/health",
    startup_seconds=1200,  # weights load and CUDA graphs are captured before the server answers
    # vllm/v1/metrics/loggers.py: Gauge "vllm:num_requests_waiting" (labels model_name, engine)
    waiting_metric="vllm:num_requests_waiting",
    command=("python3", "-m", "vllm.entrypoints.openai.api_server"),
    args=("--model", "{model_dir}", "--served-model-name", "{model_name}", "--port", "8000"),
    env=(
        ("HOME", "/cache"),
        ("XDG_CACHE_HOME", "/cache"),
        ("HF_HOME", "/cache/huggingface"),
        ("HF_HUB_OFFLINE", "1"),  # the weights are local; never reach out to the Hub
        ("VLLM_NO_USAGE_STATS", "1"),
        ("DO_NOT_TRACK", "1"),
    ),
    writable_dirs=(("tmp", "/tmp"), ("cache", "/cache")),
    shared_memory=True,
    source="vLLM docs: serving/openai_compatible_server (/health, /metrics), usage/usage_stats",
)

TGI = Runtime(
    key="tgi",
    title="Hugging Face text-generation-inference",
    frameworks=("huggingface",),
    image="ghcr.io/huggingface/text-generation-inference:3.3.2",
    http_port=8080,
    grpc_port=None,
    metrics_port=8080,
    metrics_path="/metrics",
    liveness_path="/health",
    readiness_path="/health",
    startup_seconds=1200,
    # router/src/infer: gauge tgi_queue_size (TGI docs: reference/metrics)
    waiting_metric="tgi_queue_size",
    args=("--model-id", "{model_dir}", "--port", "8080", "--hostname", "0.0.0.0"),
    env=(
        ("HOME", "/cache"),
        ("HF_HOME", "/cache/huggingface"),
        ("HF_HUB_OFFLINE", "1"),
        ("USAGE_STATS", "off"),
    ),
    writable_dirs=(("tmp", "/tmp"), ("cache", "/cache")),
    shared_memory=True,
    source="TGI docs: reference/launcher (--model-id, --port, --hostname), reference/metrics",
)

CUSTOM = Runtime(
    key="custom",
    title="Custom image",
    frameworks=("custom",),
    image=None,
    # The contract a custom image must meet (documented in docs): HTTP on 8080, Prometheus /metrics on the same
    # port, model in $MODEL_DIR. Health endpoints are unknown, so the probes only check the port accepts.
    http_port=8080,
    grpc_port=None,
    metrics_port=8080,
    metrics_path="/metrics",
    liveness_path=None,
    readiness_path=None,
    startup_seconds=300,
    env=(("MODEL_NAME", "{model_name}"), ("MODEL_DIR", "{model_dir}"), ("PORT", "8080"), ("HOME", "/tmp")),
    source="mlinfra's custom-image contract",
)

RUNTIMES: dict[str, Runtime] = {r.key: r for r in (MLSERVER, TRITON, VLLM, TGI, CUSTOM)}

_BY_FRAMEWORK = {framework: r.key for r in RUNTIMES.values() for framework in r.frameworks}


def runtime_for(framework: str) -> str:
    """Key of the runtime that serves `framework` (a profile's models[].framework)."""
    try:
        return _BY_FRAMEWORK[framework]
    except KeyError:
        raise ValueError(
            f"no serving runtime for framework '{framework}'; known: {', '.join(sorted(_BY_FRAMEWORK))}"
        ) from None
