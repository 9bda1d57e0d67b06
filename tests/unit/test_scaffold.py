"""scaffold: what `mlinfra init` generates (secret keys, pins, stack files, workflows, Pulumi.yaml) and the
manifest rules that protect edited files. Generated YAML goes through yamllint and the Pulumi project schema."""

from __future__ import annotations

import hashlib
import json
import tomllib
from pathlib import Path

import jsonschema
import pytest
import yaml
from yamllint import linter
from yamllint.config import YamlLintConfig

from mlinfra import __version__
from mlinfra.decision.adr import render_adr
from mlinfra.targets.registry import get_target
from mlinfra.targets.resolve import decision_for as decide
from mlinfra.guardrails.secrets import secret_config_keys
from mlinfra.profiles import load_profile, profile_from_data
from mlinfra.files.writer import WriteError
from mlinfra.scaffold import MANIFEST, generate, write_scaffold
from mlinfra.scaffold.context import build_context, dashboard_of, pulumi_cli_range, release_requirements, secret_refs
from mlinfra.scaffold.render import ADR_PATH, GeneratedFile

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = {
    "churn-scoring": REPO / "stacks" / "profile.yaml",
    "claims-vision": REPO / "docs" / "examples" / "gpu-onprem.yaml",
    "reco-api": REPO / "docs" / "examples" / "bursty-cloud.yaml",
}
YAMLLINT = YamlLintConfig("extends: relaxed\nrules:\n  line-length: {max: 120}\n")
# pulumi/actions' current major and its inputs (from its action.yml; the file says where and when)
PULUMI_ACTIONS = json.loads((Path(__file__).parent / "pulumi_actions.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated() -> dict[str, dict[str, bytes]]:
    """Example name -> {path: bytes} of the scaffold (decide runs once per example)."""
    out = {}
    for name, path in EXAMPLES.items():
        out[name] = {f.path: f.content for f in generate(path, load_profile(str(path)))}
    return out


def _base(**changes) -> dict:
    data = yaml.safe_load(EXAMPLES["churn-scoring"].read_text())
    data.update(changes)
    return data


# --- secret keys ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("example", "expected"),
    [
        pytest.param(
            "churn-scoring",
            [("slackWebhookUrl", ("monitoring.notify[1].webhook_secret",)), ("grafanaAdminPassword", ("monitoring.grafana_admin_password_secret",))],
            id="slack",
        ),
        pytest.param(
            "reco-api",
            [
                ("slackWebhookUrl", ("monitoring.notify[1].webhook_secret",)),
                ("smtpPassword", ("monitoring.smtp.auth_password_secret",)),
                ("modelApiKeys", ("security.api_keys_secret",)),  # authentication api_key: the gate's keys
                ("grafanaAdminPassword", ("monitoring.grafana_admin_password_secret",)),
            ],
            id="slack-and-smtp",
        ),
        pytest.param(
            "claims-vision",
            [
                ("pagerdutyRoutingKey", ("monitoring.notify[0].routing_key_secret",)),
                ("teamsWebhookUrl", ("monitoring.notify[1].webhook_secret",)),
                ("incidentWebhookUrl", ("monitoring.notify[2].url_secret",)),
                ("grafanaAdminPassword", ("monitoring.grafana_admin_password_secret",)),
            ],
            id="pagerduty-teams-webhook",
        ),
    ],
)
def test_secret_keys_of_examples(example: str, expected: list):
    refs = secret_refs(load_profile(str(EXAMPLES[example])))
    assert [(r.key, r.paths) for r in refs] == expected
    assert all(r.config_key == r.key for r in refs), "project namespace, where pulumi.Config() reads it"
    # the scaffold asks for exactly the keys the program reads and preview fakes (every `*_secret` field)
    assert sorted(r.key for r in refs) == secret_config_keys(load_profile(str(EXAMPLES[example])))


def test_secret_key_used_twice_is_listed_once_with_both_fields():
    monitoring = {
        "notify": [
            {"type": "slack", "webhook_secret": "opsHook"},
            {"type": "webhook", "url_secret": "opsHook"},
            {"type": "email", "to": "a@example.com"},
        ],
        "smtp": {"smarthost": "smtp.example.com:587", "from_address": "am@example.com", "auth_username": "u",
                 "auth_password_secret": "mailPw"},
        "grafana_admin_password_secret": "mailPw",
    }
    refs = secret_refs(profile_from_data(_base(monitoring=monitoring), "mem.yaml"))
    assert [(r.key, r.what, r.paths) for r in refs] == [
        ("opsHook", "Slack incoming-webhook URL", ("monitoring.notify[0].webhook_secret", "monitoring.notify[1].url_secret")),
        ("mailPw", "SMTP password", ("monitoring.smtp.auth_password_secret", "monitoring.grafana_admin_password_secret")),
    ]


def test_a_target_is_not_asked_for_secrets_it_never_reads():
    """SageMaker has no Grafana and mails through SNS: init lists neither key for it; a key another field also
    names stays."""
    from mlinfra.targets.aws_sagemaker import AwsSageMaker

    monitoring = {
        "notify": [{"type": "slack", "webhook_secret": "opsHook"}, {"type": "email", "to": "a@example.com"}],
        "smtp": {"smarthost": "smtp.example.com:587", "from_address": "am@example.com", "auth_username": "u",
                 "auth_password_secret": "mailPw"},
        "grafana_admin_password_secret": "opsHook",
    }
    profile = profile_from_data(_base(monitoring=monitoring), "mem.yaml")
    ignored = AwsSageMaker.ignores_secret_fields
    assert [r.key for r in secret_refs(profile)] == ["opsHook", "mailPw"]
    assert [(r.key, r.paths) for r in secret_refs(profile, ignored)] == [
        ("opsHook", ("monitoring.notify[0].webhook_secret", "monitoring.grafana_admin_password_secret"))]


# --- pins ---------------------------------------------------------------------------------------------------


def _canonical(spec: str) -> tuple[str, frozenset[str]]:
    name_end = next(i for i, ch in enumerate(spec) if ch in "<>=!~")
    return spec[:name_end], frozenset(p.strip() for p in spec[name_end:].split(","))


def test_requirements_pin_this_release_and_the_pulumi_extra_of_pyproject():
    lines = release_requirements()
    assert lines[0] == f"mlinfra[pulumi]=={__version__}"
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["pulumi"]
    assert {_canonical(s) for s in lines[1:]} == {_canonical(s) for s in declared}, (
        "requirements.txt comes from the installed metadata: after editing pyproject, `.venv/bin/pip install -e .`"
    )
    assert lines[1].startswith("pulumi>="), "lower bound first, as people write it"


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        pytest.param(("pulumi>=3.272,<4",), "^3.272.0", id="minor"),
        pytest.param(("pulumi-aws>=7.51,<8", "pulumi>=3.1.7,<4"), "^3.1.7", id="patch"),
        pytest.param(("pulumi-aws>=7.51,<8",), "^3", id="none"),
    ],
)
def test_pulumi_cli_range(lines, expected):
    assert pulumi_cli_range(lines) == expected


