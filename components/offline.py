"""Run a Pulumi program function offline under the SDK's official mocks; return plain data (mlinfra.program.run_offline
runs the real program's `main` through it).

Public SDK API only (tests/unit/test_no_pulumi_import.py scans for private names): private names change between
3.x minors, and the suite runs this module on the oldest SDK the pins allow as well as the newest.
- `pulumi.runtime.set_mocks(monitor=...)` with a recording MockMonitor that keeps every registration's parent,
  provider, protect and dependencies, and fails on a duplicate (type, name) pair: the mock engine accepts
  duplicates that `pulumi up` rejects.
- `pulumi.runtime.test` runs the program and waits for every output; stack outputs are read from the root stack
  resource (`pulumi.runtime.get_root_resource`), secrets found with `Output.is_secret` and, in the inputs the
  monitor receives, `pulumi.runtime.rpc.is_rpc_secret`.
- The mocks fill computed outputs the way a provider would (Kubernetes metadata, Helm release status).
- Secret config keys named by the profile get recognisable fake values, handed out as Pulumi secrets; the
  guardrails search the graph for them.
- Each run gets a fresh contextvars.Context and event loop: the SDK keeps its settings, config and root stack
  in context variables, so `mlinfra diff` can run two previews in one process.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import hashlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor

from mlinfra.conventions import PACKAGE
from mlinfra.guardrails.graph import SECRET_MARK, Resource, normalise, provider_urn, resource

PROJECT = PACKAGE  # Pulumi.yaml `name`: secret config keys live in the project namespace
STACK_TYPE = "pulumi:pulumi:Stack"


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
    aliases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # urn -> alias specs (graph.engine_urns)


def fake_secret(key: str) -> str:
    return f"mlinfra-fake-secret-{key}"


def unwrap_secrets(value: Any) -> Any:
    """Replace Pulumi's wire-format secret wrappers by SECRET_MARK (the values never reach the graph), and assets
    and archives (a Lambda function's code) by plain data."""
    if rpc.is_rpc_secret(value):
        return SECRET_MARK
    if isinstance(value, (pulumi.Asset, pulumi.Archive)):
        return plain_asset(value)
    if isinstance(value, dict):
        return {k: unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap_secrets(v) for v in value]
    return value


def plain_asset(value: pulumi.Asset | pulumi.Archive) -> dict[str, Any]:
    """An asset or archive as JSON-able data: inline text by its sha256 and size, files and URLs by where they are."""
    if isinstance(value, pulumi.AssetArchive):
        return {"archive": {name: plain_asset(item) for name, item in sorted(value.assets.items())}}
    if isinstance(value, pulumi.StringAsset):
        data = value.text.encode("utf-8")
        return {"text": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}}
    where = getattr(value, "path", None) or getattr(value, "uri", None)
    return {type(value).__name__: str(where)}


def alias_specs(request) -> list[dict[str, Any]]:
    """A registration's aliases as plain data: full URNs (older SDKs compute them) or the engine's alias specs."""
    found: list[dict[str, Any]] = [{"urn": urn} for urn in request.aliasURNs]
    for alias in request.aliases:
        if alias.urn:
            found.append({"urn": alias.urn})
        else:
            spec = alias.spec
            found.append({"name": spec.name or None, "type": spec.type or None, "parent": spec.parentUrn or None,
                          "no_parent": bool(spec.noParent)})
    return found


class _Recorder:
    """What one run registered; the monitor is called from the SDK's worker threads."""

    def __init__(self, on_register: Callable[[int], None] | None):
        self.lock = threading.Lock()
        self.seen: set[tuple[str, str]] = set()
        self.entries: list[Resource] = []
        self.raw_inputs: dict[str, dict[str, Any]] = {}
        self.aliases: dict[str, list[dict[str, Any]]] = {}
        self.invokes: list[str] = []
        self.loop_errors: list[str] = []
        self.on_register = on_register


