"""Guardrails bound to the profile: pure checks over the registered resource graph.

`mlinfra preview`, the component tests and the Pulumi policy pack (guardrails/policypack) all call these
functions; each returns the violations it found and a note saying what it looked at.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from mlinfra.guardrails.context import GuardrailContext
from mlinfra.guardrails.graph import SECRET_MARK, Resource, kube_kind, kube_object_key, label, walk
from mlinfra.guardrails.secrets import is_secret_input_key, looks_like_secret
from mlinfra.guardrails.stateful import is_stateful

Status = Literal["pass", "fail", "n/a"]


@dataclass(frozen=True)
class Violation:
    check: str
    urn: str | None
    resource: str  # "<type> <name>"
    message: str


@dataclass(frozen=True)
class Finding:
    """What one check returns: violations, whether it applied at all, and what it looked at."""

    violations: list[Violation] = field(default_factory=list)
    applicable: bool = True
    note: str = ""


@dataclass(frozen=True)
class CheckResult:
    id: str
    title: str
    status: Status
    note: str
    violations: tuple[Violation, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "note": self.note,
            "violations": [{"urn": v.urn, "resource": v.resource, "message": v.message} for v in self.violations],
        }


def _v(check: str, res: Resource, message: str) -> Violation:
    return Violation(check=check, urn=res.get("urn"), resource=label(res), message=message)


# ---------------------------------------------------------------------------------------------------------
# sovereignty


def _is_cloud(res: Resource) -> bool:
    return res["type"].startswith(("aws:", "pulumi:providers:aws"))


def _default_provider(res: Resource) -> bool:
    """An AWS resource without an explicit provider: none recorded (the mocks), or the engine's `default_*` one."""
    provider = res.get("provider")
    return not provider or provider.rpartition("::")[2].startswith("default")


def check_sovereignty(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """Every cloud region used satisfies `data.sovereignty`; on_premise allows no cloud resource at all."""
    cloud = [r for r in graph if _is_cloud(r)]
    if not cloud:
        return Finding(note=f"no cloud resources; sovereignty '{ctx.sovereignty}' holds (Kubernetes only)")
    out = []
    regions = set()
    for r in cloud:
        region = r["inputs"].get("region")
        if isinstance(region, str):
            regions.add(region)
        if ctx.sovereignty == "on_premise":
            out.append(_v("sovereignty", r, "data.sovereignty is 'on_premise' but this stack creates a cloud resource"))
        elif ctx.allowed_regions is not None and r["type"].startswith("pulumi:providers:aws") and not region:
            out.append(_v("sovereignty", r, "AWS provider has no explicit region (the ambient AWS_REGION would decide)"))
        elif ctx.allowed_regions is not None and r["custom"] and r["type"].startswith("aws:") and not region \
                and _default_provider(r):
            out.append(_v("sovereignty", r, "uses the default AWS provider (the ambient AWS_REGION would decide its "
                                            "region); create it with the stack's explicit provider"))
        elif ctx.allowed_regions is not None and isinstance(region, str) and region not in ctx.allowed_regions:
            out.append(
                _v(
                    "sovereignty",
                    r,
                    f"region '{region}' does not satisfy data.sovereignty '{ctx.sovereignty}' "
                    f"(allowed: {', '.join(ctx.allowed_regions) or 'none'})",
                )
            )
    return Finding(out, note=f"{len(cloud)} cloud resources, regions: {', '.join(sorted(regions)) or 'from provider'}")


# ---------------------------------------------------------------------------------------------------------
# exposure

_PUBLIC_SERVICE_TYPES = ("LoadBalancer", "NodePort")
_INTERNAL_LB_ANNOTATIONS = {
    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
    "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal",
    "networking.gke.io/load-balancer-type": "Internal",
    "service.beta.kubernetes.io/azure-load-balancer-internal": "true",
}
_ALB_SCHEME = "alb.ingress.kubernetes.io/scheme"
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "Pod")


def _annotations(res: Resource) -> dict[str, Any]:
    return (res["inputs"].get("metadata") or {}).get("annotations") or {}


def _pod_spec(res: Resource) -> dict[str, Any]:
    spec = res["inputs"].get("spec") or {}
    return spec if kube_kind(res) == "Pod" else ((spec.get("template") or {}).get("spec") or {})


def _helm_public_services(values: Any, path: str = "values") -> list[str]:
    """Paths in Helm values that ask for a LoadBalancer/NodePort Service."""
    found = []
    if isinstance(values, dict):
        for key, value in values.items():
            here = f"{path}.{key}"
            if key == "service" and isinstance(value, dict) and value.get("type") in _PUBLIC_SERVICE_TYPES:
                found.append(f"{here}.type={value['type']}")
            found.extend(_helm_public_services(value, here))
    return found