# --- generated files ------------------------------------------------------------------------------------------


def test_file_list_and_order(generated):
    assert list(generated["churn-scoring"]) == [
        "profile.yaml",
        "Pulumi.yaml",
        "__main__.py",
        "requirements.txt",
        "stacks/Pulumi.dev.yaml",
        "stacks/Pulumi.staging.yaml",
        "stacks/Pulumi.prod.yaml",
        "policypack/PulumiPolicy.yaml",
        "policypack/__main__.py",
        ".github/workflows/preview.yml",
        ".github/workflows/deploy.yml",
        ADR_PATH,
        "README.md",
        ".gitignore",
    ]
    assert [p for p in generated["reco-api"] if p.startswith("stacks/")] == [
        "stacks/Pulumi.dev.yaml",
        "stacks/Pulumi.prod.yaml",
    ]


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_profile_is_copied_byte_for_byte_and_output_is_deterministic(example, generated):
    assert generated[example]["profile.yaml"] == EXAMPLES[example].read_bytes()
    again = {f.path: f.content for f in generate(EXAMPLES[example], load_profile(str(EXAMPLES[example])))}
    assert again == generated[example]


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_adr_is_the_decision_record_of_the_same_decision(example, generated):
    profile = load_profile(str(EXAMPLES[example]))
    decision = decide(profile)
    target = get_target(decision.target) if decision.target else None
    assert generated[example][ADR_PATH].decode() == render_adr(decision, profile,
                                                               dashboard_of=dashboard_of(profile, target))


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_pulumi_yaml_matches_the_project_schema(example, generated, shared_dir: Path):
    schema = json.loads((shared_dir / "schemas" / "pulumi-project.json").read_text())
    project = yaml.safe_load(generated[example]["Pulumi.yaml"])
    jsonschema.validate(project, schema)
    assert project["name"] == example
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}}
    assert project["stackConfigDir"] == "stacks"


