"""The drift monitor's config file (YAML or JSON; `mlinfra render` writes it into a ConfigMap) and its loader.

```yaml
listen: "0.0.0.0:8090"              # the V2 proxy: clients and the Service reach the model through it
upstream: "http://127.0.0.1:8080"   # the model server's V2 HTTP endpoint in the same pod
metrics_listen: "0.0.0.0:9102"      # GET /metrics (Prometheus), /healthz, /readyz
upstream_timeout_seconds: 60        # a whole upstream exchange; past it the client gets 504
upstream_connect_timeout_seconds: 5 # connecting to the upstream; a refused or timed-out connection is a 502
queue_size: 1000                    # sampled exchanges waiting to be decoded; a full queue drops (and counts) them
max_sample_bytes: 4194304           # larger request or response bodies are passed through, never sampled
models:
  - name: iris                      # the V2 model name in /v2/models/{name}[/versions/{v}]/infer
    reference: /var/lib/mlinfra-drift/reference/iris.csv  # .csv or .parquet with the model's input columns
    features: [sepal_length, sepal_width, petal_length, petal_width]  # default: reference columns but the prediction
    prediction_column: null         # a reference column of predictions -> prediction drift (feature "prediction")
    categorical: []                 # columns compared as categories (default: the non-numeric columns)
    sample_rate: 0.1                # share of inference requests sampled, (0, 1]
    window: 2000                    # rows in the sliding window compared with the reference
    min_samples: 500                # fewer rows in the window: no score is exported (the samples gauge still is)
    bins: 10                        # quantile bins of the reference for a numeric feature's PSI
    interval_seconds: 15            # how often the scores are recomputed
```

Only `name` and `reference` of a model are required. An object-store reference (s3://, gs://) is fetched by the
init container next to the monitor, like the model artifact; this file names the local copy.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlinfra.profiles.load import Problem, ProfileError, parse_yaml, problems_from

DEFAULT_LISTEN = "0.0.0.0:8090"
DEFAULT_UPSTREAM = "http://127.0.0.1:8080"
DEFAULT_METRICS_LISTEN = "0.0.0.0:9102"
DEFAULT_SAMPLE_RATE = 0.1
DEFAULT_WINDOW = 2000
# PSI of an unchanged distribution is about (bins - 1) / rows by chance alone, and the alert reads the largest of
# all features: with 20 features and 10 bins that largest one passes the usual 0.1 warning in ~40 % of windows of
# 200 rows, ~1 % at 300, none at 500 (its 95th percentile is 0.056; tests/unit/test_drift_stats.py holds this).
DEFAULT_MIN_SAMPLES = 500
DEFAULT_BINS = 10
DEFAULT_INTERVAL_SECONDS = 15.0
PREDICTION_FEATURE = "prediction"  # the `feature` label of prediction drift
REFERENCE_SUFFIXES = (".csv", ".parquet")
MAX_CONFIG_BYTES = 1024 * 1024

# a V2 model name is one URL path segment
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})$")


class DriftConfigError(ProfileError):
    """The drift monitor's config could not be loaded; `str()` is `file: N problem(s)` + one line each."""


def split_host_port(value: str) -> tuple[str, int]:
    """`host:port` (`[::]:8090` for IPv6) -> (host, port); ValueError naming the expected form."""
    found = _HOST_PORT.match(value)
    port = int(found.group("port")) if found else 0
    if not found or not 1 <= port <= 65535:
        raise ValueError("must be host:port with a port 1-65535, e.g. 0.0.0.0:8090 or [::]:8090")
    host = found.group("host")
    if host.startswith("["):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"[{host}] is not an IPv6 address; write host:port, e.g. [::]:8090") from None
    return host, port


def _host_port(value: str) -> str:
    split_host_port(value)
    return value