class _Mocks(pulumi.runtime.Mocks):
    """Inputs echoed as state, plus the computed outputs a provider would add; invokes are recorded."""

    def __init__(self, recorder: _Recorder):
        self.recorder = recorder

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        state = dict(args.inputs)
        if args.typ.startswith("kubernetes:helm.sh/"):
            state["status"] = {
                "name": args.inputs.get("name", args.name), "namespace": args.inputs.get("namespace", "default"),
                "chart": args.inputs.get("chart"), "version": args.inputs.get("version"),
                "status": "deployed", "revision": 1,
            }
        elif args.typ.startswith("kubernetes:") and isinstance(state.get("metadata"), dict):
            state["metadata"] = {"name": args.name, "uid": f"uid-{args.name}", **state["metadata"]}
        elif args.typ.startswith(_EKS_MODULES):
            state.update(_eks_outputs(args, self._region(args.provider)))
        elif args.typ.startswith("aws:"):
            state.update(_aws_outputs(args, self._region(args.provider)))
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list | None]:
        with self.recorder.lock:  # the program calls no invoke: preview reports any that appears
            self.recorder.invokes.append(args.token)
        if args.token == AZ_INVOKE:  # the *_output form the EKS network uses: the zones of the provider's region
            region = self._region(args.provider)
            return {"id": region, "names": [f"{region}{z}" for z in "abc"],
                    "zoneIds": [f"{region}-az{i}" for i in (1, 2, 3)], "state": "available"}, []
        if args.token == EKS_CLUSTER_INVOKE:  # aws-eks into an existing cluster: what DescribeCluster returns
            return _existing_eks_cluster(str(args.args.get("name") or "mock"), self._region(args.provider)), []
        return {}, []  # no check failures (None would crash the SDK's mock monitor)

    def _region(self, provider: str | None) -> str:
        """The region of an AWS provider reference (`urn::id`), from its recorded inputs."""
        urn = (provider or "").rpartition("::")[0]
        with self.recorder.lock:
            return str(self.recorder.raw_inputs.get(urn, {}).get("region") or MOCK_REGION)


# aws-eks: what AWS computes for the resources components/aws_eks creates (names, ARNs, the cluster's endpoint,
# CA and OIDC issuer, a launch template's version), so the kubeconfig and IRSA policies resolve as on AWS
_EKS_MODULES = ("aws:eks/", "aws:ec2/", "aws:iam/", "aws:cloudwatch/logGroup")
AZ_INVOKE = "aws:index/getAvailabilityZones:getAvailabilityZones"
EKS_CLUSTER_INVOKE = "aws:eks/getCluster:getCluster"
MOCK_ACCOUNT = "123456789012"
MOCK_REGION = "eu-central-1"


def _eks_cluster_identity(name: str, region: str) -> dict[str, Any]:
    """Name, ARN, endpoint and OIDC issuer of an EKS cluster, as AWS forms them (one hex ID in endpoint and issuer)."""
    oidc_id = hashlib.sha256(name.encode()).hexdigest()[:32].upper()
    return {
        "name": name, "arn": f"arn:aws:eks:{region}:{MOCK_ACCOUNT}:cluster/{name}",
        "endpoint": f"https://{oidc_id}.gr7.{region}.eks.amazonaws.com",
        "identities": [{"oidcs": [{"issuer": f"https://oidc.eks.{region}.amazonaws.com/id/{oidc_id}"}]}],
    }


def _mock_ca(name: str) -> str:
    return base64.b64encode(f"mock CA of {name}".encode()).decode()