def test_pulumi_schema_check_catches_a_broken_project(shared_dir: Path):
    schema = json.loads((shared_dir / "schemas" / "pulumi-project.json").read_text())
    with pytest.raises(jsonschema.ValidationError, match="'name' is a required property"):
        jsonschema.validate({"runtime": "python"}, schema)


def test_stack_files_name_the_profile_and_the_secret_commands(generated):
    files = generated["reco-api"]
    for env in ("dev", "prod"):
        text = files[f"stacks/Pulumi.{env}.yaml"].decode()
        assert yaml.safe_load(text) == {"config": {"mlinfra:profile": "profile.yaml"}}
        assert f"#   pulumi stack init {env}\n" in text
        # reco-api deploys on aws-sagemaker: no Grafana, alerts mail through SNS, so only the Slack relay's key
        assert (
            f"#   pulumi config set --secret -s {env} slackWebhookUrl\n"
            "#       Slack incoming-webhook URL, named in monitoring.notify[1].webhook_secret\n"
            "config:"
        ) in text
        assert "smtpPassword" not in text and "grafanaAdminPassword" not in text
    assert "prod tier, stateful resources protected, critical alerts page" in files["stacks/Pulumi.prod.yaml"].decode()
    profile = load_profile(str(EXAMPLES["reco-api"]))
    chosen = decide(profile).target
    for env in ("dev", "prod"):
        stack = files[f"stacks/Pulumi.{env}.yaml"].decode()
        if chosen:
            assert f"# Deploys on {chosen} (what `mlinfra decide` chooses today" in stack
        else:
            assert "# Deploys on" not in stack and "no target is feasible" in stack
    assert "dev tier." in files["stacks/Pulumi.dev.yaml"].decode()


def test_artifact_credentials_are_set_in_every_stack(tmp_path):
    """An s3:// model's credentials key is read by every stack that deploys the model on premise, the owner of the
    monitoring stack or not: each stack file and the README say how to set it from the file."""
    data = yaml.safe_load(EXAMPLES["claims-vision"].read_text())
    data["models"][1]["artifact_credentials_secret"] = "assistantArtifactConfig"
    path = tmp_path / "profile.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    files = {f.path: f.content.decode() for f in generate(path, load_profile(str(path)))}
    line = "#   pulumi config set --secret -s {env} assistantArtifactConfig < claims-assistant-config\n"
    dev, prod = files["stacks/Pulumi.dev.yaml"], files["stacks/Pulumi.prod.yaml"]
    assert line.format(env="dev") in dev and line.format(env="prod") in prod
    assert "needs no monitoring secret config; deploy prod first." in dev
    assert "grafanaAdminPassword" not in dev and "#   pulumi config set --secret -s prod grafanaAdminPassword\n" in prod
    readme = files["README.md"]
    for env in ("dev", "prod"):
        assert f"pulumi config set --secret -s {env} assistantArtifactConfig < claims-assistant-config    # " \
               "claims-assistant's artifact credentials (AWS CLI config file)" in readme
    assert "pulumi config set --secret -s dev grafanaAdminPassword" not in readme
    keys = [r.key for r in secret_refs(load_profile(str(path)))]
    assert keys[0] == "assistantArtifactConfig" and sorted(keys) == secret_config_keys(load_profile(str(path)))


