"""Profile sections for scale: how the Kubernetes targets autoscale the models (`autoscaling`), and where the
monitoring stack writes its series when one Prometheus should not hold them all (`monitoring.remote_write`).

Kept apart from profiles/model.py (which includes them) so each section reads on its own; same rules: frozen,
unknown keys rejected, every field described, defaults that keep existing profiles loading.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

_CRON_FIELD = r"[0-9A-Za-z*/,\-]+"
_CRON = re.compile(rf"^{_CRON_FIELD}( {_CRON_FIELD}){{4}}$")
_SECRET_KEY = r"^[A-Za-z][A-Za-z0-9_-]*$"  # a Pulumi secret config key, as profiles.model.SecretKey
_URL = re.compile(r"^https?://[^\s/#?]+[^\s#]*$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True, strict=True, allow_inf_nan=False)


class DevSchedule(_Section):
    timezone: str = Field(..., description="IANA time zone the hours are in, e.g. Europe/Berlin.")
    start: str = Field(
        ..., description="Cron expression (5 fields) of when dev models are scaled up, e.g. '0 8 * * 1-5'."
    )
    end: str = Field(
        ..., description="Cron expression (5 fields) of when they may scale to zero again, e.g. '0 19 * * 1-5'."
    )

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("is not an IANA time zone; use a name such as Europe/Berlin or UTC") from None
        return value

    @field_validator("start", "end")
    @classmethod
    def _cron(cls, value: str) -> str:
        if not _CRON.match(value):
            raise ValueError("must be a cron expression of 5 fields (minute hour day month weekday), e.g. '0 8 * * 1-5'")
        return value


class Autoscaling(_Section):
    metric: Literal["requests", "cpu"] = Field(
        "requests",
        description="What the Kubernetes targets scale model replicas on. requests: a KEDA ScaledObject on each "
        "model's requests per second per replica (LLM runtimes: requests waiting per replica), the target from "
        "the sized capacity of one replica, with the CPU target as a floor; cpu: a HorizontalPodAutoscaler on "
        "the serving container's CPU only.",
    )
    keda: Literal["install", "existing"] = Field(
        "install",
        description="With metric requests: install (the environment that installs the cluster's monitoring stack "
        "also installs the pinned KEDA chart) or existing (the cluster already runs KEDA 2.x; mlinfra installs "
        "none).",
    )
    keda_namespace: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] = Field(
        "keda",
        description="Namespace KEDA runs in (installed there, or where the existing one runs): the monitoring "
        "stack's NetworkPolicy lets it query Prometheus.",
    )
    dev_schedule: DevSchedule | None = Field(
        None,
        description="Dev environments run their models only in these hours and scale them to zero outside them "
        "when no requests arrive (metric requests; only models whose runtime starts within the model-down alert's "
        "hold, so waking up never pages). None: dev keeps its minimum replicas around the clock.",
    )

    @model_validator(mode="after")
    def _schedule_needs_keda(self) -> Autoscaling:
        if self.dev_schedule is not None and self.metric != "requests":
            raise ValueError(
                f"autoscaling.dev_schedule is set but autoscaling.metric is '{self.metric}': scaling to zero needs "
                "KEDA (metric requests); set autoscaling.metric: requests or remove autoscaling.dev_schedule"
            )
        return self


class RemoteWrite(_Section):
    kind: Literal["thanos", "mimir"] = Field(
        ..., description="The long-term store: thanos (Thanos Receive) or mimir (Grafana Mimir)."
    )
    url: str = Field(
        ...,
        description="Remote-write endpoint, e.g. https://thanos-receive.example.com/api/v1/receive or "
        "https://mimir.example.com/api/v1/push.",
    )
    tenant: str | None = Field(
        None, pattern=r"^[A-Za-z0-9._-]{1,150}$",
        description="Tenant ID sent with every write (mimir: X-Scope-OrgID, thanos: THANOS-TENANT); none: the "
        "store's default tenant.",
    )
    auth: Literal["none", "basic", "bearer"] = Field(
        "none", description="How Prometheus authenticates to the store: none, basic (username + password) or bearer."
    )
    username: str | None = Field(
        None, pattern=r"^\S{1,256}$", description="User name for auth basic (not a secret; the password is)."
    )
    credentials_secret: Annotated[str, Field(pattern=_SECRET_KEY)] | None = Field(
        None,
        description="Pulumi secret config key holding the password (auth basic) or the token (auth bearer); it "
        "becomes a Kubernetes Secret the Prometheus reads by key, never plain text in the chart values.",
    )

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _URL.match(value):
            raise ValueError("must be an http(s) URL without spaces or a #fragment, e.g. https://mimir.example.com/api/v1/push")
        return value

    @model_validator(mode="after")
    def _credentials(self) -> RemoteWrite:
        if self.auth == "none" and (self.username or self.credentials_secret):
            raise ValueError(
                "monitoring.remote_write.auth is 'none' but username or credentials_secret is set; set auth to "
                "basic or bearer, or remove them"
            )
        if self.auth != "none" and not self.credentials_secret:
            raise ValueError(
                f"monitoring.remote_write.auth is '{self.auth}' but credentials_secret is not set; name the Pulumi "
                "secret config key of the " + ("password" if self.auth == "basic" else "token")
            )
        if self.auth == "basic" and not self.username:
            raise ValueError("monitoring.remote_write.auth is 'basic' but username is not set; name the user")
        if self.auth == "bearer" and self.username:
            raise ValueError("monitoring.remote_write.username is set but auth is 'bearer'; a token has no user")
        return self
