"""Run the real Pulumi program (mlinfra.program.main) offline under the SDK's official mocks; return plain data.

- A recording MockMonitor (pulumi.runtime.set_mocks(monitor=...)) keeps every registration's parent, provider,
  protect and dependencies, and fails on a duplicate (type, name) pair: the mock engine accepts duplicates
  that `pulumi up` rejects.
- The mocks fill computed outputs sensibly (ids, Kubernetes metadata, Helm release status, AWS ARNs).
- Secret config keys named by the profile get recognisable fake values, handed out as Pulumi secrets; the
  guardrails search the graph for them.
- Each run gets a fresh contextvars.Context and event loop: the SDK keeps its settings, config and root stack
  in context variables, so `mlinfra diff` can run two previews in one process.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.config import set_all_config
from pulumi.runtime.rpc import _special_secret_sig, _special_sig_key
from pulumi.runtime.settings import SETTINGS, get_root_resource
from pulumi.runtime.stack import run_pulumi_func

from mlinfra.conventions import CONFIG_PROFILE_KEY, CONFIG_TARGET_KEY, PACKAGE
from mlinfra.guardrails.graph import SECRET_MARK, Resource, normalise, provider_urn, resource
from mlinfra.guardrails.secrets import secret_config_keys

PROJECT = PACKAGE  # Pulumi.yaml `name`: secret config keys live in the project namespace
FAKE_ACCOUNT = "123456789012"


class OfflineError(Exception):
    """The program failed under the mocks; the message is what a user needs (no traceback)."""


class DuplicateResource(Exception):
    pass


@dataclass
class OfflineRun:
    environment: str
    resources: list[Resource]  # registration order, secrets as SECRET_MARK, integral floats as ints
    outputs: dict[str, Any]  # resolved stack outputs (secret outputs as SECRET_MARK)
    secret_values: dict[str, str]  # fake values handed out per secret config key
    invokes: list[str] = field(default_factory=list)  # provider function tokens called (expected: none)
    seconds: float = 0.0
    raw_inputs: dict[str, dict[str, Any]] = field(default_factory=dict)  # urn -> inputs with secret wrappers


def fake_secret(key: str) -> str:
    return f"mlinfra-fake-secret-{key}"


def unwrap_secrets(value: Any) -> Any:
    """Replace Pulumi's wire-format secret wrappers by SECRET_MARK (the values never reach the graph)."""
    if isinstance(value, dict):
        if value.get(_special_sig_key) == _special_secret_sig:
            return SECRET_MARK
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


class _Recorder:
    def __init__(self, on_register: Callable[[int], None] | None):
        self.lock = threading.Lock()
        self.local = threading.local()
        self.seen: set[tuple[str, str]] = set()
        self.entries: list[Resource] = []
        self.raw_inputs: dict[str, dict[str, Any]] = {}
        self.invokes: list[str] = []
        self.loop_errors: list[str] = []
        self.on_register = on_register


class _Mocks(pulumi.runtime.Mocks):
    """Computed outputs for what the program reads back; inputs are echoed as state."""

    def __init__(self, recorder: _Recorder):
        self.recorder = recorder

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        request = getattr(self.recorder.local, "request", None)
        if request is not None and request.name == args.name and request.type == args.typ:
            self.recorder.local.inputs = args.inputs
        state = dict(args.inputs)
        typ = args.typ
        if typ.startswith("kubernetes:helm.sh/"):
            state["status"] = {
                "name": args.inputs.get("name", args.name), "namespace": args.inputs.get("namespace", "default"),
                "chart": args.inputs.get("chart"), "version": args.inputs.get("version"),
                "status": "deployed", "revision": 1,
            }
        elif typ.startswith("kubernetes:") and isinstance(state.get("metadata"), dict):
            meta = dict(state["metadata"])
            meta.setdefault("name", args.name)
            meta.setdefault("uid", f"uid-{args.name}")
            state["metadata"] = meta
        elif typ.startswith("aws:"):
            region = args.inputs.get("region", "eu-central-1")
            service = typ.split(":")[1].split("/")[0]
            state.setdefault("arn", f"arn:aws:{service}:{region}:{FAKE_ACCOUNT}:{args.name}")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        with self.recorder.lock:
            self.recorder.invokes.append(args.token)
        known = {
            "aws:index/getCallerIdentity:getCallerIdentity": {
                "accountId": FAKE_ACCOUNT, "arn": f"arn:aws:iam::{FAKE_ACCOUNT}:user/mock", "userId": "mock",
            },
            "aws:index/getRegion:getRegion": {"name": "eu-central-1", "region": "eu-central-1"},
            "aws:index/getAvailabilityZones:getAvailabilityZones": {
                "names": ["eu-central-1a", "eu-central-1b", "eu-central-1c"],
            },
        }
        return known.get(args.token, {}), None