def _existing_eks_cluster(name: str, region: str) -> dict[str, Any]:
    """aws.eks.get_cluster's result for a cluster the stack did not create (its own VPC, subnets and role)."""
    tag = hashlib.sha256(name.encode()).hexdigest()
    return {
        **_eks_cluster_identity(name, region), "id": name, "status": "ACTIVE", "version": "1.34",
        "platformVersion": "eks.9", "createdAt": "2025-06-02T08:15:00Z",
        "roleArn": f"arn:aws:iam::{MOCK_ACCOUNT}:role/{name}-cluster-role",
        "certificateAuthorities": [{"data": _mock_ca(name)}],
        "accessConfigs": [{"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}],
        "kubernetesNetworkConfigs": [{"ipFamily": "ipv4", "serviceIpv4Cidr": "172.20.0.0/16"}],
        "enabledClusterLogTypes": ["api", "audit"],
        "vpcConfig": {
            "vpcId": f"vpc-{tag[:17]}",
            "subnetIds": [f"subnet-{tag[i:i + 17]}" for i in (17, 34)],
            "securityGroupIds": [], "clusterSecurityGroupId": f"sg-{tag[:17]}",
            "endpointPrivateAccess": True, "endpointPublicAccess": False, "publicAccessCidrs": [],
        },
        "tags": {},
    }


def _eks_outputs(args: pulumi.runtime.MockResourceArgs, region: str) -> dict[str, Any]:
    inputs, name = args.inputs, args.name
    service = args.typ.split(":")[1].split("/")[0]
    physical = inputs.get("name") or f"{name}-mock"  # Pulumi's auto-naming adds a suffix
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{MOCK_ACCOUNT}:{name}"}
    if args.typ == "aws:eks/cluster:Cluster":
        out.update(
            **_eks_cluster_identity(physical, region), status="ACTIVE", platformVersion="eks.1",
            certificateAuthority={"data": _mock_ca(physical)},
            vpcConfig={**(inputs.get("vpcConfig") or {}), "clusterSecurityGroupId": f"sg-{name}",
                       "vpcId": "vpc-mock"},
        )
    elif args.typ == "aws:iam/role:Role":
        out.update(name=physical, arn=f"arn:aws:iam::{MOCK_ACCOUNT}:role/{physical}", uniqueId=f"AROA{name}")
    elif args.typ == "aws:iam/openIdConnectProvider:OpenIdConnectProvider":
        host = str(inputs.get("url", "")).removeprefix("https://")
        out["arn"] = f"arn:aws:iam::{MOCK_ACCOUNT}:oidc-provider/{host}"
    elif args.typ == "aws:ec2/vpcEndpoint:VpcEndpoint":  # a gateway endpoint's prefix list (security group rules)
        out["prefixListId"] = f"pl-{name}"
    elif args.typ == "aws:ec2/launchTemplate:LaunchTemplate":
        out.update(latestVersion=1, defaultVersion=1, name=physical)
    elif args.typ == "aws:eks/nodeGroup:NodeGroup":
        out.update(status="ACTIVE", nodeGroupName=physical, resources=[{"autoscalingGroups": [{"name": f"eks-{name}"}]}])
    elif args.typ == "aws:eks/addon:Addon":
        out["addonVersion"] = inputs.get("addonVersion") or "v1.0.0-eksbuild.1"
    elif args.typ == "aws:cloudwatch/logGroup:LogGroup":
        out["arn"] = f"arn:aws:logs:{region}:{MOCK_ACCOUNT}:log-group:{physical}"
    return out


# The shared AWS pieces and aws-sagemaker: what AWS computes for them (names of auto-named resources, ARNs, the
# bucket's name from its prefix, the repository URL), so policies, alarm actions and stack outputs resolve as on AWS
_SAGEMAKER_KINDS = {"model": "model", "endpointConfiguration": "endpoint-config", "endpoint": "endpoint",
                    "dataQualityJobDefinition": "data-quality-job-definition",
                    "monitoringSchedule": "monitoring-schedule"}


def _aws_outputs(args: pulumi.runtime.MockResourceArgs, region: str) -> dict[str, Any]:
    inputs, name, typ = args.inputs, args.name, args.typ
    module = typ.split(":")[1]
    service, kind = module.split("/")[0], module.split("/")[-1]
    physical = inputs.get("name") or f"{name}-mock"
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{MOCK_ACCOUNT}:{name}"}
    if typ == "aws:kms/key:Key":
        key_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
        out.update(keyId=key_id, arn=f"arn:aws:kms:{region}:{MOCK_ACCOUNT}:key/{key_id}")
    elif typ == "aws:kms/alias:Alias":
        out.update(arn=f"arn:aws:kms:{region}:{MOCK_ACCOUNT}:{physical}", targetKeyArn=inputs.get("targetKeyId"))
    elif typ == "aws:s3/bucket:Bucket":
        bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix') or name + '-'}mock"
        out.update(bucket=bucket, arn=f"arn:aws:s3:::{bucket}", region=region, bucketDomainName=f"{bucket}.s3.amazonaws.com",
                   bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com")
    elif typ == "aws:ecr/repository:Repository":
        out.update(name=physical, registryId=MOCK_ACCOUNT, arn=f"arn:aws:ecr:{region}:{MOCK_ACCOUNT}:repository/{physical}",
                   repositoryUrl=f"{MOCK_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{physical}")
    elif typ == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
        out["registryId"] = MOCK_ACCOUNT
    elif typ == "aws:sns/topic:Topic":
        out.update(name=physical, arn=f"arn:aws:sns:{region}:{MOCK_ACCOUNT}:{physical}", owner=MOCK_ACCOUNT)
    elif typ == "aws:sns/topicSubscription:TopicSubscription":
        out["arn"] = f"{inputs.get('topic')}:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"
    elif service == "sagemaker" and kind in _SAGEMAKER_KINDS:
        out.update(name=physical, arn=f"arn:aws:sagemaker:{region}:{MOCK_ACCOUNT}:{_SAGEMAKER_KINDS[kind]}/{physical.lower()}")
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        out["arn"] = f"arn:aws:cloudwatch:{region}:{MOCK_ACCOUNT}:alarm:{physical}"
    elif typ == "aws:cloudwatch/compositeAlarm:CompositeAlarm":
        out["arn"] = f"arn:aws:cloudwatch:{region}:{MOCK_ACCOUNT}:alarm:{inputs.get('alarmName') or physical}"
    elif typ == "aws:cloudwatch/dashboard:Dashboard":
        out["dashboardArn"] = f"arn:aws:cloudwatch::{MOCK_ACCOUNT}:dashboard/{inputs.get('dashboardName')}"
    elif typ == "aws:appautoscaling/policy:Policy":
        out.update(name=physical, arn=f"arn:aws:autoscaling:{region}:{MOCK_ACCOUNT}:scalingPolicy:{name}")
    elif typ == "aws:apigatewayv2/api:Api":  # the id is the mocks' f"{name}-id"
        out.update(apiEndpoint=f"https://{name}-id.execute-api.{region}.amazonaws.com",
                   executionArn=f"arn:aws:execute-api:{region}:{MOCK_ACCOUNT}:{name}-id",
                   arn=f"arn:aws:apigateway:{region}::/apis/{name}-id")
    elif typ == "aws:lambda/function:Function":
        arn = f"arn:aws:lambda:{region}:{MOCK_ACCOUNT}:function:{physical}"
        out.update(name=physical, arn=arn,
                   invokeArn=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations")
    return out


class _Monitor(MockMonitor):
    """MockMonitor that records what the Mocks interface does not see, and rejects duplicate names."""

    def __init__(self, mocks: _Mocks, recorder: _Recorder):
        super().__init__(mocks)
        self.recorder = recorder

    def RegisterResource(self, request):  # noqa: N802 - gRPC method name
        rec = self.recorder
        if request.type == STACK_TYPE:
            return super().RegisterResource(request)
        with rec.lock:
            key = (request.type, request.name)
            if key in rec.seen:
                raise DuplicateResource(
                    f"two resources are both named '{request.name}' (type {request.type}); "
                    "`pulumi up` rejects this - every child name must derive from its component's name"
                )
            rec.seen.add(key)
        response = super().RegisterResource(request)  # also gives this worker thread the event loop it needs
        inputs = rpc.deserialize_properties(request.object)  # what the mocks saw, secret wrappers included
        entry = resource(
            type=request.type,
            name=request.name,
            urn=response.urn,
            parent=request.parent,
            custom=request.custom,
            provider=provider_urn(request.provider),
            inputs=unwrap_secrets(inputs),
            # proto3: an unset `protect` (optional in newer SDKs, plain bool in older ones) reads as False
            protect=bool(request.protect),
            depends_on=request.dependencies,
        )
        with rec.lock:
            rec.entries.append(entry)
            rec.raw_inputs[response.urn] = normalise(inputs)
            if request.aliases or request.aliasURNs:
                rec.aliases[response.urn] = alias_specs(request)
            count = len(rec.entries)
        if rec.on_register:
            rec.on_register(count)
        return response


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


def _stack_outputs(into: dict[str, Any]) -> Callable[[], Any]:
    """After the program: an awaitable of the root stack's exports, resolved into `into` (secrets as SECRET_MARK)."""

    async def resolve() -> Any:
        values: dict[str, Any] = {}
        for key, value in dict(pulumi.runtime.get_root_resource().outputs).items():
            out = pulumi.Output.from_input(value)
            values[key] = SECRET_MARK if await out.is_secret() else out
        return pulumi.Output.from_input(values).apply(lambda resolved: into.update(normalise(resolved)))

    return resolve


def _run(program, env: str, config: dict[str, str], secret_keys: list[str], on_register) -> OfflineRun:
    started = time.perf_counter()
    recorder = _Recorder(on_register)
    mocks = _Mocks(recorder)
    outputs: dict[str, Any] = {}
    loop = asyncio.new_event_loop()
    # after a failed run, the SDK's abandoned outputs report "exception never retrieved" at garbage collection;
    # the failure itself is raised as OfflineError, so keep those echoes out of the user's terminal
    loop.set_exception_handler(lambda _loop, context: recorder.loop_errors.append(str(context.get("message"))))
    asyncio.set_event_loop(loop)
    secrets = {key: fake_secret(key) for key in secret_keys}
    try:
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=env, preview=True, monitor=_Monitor(mocks, recorder))
        config = {**config, **{f"{PROJECT}:{k}": v for k, v in secrets.items()}}
        pulumi.runtime.set_all_config(config, secret_keys=[f"{PROJECT}:{k}" for k in secrets])
        exports = _stack_outputs(outputs)

        @pulumi.runtime.test  # runs the program, then waits for every RPC and output, the returned one included
        def run_program() -> Any:
            program()
            return exports()

        try:
            run_program()
        except pulumi.RunError as exc:
            raise OfflineError(str(exc)) from None
        except DuplicateResource as exc:
            raise OfflineError(f"program error: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any program bug is reported by name, without a traceback
            raise OfflineError(f"program error: {type(exc).__name__}: {exc}") from None
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
        outputs=outputs,
        secret_values=secrets,
        invokes=list(recorder.invokes),
        seconds=time.perf_counter() - started,
        raw_inputs=dict(recorder.raw_inputs),
        aliases=dict(recorder.aliases),
    )