def test_environments_sharing_a_cluster_deploy_its_monitoring_owner_first(generated):
    """claims-vision runs dev and prod on one on-premise cluster: prod installs its monitoring stack, so only
    prod sets secrets, and dev's stack file, the README and the deploy workflow say to deploy prod first."""
    files = {path: content.decode() for path, content in generated["claims-vision"].items()}
    dev, prod = files["stacks/Pulumi.dev.yaml"], files["stacks/Pulumi.prod.yaml"]
    assert "config set --secret" not in dev
    assert "# Shares its cluster with prod: the stack prod installs the cluster's monitoring stack" in dev
    assert "needs no secret config; deploy prod first." in dev
    assert "#   pulumi config set --secret -s prod grafanaAdminPassword\n" in prod and "Shares its cluster" not in prod
    readme = files["README.md"]
    assert "pulumi config set --secret -s dev" not in readme
    assert "pulumi config set --secret -s prod teamsWebhookUrl    # Microsoft Teams webhook URL\n" in readme
    assert "- `dev` shares the cluster of `prod`: `pulumi up -s prod` before the first `pulumi up -s dev`.\n" in readme
    assert "dev's rules need): prod deploys first." in files[".github/workflows/deploy.yml"]
    # reco-api has no cluster and no deployable target: no environment shares anything
    assert "shares the cluster" not in generated["reco-api"][".github/workflows/deploy.yml"].decode()


def test_kubeconfig_names_every_context_the_stacks_use():
    data = yaml.safe_load(EXAMPLES["claims-vision"].read_text())
    data["environments"]["dev"] = {"kube_context": "lab-gpu"}
    ctx = build_context(profile_from_data(data, "mem.yaml"), get_target("onprem-k8s"))
    assert ctx.kube_contexts == ("dc1-gpu", "lab-gpu")
    assert [e.monitoring_owner for e in ctx.environments] == [None, None], "dev on its own cluster owns its stack"


def test_main_py_runs_the_installed_program(generated):
    text = generated["churn-scoring"]["__main__.py"].decode()
    compile(text, "__main__.py", "exec")
    assert "from mlinfra.program import main\n\nmain()\n" in text


def test_requirements_txt(generated):
    lines = [ln for ln in generated["claims-vision"]["requirements.txt"].decode().splitlines() if not ln.startswith("#")]
    assert lines == list(release_requirements())


@pytest.mark.parametrize("example", list(EXAMPLES))
def test_generated_yaml_passes_yamllint(example, generated):
    problems = {
        path: [f"{p.line}:{p.column} {p.level} {p.message}" for p in linter.run(content.decode(), YAMLLINT)]
        for path, content in generated[example].items()
        if path.endswith((".yaml", ".yml")) and path != "profile.yaml"
    }
    assert {p: v for p, v in problems.items() if v} == {}


def test_yamllint_config_reports_a_broken_file():
    found = list(linter.run("a: 1\na: 2\nb: [1,  2\n", YAMLLINT))
    assert found and found[0].level == "error"