def check_exposure(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """Nothing reachable from outside the cluster/VPC unless `security.exposure` is public."""
    if ctx.exposure == "public":
        return Finding(note="security.exposure is 'public': public endpoints are allowed")
    out = []
    why = f"security.exposure is '{ctx.exposure}'"
    for r in graph:
        kind, inputs = kube_kind(r), r["inputs"]
        if kind == "Service":
            stype = (inputs.get("spec") or {}).get("type")
            internal = any(_annotations(r).get(k) == v for k, v in _INTERNAL_LB_ANNOTATIONS.items())
            if stype in _PUBLIC_SERVICE_TYPES and not (stype == "LoadBalancer" and internal and ctx.exposure == "internal"):
                out.append(_v("exposure", r, f"Service type {stype} exposes it outside the cluster; {why}"))
        elif kind == "Ingress":
            if ctx.exposure == "private":
                out.append(_v("exposure", r, f"an Ingress makes the model reachable from outside; {why}"))
            elif _annotations(r).get(_ALB_SCHEME) == "internet-facing":
                out.append(_v("exposure", r, f"ALB scheme internet-facing is public; {why}"))
        elif kind in _WORKLOAD_KINDS:
            pod = _pod_spec(r)
            if pod.get("hostNetwork"):
                out.append(_v("exposure", r, f"hostNetwork puts the pod on the node's network; {why}"))
            for c in pod.get("containers") or []:
                if any(p.get("hostPort") for p in c.get("ports") or []):
                    out.append(_v("exposure", r, f"container '{c.get('name')}' binds a hostPort; {why}"))
        elif r["type"].startswith("kubernetes:helm.sh/"):
            for path in _helm_public_services(inputs.get("values") or {}):
                out.append(_v("exposure", r, f"{path} exposes a chart Service outside the cluster; {why}"))
        elif r["type"] == "aws:lb/loadBalancer:LoadBalancer" and not inputs.get("internal"):
            out.append(_v("exposure", r, f"load balancer is internet-facing (internal is not true); {why}"))
        elif r["type"].startswith(("aws:ec2/securityGroup", "aws:vpc/securityGroupIngressRule")):
            if any(v in ("0.0.0.0/0", "::/0") for p, v in walk(inputs) if "cidr" in p.lower() and "egress" not in p):
                if r["type"] != "aws:ec2/securityGroupRule:SecurityGroupRule" or inputs.get("type") == "ingress":
                    out.append(_v("exposure", r, f"ingress open to the whole internet; {why}"))
    return Finding(out, note=f"{why}: no LoadBalancer/NodePort Service, hostPort or public load balancer allowed")


# ---------------------------------------------------------------------------------------------------------
# encryption


def _encrypted(r: Resource, graph: list[Resource]) -> bool | None:
    """True/False for storage and topics whose encryption is visible in the graph; None for other types."""
    t, i = r["type"], r["inputs"]
    if t in ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"):
        if i.get("serverSideEncryptionConfiguration"):
            return True
        return any(
            o["type"].startswith("aws:s3/bucketServerSideEncryptionConfiguration")
            and r["urn"] in o["options"]["depends_on"]
            for o in graph
        )
    if t == "aws:sns/topic:Topic":
        return bool(i.get("kmsMasterKeyId"))
    if t == "aws:sqs/queue:Queue":
        return bool(i.get("kmsMasterKeyId") or i.get("sqsManagedSseEnabled"))
    if t in ("aws:ebs/volume:Volume", "aws:efs/fileSystem:FileSystem"):
        return bool(i.get("encrypted"))
    if t in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        return bool(i.get("storageEncrypted"))
    if t == "aws:ec2/launchTemplate:LaunchTemplate":  # node root volumes
        volumes = [m.get("ebs") or {} for m in i.get("blockDeviceMappings") or []]
        return bool(volumes) and all(str(v.get("encrypted")).lower() == "true" for v in volumes)
    if t == "aws:eks/cluster:Cluster":  # Kubernetes Secrets, envelope-encrypted with a KMS key
        config = i.get("encryptionConfig") or {}
        return bool((config.get("provider") or {}).get("keyArn")) and "secrets" in (config.get("resources") or [])
    if t == "aws:cloudwatch/logGroup:LogGroup":
        return bool(i.get("kmsKeyId"))
    return None


def check_encryption(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """S3 buckets (SSE), SNS topics and SQS queues (KMS), EBS/EFS volumes, node root volumes, RDS storage, EKS
    Secrets and log groups are encrypted."""
    relevant = [(r, enc) for r in graph if (enc := _encrypted(r, graph)) is not None]
    if not relevant:
        return Finding(
            applicable=False,
            note="no buckets, topics, queues or cloud volumes in this stack; Kubernetes PersistentVolumeClaims "
            "(Prometheus, Alertmanager, Grafana) are encrypted by the StorageClass's disks, which the "
            "resource graph cannot show: nothing to check",
        )
    out = [_v("encryption", r, "not encrypted at rest (set SSE/KMS encryption)") for r, enc in relevant if not enc]
    return Finding(out, note=f"{len(relevant)} storage/topic resources checked")


# ---------------------------------------------------------------------------------------------------------
# public access and instance metadata

_BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
_OPEN = ("0.0.0.0/0", "::/0")


def check_public_access(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """Every S3 bucket blocks public access (all four settings); an EKS API endpoint is public only when
    security.exposure is, and then never open to the whole internet."""
    out = []
    buckets = [r for r in graph if r["type"] in _BUCKETS]
    blocks = [r for r in graph if r["type"] == _PUBLIC_ACCESS_BLOCK]
    for bucket in buckets:
        mine = [b for b in blocks if bucket["urn"] in b["options"]["depends_on"]]
        missing = sorted({f for f in _PUBLIC_ACCESS_FLAGS if not any(b["inputs"].get(f) is True for b in mine)})
        if not mine:
            out.append(_v("public-access", bucket, "no public access block (set all four: " +
                          ", ".join(_PUBLIC_ACCESS_FLAGS) + ")"))
        elif missing:
            out.append(_v("public-access", bucket, f"public access block leaves {', '.join(missing)} off"))
    clusters = [r for r in graph if r["type"] == "aws:eks/cluster:Cluster"]
    for cluster in clusters:
        vpc = cluster["inputs"].get("vpcConfig") or {}
        if not vpc.get("endpointPublicAccess"):
            continue
        cidrs = list(vpc.get("publicAccessCidrs") or [])
        if ctx.exposure != "public":
            out.append(_v("public-access", cluster, f"public API endpoint while security.exposure is '{ctx.exposure}'"))
        if not cidrs or any(c in _OPEN for c in cidrs):
            out.append(_v("public-access", cluster, "public API endpoint open to the whole internet (set an allow-list)"))
    if not buckets and not clusters:
        return Finding(applicable=False, note="no buckets or clusters in this stack")
    return Finding(out, note=f"{len(buckets)} buckets, {len(clusters)} cluster API endpoints checked")


def check_instance_metadata(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """Nodes require IMDSv2 with a hop limit of 1 (pods cannot reach the node role's credentials): every EKS
    node group runs from a launch template that says so."""
    templates = {r["urn"]: r for r in graph if r["type"] == "aws:ec2/launchTemplate:LaunchTemplate"}
    groups = [r for r in graph if r["type"] == "aws:eks/nodeGroup:NodeGroup"]
    if not groups and not templates:
        return Finding(applicable=False, note="no EC2 nodes in this stack")
    out = []
    for t in templates.values():
        meta = t["inputs"].get("metadataOptions") or {}
        if meta.get("httpTokens") != "required":
            out.append(_v("imds", t, "IMDSv1 allowed (metadataOptions.httpTokens is not 'required')"))
        if meta.get("httpPutResponseHopLimit", 2) > 1:
            out.append(_v("imds", t, "metadata hop limit above 1 lets pods reach the node's credentials"))
    for g in groups:
        if not any(u in templates for u in g["options"]["depends_on"]):
            out.append(_v("imds", g, "node group without a launch template of this stack (IMDSv2 not enforced)"))
    return Finding(out, note=f"{len(groups)} node groups, {len(templates)} launch templates checked")


# ---------------------------------------------------------------------------------------------------------
# secrets


def check_no_plain_secrets(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """No secret value in plain inputs: secret config values, secret-named fields, credential-shaped literals."""
    out = []
    for r in graph:
        is_secret_object = kube_kind(r) == "Secret"
        for path, value in walk(r["inputs"]):
            if not isinstance(value, str) or not value or value == SECRET_MARK:
                continue
            leaked = [k for k, s in ctx.secret_values if s and s in value]
            if leaked:
                out.append(_v("secrets", r, f"{path} holds the value of secret config key '{leaked[0]}' in plain text"))
            elif looks_like_secret(value):
                out.append(_v("secrets", r, f"{path} holds a credential-shaped literal (webhook URL with its token)"))
            elif not is_secret_object and is_secret_input_key(path.rsplit(".", 1)[-1].split("[")[0]):
                if not value.startswith("/"):  # a file path reference is fine
                    out.append(_v("secrets", r, f"{path} is a secret field with a literal value"))
        if is_secret_object and ctx.secrets_marked:
            for key in ("data", "stringData"):
                data = r["inputs"].get(key)
                if data not in (None, SECRET_MARK) and any(v != SECRET_MARK for _p, v in walk(data)):
                    out.append(_v("secrets", r, f"{key} of a Kubernetes Secret is not a Pulumi secret"))
    note = f"{len(ctx.secret_values)} secret config values searched" if ctx.secret_values else "secret-named fields"
    return Finding(out, note=f"{note}, secret-named fields and credential-shaped literals in {len(graph)} resources")


# ---------------------------------------------------------------------------------------------------------
# protection


def check_protection(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """In production, stateful resources (namespaces, volumes, buckets, the monitoring release) have protect=True."""
    stateful = [r for r in graph if is_stateful(r["type"])]
    if not ctx.protect_stateful:
        return Finding(
            applicable=False,
            note=f"tier '{ctx.tier}': protection not required ({len(stateful)} stateful resources)",
        )
    out = [_v("protect", r, "stateful resource without protect=True in production") for r in stateful
           if not r["options"]["protect"]]
    return Finding(out, note=f"{len(stateful)} stateful resources must be protected (tier '{ctx.tier}')")


# ---------------------------------------------------------------------------------------------------------
# explicit provider and unique Kubernetes objects


def check_explicit_provider(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """Kubernetes resources use an explicit provider bound to a context/kubeconfig, never the ambient one."""
    providers = {r["urn"]: r for r in graph if r["type"] == "pulumi:providers:kubernetes"}
    kube = [r for r in graph if r["custom"] and r["type"].startswith("kubernetes:")]
    if not kube:
        return Finding(applicable=False, note="no Kubernetes resources")
    out = []
    for r in kube:
        prov = providers.get(r["provider"] or "")
        if prov is None:
            out.append(_v("provider", r, "uses the default Kubernetes provider (the ambient kubectl context)"))
        elif not (prov["inputs"].get("context") or prov["inputs"].get("kubeconfig")):
            out.append(_v("provider", r, f"provider {prov['name']} has neither context nor kubeconfig"))
    contexts = sorted({str(p["inputs"].get("context") or "kubeconfig") for p in providers.values()})
    return Finding(out, note=f"{len(kube)} Kubernetes resources; provider context: {', '.join(contexts) or '-'}")


def check_unique_objects(graph: list[Resource], ctx: GuardrailContext) -> Finding:
    """No two Pulumi resources manage the same Kubernetes object (they would fight over it)."""
    owners: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
    for r in graph:
        key = kube_object_key(r)
        if key:
            owners[key].append(r)
    out = [
        _v("unique", rs[1], f"{k[0]} {k[1] + '/' if k[1] else ''}{k[2]} is also managed by {rs[0]['name']}")
        for k, rs in sorted(owners.items())
        if len(rs) > 1
    ]
    return Finding(out, applicable=bool(owners), note=f"{len(owners)} Kubernetes objects")


# ---------------------------------------------------------------------------------------------------------

CheckFn = Callable[[list[Resource], GuardrailContext], Finding]

CHECKS: tuple[tuple[str, str, CheckFn], ...] = (
    ("sovereignty", "every region satisfies data sovereignty", check_sovereignty),
    ("exposure", "nothing public unless exposure is public", check_exposure),
    ("encryption", "storage and topics encrypted", check_encryption),
    ("public-access", "buckets block public access; cluster API private or allow-listed", check_public_access),
    ("imds", "nodes require IMDSv2, hop limit 1", check_instance_metadata),
    ("secrets", "no secret value in plain inputs", check_no_plain_secrets),
    ("protect", "stateful resources protected in production", check_protection),
    ("provider", "explicit Kubernetes provider (no ambient context)", check_explicit_provider),
    ("unique", "each Kubernetes object managed once", check_unique_objects),
)


def run_check(check_id: str, graph: list[Resource], ctx: GuardrailContext) -> CheckResult:
    for cid, title, fn in CHECKS:
        if cid == check_id:
            found = fn(graph, ctx)
            status: Status = "fail" if found.violations else ("pass" if found.applicable else "n/a")
            return CheckResult(cid, title, status, found.note, tuple(found.violations))
    raise KeyError(f"unknown guardrail '{check_id}'; known: {', '.join(c[0] for c in CHECKS)}")


def run_guardrails(graph: list[Resource], ctx: GuardrailContext) -> list[CheckResult]:
    """Every guardrail over one stack's graph, in a fixed order."""
    return [run_check(cid, graph, ctx) for cid, _title, _fn in CHECKS]