class ModelDrift(BaseModel):
    """One model the monitor watches: its reference sample and how its traffic is sampled and compared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(
        pattern=MODEL_NAME_PATTERN,
        description="The model's V2 name: requests to /v2/models/{name}[/versions/{version}]/infer are sampled.",
    )
    reference: str = Field(
        min_length=1,
        description="Local path of the reference sample, a .csv (header row) or .parquet file with the model's input "
        "columns (and optionally its predictions); an object-store copy is fetched here by the init container.",
    )
    features: tuple[str, ...] | None = Field(
        None,
        min_length=1,
        description="The model's input columns in the order of a single 2-D input tensor's columns; named 1-D "
        "inputs are matched by name. Default: the reference's columns except prediction_column.",
    )
    prediction_column: str | None = Field(
        None,
        min_length=1,
        description="Reference column holding the model's predictions; when set, the first output is compared with "
        "it as the feature 'prediction'.",
    )
    categorical: tuple[str, ...] = Field(
        (),
        description="Columns compared as categories (PSI over the categories, no KS); the reference's non-numeric "
        "columns are categorical anyway.",
    )
    sample_rate: float = Field(
        DEFAULT_SAMPLE_RATE, gt=0, le=1, description="Share of inference requests whose inputs are sampled, (0, 1]."
    )
    window: int = Field(
        DEFAULT_WINDOW, ge=10, le=1_000_000,
        description="Rows in the sliding window of recent inputs compared with the reference (older rows drop out).",
    )
    min_samples: int = Field(
        DEFAULT_MIN_SAMPLES, ge=1,
        description="Below this many rows in the window no score is exported, so no alert can fire on a handful of "
        "requests; mlinfra_model_drift_window_samples is exported regardless. PSI of an unchanged distribution is "
        "about (bins - 1) / rows by chance: 500 keeps the largest of 20 features' below 0.1 with 10 bins.",
    )
    bins: int = Field(
        DEFAULT_BINS, ge=2, le=100,
        description="Quantile bins of the reference for a numeric feature's PSI (equal reference shares; fewer when "
        "the reference repeats values).",
    )
    interval_seconds: float = Field(
        DEFAULT_INTERVAL_SECONDS, ge=0.1, le=3600, description="How often the scores are recomputed, in seconds."
    )

    @field_validator("reference")
    @classmethod
    def _local_table(cls, value: str) -> str:
        if "://" in value:
            raise ValueError("must be a local path: an object-store reference is fetched by the init container, and "
                             "this names the file it writes")
        if not value.lower().endswith(REFERENCE_SUFFIXES):
            raise ValueError("must be a .csv or .parquet file")
        return value

    @field_validator("features", "categorical")
    @classmethod
    def _unique(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None:
            repeated = sorted({v for v in value if value.count(v) > 1})
            if repeated:
                raise ValueError(f"names each column once; repeated: {', '.join(repeated)}")
            if any(not v for v in value):
                raise ValueError("holds an empty column name")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModelDrift:
        if self.min_samples > self.window:
            raise ValueError(f"min_samples ({self.min_samples}) is larger than window ({self.window}): the window never "
                             "holds enough rows for a score; lower min_samples or raise window")
        if self.prediction_column and self.features and self.prediction_column in self.features:
            raise ValueError(f"prediction_column '{self.prediction_column}' is also listed in features; a column is "
                             "either an input or the prediction")
        if self.prediction_column and self.features and PREDICTION_FEATURE in self.features:
            raise ValueError(f"a feature named '{PREDICTION_FEATURE}' would share its series with prediction drift; "
                             "rename the column or drop prediction_column")
        return self


class DriftConfig(BaseModel):
    """The drift monitor: where it listens, the model server it fronts, and the models it watches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    listen: str = Field(DEFAULT_LISTEN, description="host:port of the V2 proxy that clients (the Service) reach.")
    upstream: str = Field(
        DEFAULT_UPSTREAM,
        description="Base URL of the model server's V2 HTTP endpoint (scheme, host, port; no path), usually in the "
        "same pod.",
    )
    metrics_listen: str = Field(
        DEFAULT_METRICS_LISTEN, description="host:port serving /metrics (Prometheus), /healthz and /readyz."
    )
    upstream_timeout_seconds: float = Field(
        60.0, gt=0, le=3600, description="Longest whole exchange with the upstream; past it the client gets a 504."
    )
    upstream_connect_timeout_seconds: float = Field(
        5.0, gt=0, le=600, description="Longest wait to connect to the upstream; past it the client gets a 502."
    )
    queue_size: int = Field(
        1000, ge=1, le=1_000_000,
        description="Sampled exchanges waiting to be decoded off the request path; when full a sample is dropped and "
        "counted (mlinfra_model_drift_dropped_samples_total), the request is never delayed.",
    )
    max_sample_bytes: int = Field(
        4 * 1024 * 1024, ge=1024,
        description="Request or response bodies larger than this are passed through but not sampled.",
    )
    models: tuple[ModelDrift, ...] = Field(description="The models whose traffic is compared (at least one).")

    @field_validator("models")
    @classmethod
    def _some(cls, value: tuple[ModelDrift, ...]) -> tuple[ModelDrift, ...]:
        if not value:
            raise ValueError("lists no model; name at least one model and its reference sample")
        return value

    @field_validator("listen", "metrics_listen")
    @classmethod
    def _address(cls, value: str) -> str:
        return _host_port(value)

    @field_validator("upstream")
    @classmethod
    def _upstream(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must be an http(s) base URL without path, e.g. http://127.0.0.1:8080")
        try:
            parts.port  # noqa: B018 - raises on a port outside 0-65535
        except ValueError:
            raise ValueError("must be an http(s) base URL with a port 1-65535, e.g. http://127.0.0.1:8080") from None
        return value.rstrip("/")

    @model_validator(mode="after")
    def _distinct(self) -> DriftConfig:
        names = [m.name for m in self.models]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"models: each model is listed once; repeated: {', '.join(repeated)}")
        if split_host_port(self.listen)[1] == split_host_port(self.metrics_listen)[1]:
            raise ValueError(f"listen ({self.listen}) and metrics_listen ({self.metrics_listen}) use the same port; "
                             "give each its own")
        return self

    def model(self, name: str) -> ModelDrift | None:
        """The watched model called `name`, None when it is not watched."""
        return next((m for m in self.models if m.name == name), None)