def test_preview_workflow_has_one_preview_per_environment(generated):
    wf = yaml.safe_load(generated["churn-scoring"][".github/workflows/preview.yml"])
    assert list(wf[True]) == ["pull_request"]  # `on` is YAML 1.1 true for PyYAML
    job = wf["jobs"]["preview"]
    assert job["strategy"]["matrix"]["stack"] == ["dev", "staging", "prod"]
    pulumi = [s for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert pulumi == [
        {
            "name": "pulumi preview, with the guardrails as a policy pack",
            "uses": f"pulumi/actions@{PULUMI_ACTIONS['major']}",
            "with": {
                "command": "preview",
                "stack-name": "${{ matrix.stack }}",
                "cloud-url": "${{ secrets.PULUMI_BACKEND_URL }}",
                "pulumi-version": "^3.165.0",  # pyproject's lower bound
                "policyPacks": "policypack",
                "comment-on-pr": True,
                "github-token": "${{ secrets.GITHUB_TOKEN }}",
            },
            "env": {
                "PULUMI_CONFIG_PASSPHRASE": "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
                "PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}",
            },
        }
    ]
    decision = wf["jobs"]["decision"]["steps"]
    assert any("venv/bin/mlinfra decide profile.yaml --format table" in s.get("run", "") for s in decision)
    assert any(s.get("uses") == "actions/github-script@v7" for s in decision)
    assert wf["permissions"] == {"contents": "read", "pull-requests": "write", "id-token": "write"}


def test_every_action_is_pinned_to_a_version(generated):
    for example in EXAMPLES:
        for path in (".github/workflows/preview.yml", ".github/workflows/deploy.yml"):
            wf = yaml.safe_load(generated[example][path])
            uses = [s["uses"] for job in wf["jobs"].values() for s in job["steps"] if "uses" in s]
            assert uses and all("@v" in u for u in uses), (example, path, uses)


@pytest.mark.parametrize(
    ("example", "order"),
    [
        pytest.param("churn-scoring", ["dev", "staging", "prod"], id="three-envs"),
        pytest.param("reco-api", ["dev", "prod"], id="two-envs"),
    ],
)
def test_deploy_workflow_runs_environments_in_order_behind_github_environments(example, order, generated):
    wf = yaml.safe_load(generated[example][".github/workflows/deploy.yml"])
    assert wf[True] == {"push": {"branches": ["main"]}, "workflow_dispatch": None}
    jobs = wf["jobs"]
    assert list(jobs) == [f"deploy-{e}" for e in order]
    for i, env in enumerate(order):
        job = jobs[f"deploy-{env}"]
        assert job["environment"] == env
        assert job.get("needs") == (f"deploy-{order[i - 1]}" if i else None)
        up = job["steps"][-1]
        assert up["uses"] == f"pulumi/actions@{PULUMI_ACTIONS['major']}"
        assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", env)
    assert '# prod waits for approval: give the GitHub environment "prod" required reviewers' in (
        generated[example][".github/workflows/deploy.yml"].decode()
    )


@pytest.mark.parametrize(
    ("example", "aws", "kube"),
    [
        pytest.param("churn-scoring", True, False, id="sagemaker-decided-onprem-cluster-declared"),
        pytest.param("claims-vision", False, True, id="onprem-kubeconfig-no-aws"),
        pytest.param("reco-api", True, False, id="cloud-only"),
    ],
)
def test_ci_credentials_follow_the_profile_and_the_decided_target(example, aws, kube, generated):
    text = generated[example][".github/workflows/deploy.yml"].decode()
    assert ("aws-actions/configure-aws-credentials@v4" in text) is aws
    assert ("secrets.KUBECONFIG" in text) is kube


def test_readme_lists_commands_for_every_environment(generated):
    text = generated["churn-scoring"]["README.md"].decode()
    for env in ("dev", "staging", "prod"):
        assert f"pulumi stack init {env}\n" in text
        assert f"pulumi preview -s {env}\npulumi up -s {env}\n" in text
    # it decides aws-sagemaker: every environment is a stack of its own with the one key SageMaker reads (no
    # Grafana); environments sharing a cluster: test_environments_sharing_a_cluster_deploy_its_monitoring_owner_first
    for env in ("dev", "staging", "prod"):
        assert f"pulumi config set --secret -s {env} slackWebhookUrl    # Slack incoming-webhook URL\n" in text
    assert "grafanaAdminPassword" not in text
    assert "pulumi login --local" in text and "pulumi login 's3://" in text
    assert "**aws-sagemaker**" in text


@pytest.mark.parametrize(
    ("target", "kube"),
    [
        pytest.param(None, "prod-cluster", id="nothing-feasible-keeps-the-cluster"),
        pytest.param("aws-sagemaker", None, id="cloud-target-no-kubeconfig"),
        pytest.param("onprem-k8s", "prod-cluster", id="on-prem-needs-it"),
    ],
)
def test_kubeconfig_is_needed_when_the_stacks_deploy_on_prem(target, kube):
    ctx = build_context(load_profile(str(EXAMPLES["churn-scoring"])), get_target(target) if target else None)
    assert (ctx.aws_region, ctx.kube_context) == ("eu-central-1", kube)
    assert [e.target for e in ctx.environments] == [target] * 3


# --- manifest: what may be written (the rules themselves: tests/unit/test_writer.py) -----------------------


def _files(**contents: str) -> list[GeneratedFile]:
    return [GeneratedFile(path, text.encode(), f"about {path}") for path, text in contents.items()]


def _actions(steps) -> dict[str, str]:
    return {s.path: s.action for s in steps}


def test_first_run_creates_and_records_hashes(tmp_path: Path):
    files = _files(**{"a.txt": "one\n", "sub/b.txt": "two\n"})
    steps = write_scaffold(tmp_path, files)
    assert [s.to_dict() for s in steps] == [
        {"path": "a.txt", "action": "create", "reason": "new file", "about": "about a.txt"},
        {"path": "sub/b.txt", "action": "create", "reason": "new file", "about": "about sub/b.txt"},
    ]
    assert (tmp_path / "sub" / "b.txt").read_text() == "two\n"
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    assert (manifest["generator"], manifest["mlinfra_version"]) == ("mlinfra init", __version__)
    assert manifest["files"] == [
        {"path": "a.txt", "sha256": hashlib.sha256(b"one\n").hexdigest(), "bytes": 4},
        {"path": "sub/b.txt", "sha256": hashlib.sha256(b"two\n").hexdigest(), "bytes": 4},
    ]


def test_unedited_file_is_updated_edited_file_is_kept(tmp_path: Path):
    write_scaffold(tmp_path, _files(**{"a.txt": "v1\n", "b.txt": "v1\n"}))
    (tmp_path / "b.txt").write_text("mine\n")
    second = _files(**{"a.txt": "v2\n", "b.txt": "v2\n"})
    steps = write_scaffold(tmp_path, second)
    assert _actions(steps) == {"a.txt": "update", "b.txt": "skip"}
    assert steps[1].reason == "edited since mlinfra init wrote it; kept (--force overwrites)"
    assert (tmp_path / "a.txt").read_text() == "v2\n"
    assert (tmp_path / "b.txt").read_text() == "mine\n"
    assert _actions(write_scaffold(tmp_path, second)) == {"a.txt": "unchanged", "b.txt": "skip"}


def test_force_overwrites_edited_and_foreign_files(tmp_path: Path):
    (tmp_path / "README.md").write_text("someone else's\n")
    files = _files(**{"README.md": "ours\n"})
    assert [(s.action, s.reason) for s in write_scaffold(tmp_path, files)] == [
        ("skip", "not written by mlinfra init; kept (--force overwrites)")
    ]
    steps = write_scaffold(tmp_path, files, force=True)
    assert [(s.action, s.reason) for s in steps] == [("overwrite", "not written by mlinfra init; --force")]
    assert (tmp_path / "README.md").read_text() == "ours\n"


def test_a_file_no_longer_generated_is_removed_unless_edited(tmp_path: Path):
    write_scaffold(tmp_path, _files(**{"a.txt": "a\n", "stacks/Pulumi.qa.yaml": "qa\n", "stacks/Pulumi.x.yaml": "x\n"}))
    (tmp_path / "stacks" / "Pulumi.x.yaml").write_text("x\nconfig: edited\n")
    steps = write_scaffold(tmp_path, _files(**{"a.txt": "a\n"}))
    assert [(s.path, s.action, s.about) for s in steps] == [
        ("a.txt", "unchanged", "about a.txt"),
        ("stacks/Pulumi.qa.yaml", "remove", "no longer generated"),
        ("stacks/Pulumi.x.yaml", "keep", "no longer generated"),
    ]
    assert not (tmp_path / "stacks" / "Pulumi.qa.yaml").exists()
    assert (tmp_path / "stacks" / "Pulumi.x.yaml").exists()


def test_dry_run_writes_nothing(tmp_path: Path):
    steps = write_scaffold(tmp_path / "new", _files(**{"a.txt": "a\n"}), dry_run=True)
    assert _actions(steps) == {"a.txt": "create"} and not (tmp_path / "new").exists()


def test_a_directory_in_the_way_is_an_error(tmp_path: Path):
    (tmp_path / "a.txt").mkdir()
    with pytest.raises(WriteError, match=r"a\.txt is a directory; mlinfra init needs to write a file there"):
        write_scaffold(tmp_path, _files(**{"a.txt": "x\n"}))


# --- the workflows as the engine and GitHub run them (claims-vision: dev and prod share one on-premise cluster) ---


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory) -> dict[str, str]:
    return {f.path: f.content.decode() for f in generate(EXAMPLES["claims-vision"], load_profile(str(EXAMPLES["claims-vision"])))}