class _Monitor(pulumi_mocks.MockMonitor):
    """MockMonitor that records options the Mocks interface does not see, and rejects duplicate names."""

    def __init__(self, mocks: _Mocks, recorder: _Recorder):
        super().__init__(mocks)
        self.recorder = recorder

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        rec = self.recorder
        if request.type != "pulumi:pulumi:Stack":
            with rec.lock:
                key = (request.type, request.name)
                if key in rec.seen:
                    raise DuplicateResource(
                        f"two resources are both named '{request.name}' (type {request.type}); "
                        "`pulumi up` rejects this - every child name must derive from its component's name"
                    )
                rec.seen.add(key)
        rec.local.request, rec.local.inputs = request, {}
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        inputs = rec.local.inputs
        rec.local.request = rec.local.inputs = None
        entry = resource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            custom=request.custom,
            provider=provider_urn(request.provider),
            inputs=unwrap_secrets(inputs),
            protect=request.protect if request.HasField("protect") else False,
            depends_on=request.dependencies,
        )
        with rec.lock:
            rec.entries.append(entry)
            rec.raw_inputs[response.urn] = normalise(inputs)
            count = len(rec.entries)
        if rec.on_register:
            rec.on_register(count)
        return response


async def _resolve(value: Any) -> Any:
    out = pulumi.Output.from_input(value)
    if await out.is_secret():
        return SECRET_MARK
    return normalise(await out.future())


def run_offline(
    profile_path: str | Path,
    env: str,
    *,
    target: str | None = None,
    secret_keys: list[str] | None = None,
    on_register: Callable[[int], None] | None = None,
) -> OfflineRun:
    """Run mlinfra.program.main for `env` (the stack name) of the profile; raises OfflineError on failure.

    `secret_keys`: secret config keys to fake (default: every key the profile names)."""
    from mlinfra import program

    path = Path(profile_path).resolve()
    if secret_keys is None:
        from mlinfra.profiles.load import ProfileError, load_profile

        try:
            secret_keys = secret_config_keys(load_profile(str(path)))
        except ProfileError as exc:
            raise OfflineError(exc.report()) from None
    config = {f"{PACKAGE}:{CONFIG_PROFILE_KEY}": str(path)}
    if target:
        config[f"{PACKAGE}:{CONFIG_TARGET_KEY}"] = target
    return run_mocked(program.main, stack=env, config=config, secret_keys=secret_keys, on_register=on_register)


def run_mocked(
    program: Callable[[], Any],
    *,
    stack: str,
    config: dict[str, str] | None = None,
    secret_keys: list[str] = (),
    on_register: Callable[[int], None] | None = None,
) -> OfflineRun:
    """Run any Pulumi program function under the recording mocks (the component tests use this directly)."""
    return contextvars.Context().run(_run, program, stack, dict(config or {}), list(secret_keys), on_register)


def _run(program, env: str, config: dict[str, str], secret_keys: list[str], on_register) -> OfflineRun:
    started = time.perf_counter()
    recorder = _Recorder(on_register)
    mocks = _Mocks(recorder)
    loop = asyncio.new_event_loop()
    # after a failed run, the SDK's abandoned outputs report "exception never retrieved" at garbage collection;
    # the failure itself is raised as OfflineError, so keep those echoes out of the user's terminal
    loop.set_exception_handler(lambda _loop, context: recorder.loop_errors.append(str(context.get("message"))))
    asyncio.set_event_loop(loop)
    try:
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=env, preview=True, monitor=_Monitor(mocks, recorder))
        # The SDK's context properties fall back to the first value ever set (a process-wide set of pending
        # outputs): give this run its own, or tasks left by an earlier failed run would be awaited here.
        SETTINGS.outputs = set()
        SETTINGS.lock = threading.Lock()
        secrets = {key: fake_secret(key) for key in secret_keys}
        config = {**config, **{f"{PROJECT}:{k}": v for k, v in secrets.items()}}
        set_all_config(config, secret_keys=[f"{PROJECT}:{k}" for k in secrets])
        try:
            loop.run_until_complete(run_pulumi_func(program))
        except pulumi.RunError as exc:
            raise OfflineError(str(exc)) from None
        except DuplicateResource as exc:
            raise OfflineError(f"program error: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any program bug is reported by name, without a traceback
            raise OfflineError(f"program error: {type(exc).__name__}: {exc}") from None
        root = get_root_resource()
        outputs = {k: loop.run_until_complete(_resolve(v)) for k, v in (root.outputs if root else {}).items()}
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        asyncio.set_event_loop(None)
    return OfflineRun(
        environment=env,
        resources=list(recorder.entries),
        outputs=outputs or {},
        secret_values=secrets,
        invokes=list(recorder.invokes),
        seconds=time.perf_counter() - started,
        raw_inputs=dict(recorder.raw_inputs),
    )