def config_from_data(data: Any, source: str = "<drift config>") -> DriftConfig:
    """Validate already-parsed data; raises DriftConfigError listing every problem as `path: what (got X)`."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise DriftConfigError(source, [Problem("", f"the drift monitor's config is a mapping of fields (got {kind})")])
    try:
        return DriftConfig.model_validate(data)
    except ValidationError as exc:
        raise DriftConfigError(source, problems_from(exc, data, DriftConfig)) from None


def load_config(path: str | Path) -> DriftConfig:
    """Read and validate the config file (YAML or JSON); raises DriftConfigError (with the file name)."""
    source = str(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise DriftConfigError(source, [Problem("", "file not found; pass the drift monitor's config file")]) from None
    except IsADirectoryError:
        raise DriftConfigError(source, [Problem("", "is a directory; pass the drift monitor's config file")]) from None
    except OSError as exc:
        raise DriftConfigError(source, [Problem("", f"cannot be read: {exc.strerror or exc}")]) from None
    if len(raw) > MAX_CONFIG_BYTES:
        raise DriftConfigError(source, [Problem("", f"is larger than {MAX_CONFIG_BYTES // 1024} KiB; the drift "
                                                    "monitor's config is a few hundred bytes per model")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DriftConfigError(source, [Problem("", f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    try:
        data = parse_yaml(text, source)
    except ProfileError as exc:
        raise DriftConfigError(source, exc.problems) from None
    return config_from_data(data, source)