def test_previews_read_their_own_environments_secrets_never_the_deployments(shared_cluster):
    """A pull request's code is unreviewed: its preview of a stack runs in the GitHub environment preview-<stack>
    (read-only credentials), never in <stack>, whose secrets deploy; README says what goes where."""
    job = yaml.safe_load(shared_cluster[".github/workflows/preview.yml"])["jobs"]["preview"]
    assert job["environment"] == "preview-${{ matrix.stack }}" and job["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    deploy = yaml.safe_load(shared_cluster[".github/workflows/deploy.yml"])["jobs"]
    assert {j["environment"] for j in deploy.values()} == {"dev", "prod"}
    readme = " ".join(shared_cluster["README.md"].split())
    assert "a kubeconfig for the same context whose user has the ClusterRole `view` only" in readme
    assert "Give `preview-prod` required reviewers too" in readme
    assert "never as a repository secret" in readme


def test_the_monitoring_stacks_owner_deploys_before_the_environments_sharing_its_cluster(shared_cluster):
    """dev shares prod's cluster, whose stack installs the monitoring stack and its CRDs: prod's job runs first."""
    jobs = yaml.safe_load(shared_cluster[".github/workflows/deploy.yml"])["jobs"]
    assert list(jobs) == ["deploy-prod", "deploy-dev"]
    assert "needs" not in jobs["deploy-prod"] and jobs["deploy-dev"]["needs"] == "deploy-prod"
    assert "in order (prod -> dev)" in shared_cluster[".github/workflows/deploy.yml"]


@pytest.mark.parametrize("workflow", [".github/workflows/preview.yml", ".github/workflows/deploy.yml"])
def test_pulumi_actions_is_the_current_major_with_its_own_inputs_and_runs_the_policy_pack(shared_cluster, workflow):
    wf = yaml.safe_load(shared_cluster[workflow])
    steps = [s for job in wf["jobs"].values() for s in job["steps"] if s.get("uses", "").startswith("pulumi/actions@")]
    assert steps and {s["uses"] for s in steps} == {f"pulumi/actions@{PULUMI_ACTIONS['major']}"}
    for step in steps:
        assert set(step["with"]) <= set(PULUMI_ACTIONS["inputs"]), sorted(set(step["with"]) - set(PULUMI_ACTIONS["inputs"]))
        assert step["with"]["policyPacks"] == "policypack"


def test_the_scaffold_serves_the_policy_pack_from_the_installed_mlinfra(shared_cluster, tmp_path, monkeypatch):
    """policypack/ is a Pulumi policy pack in the project's virtualenv whose policies are mlinfra's."""
    import runpy

    import pulumi_policy

    from mlinfra.guardrails import CHECKS

    project = yaml.safe_load(shared_cluster["policypack/PulumiPolicy.yaml"])
    assert project["runtime"] == {"name": "python", "options": {"virtualenv": "../venv"}}
    assert yaml.safe_load(shared_cluster["Pulumi.yaml"])["runtime"]["options"]["virtualenv"] == "venv"
    created = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kwargs: created.update(kwargs))
    main = tmp_path / "__main__.py"
    main.write_text(shared_cluster["policypack/__main__.py"])
    runpy.run_path(str(main), run_name="__main__")
    assert created["name"] == "mlinfra-guardrails"
    assert {p.name for p in created["policies"]} == {f"mlinfra-{cid}" for cid, _t, _f in CHECKS}
