"""What the scaffold templates need from a profile, as plain data (no Pulumi, no file system)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, requires

from mlinfra import __version__
from mlinfra.manifests.artifacts import CREDENTIAL_FILE_TITLES, CREDENTIAL_FILES
from mlinfra.monitoring.operations import DashboardOf, ModelOperations, operations
from mlinfra.planning.specs import EnvironmentPlan
from mlinfra.profiles.environments import all_environments
from mlinfra.profiles.model import Profile
from mlinfra.targets.base import Target

CONFIG_NAMESPACE = "mlinfra"  # namespace of mlinfra:profile (secrets live in the project's own namespace)
PROFILE_FILE = "profile.yaml"  # where the scaffold keeps the team's profile
POLICY_PACK_DIR = "policypack"  # the guardrails as a Pulumi policy pack, served from the installed mlinfra
PULUMI_EXTRA = "pulumi"


@dataclass(frozen=True)
class SecretRef:
    """A secret the profile names by key: set once per stack with `pulumi config set --secret`."""

    key: str
    what: str
    paths: tuple[str, ...]  # profile fields that reference it
    every_stack: bool = False  # every stack reads it (artifact credentials), not only the monitoring stack's owner
    from_file: str | None = None  # a multi-line value: set it from this file (`... KEY < FILE`)

    @property
    def config_key(self) -> str:
        """Unqualified on purpose: Pulumi stores it as <project>:<key>, the namespace the components read
        (`pulumi.Config()`), whatever the project is called."""
        return self.key


@dataclass(frozen=True)
class EnvironmentView:
    name: str
    tier: str
    protect: bool
    alerts_page: bool
    target: str | None  # what the program deploys in this stack (the resolver's target; config may pin another)
    # the environment whose stack installs the monitoring stack of this one's cluster, when that is another one
    # (environments on one on-premise cluster share one; planning.plan.monitoring_share): deploy it first
    monitoring_owner: str | None = None

    @property
    def job_id(self) -> str:
        """GitHub job ids start with a letter or '_'; environment names may start with a digit."""
        return f"deploy-{self.name}"


@dataclass(frozen=True)
class ScaffoldContext:
    project: str
    version: str
    profile_file: str
    environments: tuple[EnvironmentView, ...]
    secrets: tuple[SecretRef, ...]
    requirements: tuple[str, ...]
    pulumi_cli: str  # version range for pulumi/actions' pulumi-version input
    target: str | None  # the resolved target every stack deploys (None: nothing feasible)
    aws_region: str | None  # the profile has an AWS account (cloud targets, S3 state): CI assumes a role here
    kube_context: str | None  # the target deploys to an existing cluster: CI writes its kubeconfig
    kube_contexts: tuple[str, ...] = ()  # every context the stacks use (environments.<env>.kube_context)
    python_version: str = "3.11"
    operations: tuple[ModelOperations, ...] = ()  # per model: owner, alert routes, runbook, escalation, dashboards

    def as_template_vars(self) -> dict[str, object]:
        return {
            "project": self.project,
            "version": self.version,
            "profile_file": self.profile_file,
            "environments": self.environments,
            "secrets": self.secrets,
            "requirements": self.requirements,
            "pulumi_cli": self.pulumi_cli,
            "target": self.target,
            "aws_region": self.aws_region,
            "kube_context": self.kube_context,
            "kube_contexts": self.kube_contexts or ((self.kube_context,) if self.kube_context else ()),
            "python_version": self.python_version,
            "config_namespace": CONFIG_NAMESPACE,
            "deploy_order": deploy_order(self.environments),
            "policy_pack": POLICY_PACK_DIR,
            "operations": self.operations,
        }


def deploy_order(environments: tuple[EnvironmentView, ...]) -> tuple[EnvironmentView, ...]:
    """The environments in the order the deploy workflow runs them: the declared order, except that the environment
    whose stack installs a shared cluster's monitoring stack (and the CRDs the others' rules need) comes before the
    environments sharing that cluster - on a fresh cluster, they fail without it."""
    by_name = {e.name: e for e in environments}
    order: list[EnvironmentView] = []

    def place(env: EnvironmentView) -> None:
        if env in order:
            return
        owner = by_name.get(env.monitoring_owner or "")
        if owner is not None:
            place(owner)
        order.append(env)

    for env in environments:
        place(env)
    return tuple(order)


_NOTIFY_SECRET_FIELDS = {
    "slack": ("webhook_secret", "Slack incoming-webhook URL"),
    "msteams": ("webhook_secret", "Microsoft Teams webhook URL"),
    "webhook": ("url_secret", "webhook URL"),
    "pagerduty": ("routing_key_secret", "PagerDuty Events API v2 routing key"),
}


def secret_refs(
    profile: Profile, ignored: tuple[str, ...] = (), artifact_kinds: tuple[str, ...] = tuple(CREDENTIAL_FILES)
) -> tuple[SecretRef, ...]:
    """Every secret key models[].artifact_credentials_secret, monitoring.notify, owners.*.notify, monitoring.smtp,
    monitoring.remote_write and monitoring.grafana_admin_password_secret reference, in profile order, merged by key (the same keys as
    guardrails.secrets.secret_config_keys; a test holds them equal for the examples), except those only `ignored`
    fields (a target's ignores_secret_fields) name and artifact credentials of kinds the target does not read
    (Target.artifact_credential_kinds: a workload identity reaches them)."""
    found: dict[str, tuple[str, list[str]]] = {}
    files: dict[str, str] = {}  # artifact credential key -> the file its value comes from
    for i, model in enumerate(profile.models):
        kind = model.artifact.split("://", 1)[0]
        key = model.artifact_credentials_secret
        if key and kind in artifact_kinds:
            found.setdefault(key, (f"{model.name}'s artifact credentials ({CREDENTIAL_FILE_TITLES[kind]})", []))
            found[key][1].append(f"models[{i}].artifact_credentials_secret")
            files.setdefault(key, f"{model.name}-{CREDENTIAL_FILES[kind]}")
    for i, notify in enumerate(profile.monitoring.notify):
        spec = _NOTIFY_SECRET_FIELDS.get(notify.type)
        if spec is None:
            continue
        field, what = spec
        key = getattr(notify, field)
        found.setdefault(key, (what, []))[1].append(f"monitoring.notify[{i}].{field}")
    for name, owner in profile.owners.items():
        for i, notify in enumerate(owner.notify):
            spec = _NOTIFY_SECRET_FIELDS.get(notify.type)
            if spec is not None:
                field, what = spec
                found.setdefault(getattr(notify, field), (f"{what} ({name})", []))[1].append(
                    f"owners.{name}.notify[{i}].{field}"
                )
    smtp_key = profile.monitoring.smtp.auth_password_secret if profile.monitoring.smtp else None
    if smtp_key:
        found.setdefault(smtp_key, ("SMTP password", []))[1].append("monitoring.smtp.auth_password_secret")
    remote_write = profile.monitoring.remote_write
    if remote_write is not None and remote_write.credentials_secret:
        what = "password" if remote_write.auth == "basic" else "token"
        found.setdefault(remote_write.credentials_secret, (
            f"remote-write {what} of the {remote_write.kind} store (Kubernetes targets)", []))[1].append(
            "monitoring.remote_write.credentials_secret")
    api_keys = profile.security.api_keys_key
    if api_keys:
        found.setdefault(api_keys, ("the models' API keys, one per line (Kubernetes targets)", []))[1].append(
            "security.api_keys_secret"
        )
    grafana_key = profile.monitoring.grafana_admin_password_secret  # always set (default grafanaAdminPassword)
    found.setdefault(grafana_key, ("Grafana admin password (user admin; Kubernetes targets)", []))[1].append(
        "monitoring.grafana_admin_password_secret"
    )
    return tuple(
        SecretRef(key=k, what=w, paths=tuple(p), every_stack=k in files, from_file=files.get(k))
        for k, (w, p) in found.items()
        if not set(p) <= set(ignored)
    )


def release_requirements() -> tuple[str, ...]:
    """requirements.txt lines pinning this release: mlinfra[pulumi]==X plus the Pulumi SDK ranges it declares."""
    try:
        declared = requires("mlinfra") or []
    except PackageNotFoundError:  # pragma: no cover - mlinfra always runs installed
        declared = []
    pulumi_pins = []
    for req in declared:
        spec, _, marker = req.partition(";")
        if f'extra == "{PULUMI_EXTRA}"' in marker.replace("'", '"'):
            pulumi_pins.append(_normalise(spec.strip()))
    return (f"mlinfra[{PULUMI_EXTRA}]=={__version__}", *sorted(pulumi_pins, key=_name_of))


def _name_of(spec: str) -> str:
    return spec[: next((i for i, ch in enumerate(spec) if ch in "<>=!~ ("), len(spec))]


def pulumi_cli_range(requirements: tuple[str, ...]) -> str:
    """Pulumi CLI the workflows install: the SDK's lower bound or newer within the major ('^3.272.0')."""
    for line in requirements:
        if _name_of(line) == "pulumi":
            for part in line[len("pulumi"):].split(","):
                if part.startswith(">="):
                    numbers = (part[2:].split(".") + ["0", "0"])[:3]
                    return "^" + ".".join(numbers)
    return "^3"


def _normalise(spec: str) -> str:
    """'pulumi<4,>=3.272' -> 'pulumi>=3.272,<4' (lower bound first, as people write it)."""
    name = _name_of(spec)
    rest = spec[len(name) :].strip().strip("()")
    parts = sorted((p.strip() for p in rest.split(",") if p.strip()), key=lambda p: (not p.startswith(">"), p))
    return name + ",".join(parts)


def build_context(profile: Profile, target: Target | None) -> ScaffoldContext:
    """Template data for `profile`, deployed with `target` (the resolver's; None: nothing feasible)."""
    settings = all_environments(profile)
    plans = {e.name: target.plan(profile, e.name) for e in settings} if target else {}
    envs = tuple(
        EnvironmentView(
            name=e.name, tier=e.tier, protect=e.protect, alerts_page=e.alerts_page,
            target=target.name if target else None, monitoring_owner=_monitoring_owner(plans.get(e.name)),
        )
        for e in settings
    )
    if target is None and profile.onprem:  # nothing decided: a stack may still pin the declared cluster's target
        contexts = tuple(sorted({e.kube_context for e in settings if e.kube_context}))
    else:
        contexts = tuple(sorted({p.kube_context for p in plans.values() if p.kube_context}))
    requirements = release_requirements()
    return ScaffoldContext(
        project=profile.name,
        version=__version__,
        profile_file=PROFILE_FILE,
        environments=envs,
        secrets=secret_refs(profile, target.ignores_secret_fields, target.artifact_credential_kinds) if target
        else secret_refs(profile),
        requirements=requirements,
        pulumi_cli=pulumi_cli_range(requirements),
        target=target.name if target else None,
        aws_region=profile.cloud.region if profile.cloud else None,
        kube_context=profile.onprem.kube_context if contexts and profile.onprem else (contexts[0] if contexts else None),
        kube_contexts=contexts,
        operations=tuple(operations(profile, dashboard_of(profile, target))),
    )


def dashboard_of(profile: Profile, target: Target | None) -> DashboardOf | None:
    """Where `target` puts each model's dashboard (Target.dashboard), for the Operations sections."""
    if target is None:
        return None
    return lambda env, model: target.dashboard(profile, env, model)


def _monitoring_owner(plan: EnvironmentPlan | None) -> str | None:
    """The environment whose stack installs this one's cluster monitoring stack, when it is another one."""
    if plan is None or plan.kube_context is None:
        return None
    owner = plan.monitoring.stack_owner
    return owner if owner != plan.environment else None
