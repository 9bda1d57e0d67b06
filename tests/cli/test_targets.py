"""Extension without forking: `mlinfra targets`, and a plugin package installed from tests/plugin_example showing
up in targets, decide, render and preview; broken plugins are named, never a traceback.

The plugin is installed with pip into a temporary directory (`pip install --target`, a real wheel build, never
into .venv) and used through PYTHONPATH by whole `mlinfra` processes, as a team's CI would run them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from mlinfra.cli.main import cli
from mlinfra.profiles import load_profile
from mlinfra.targets import registry
from mlinfra.targets.base import Target

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SRC = REPO / "tests" / "plugin_example"
GPU_ONPREM = REPO / "docs" / "examples" / "gpu-onprem.yaml"
BURSTY = REPO / "docs" / "examples" / "bursty-cloud.yaml"
ENV = {"NO_COLOR": "1", "COLUMNS": "200"}
BUILTINS = {
    "aws-eks": "mlinfra.targets.aws_eks:AwsEks",
    "aws-sagemaker": "mlinfra.targets.aws_sagemaker:AwsSageMaker",
    "onprem-k8s": "mlinfra.targets.onprem_k8s:OnpremK8s",
}
PIP_TIMEOUT_S = 240
CLI_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/plugin_example installed by pip into a temporary site directory (the source tree stays clean)."""
    work = tmp_path_factory.mktemp("plugin")
    src = work / "src"
    shutil.copytree(PLUGIN_SRC, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = work / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
         "--target", str(site), str(src)],
        capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
    )  # fmt: skip
    assert proc.returncode == 0, f"pip could not install the example plugin:\n{proc.stdout}\n{proc.stderr}"
    assert (site / "mlinfra_acme_platform-0.3.1.dist-info" / "entry_points.txt").exists()
    return site


def mlinfra(*args: str, pythonpath: Path | None = None) -> subprocess.CompletedProcess:
    """Run `mlinfra ARGS` as its own process, with an optional extra site directory on PYTHONPATH."""
    env = {**os.environ, **ENV}
    env.pop("PYTHONPATH", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(
        [sys.executable, "-c", "from mlinfra.cli.main import main; main()", *args],
        capture_output=True, text=True, env=env, timeout=CLI_TIMEOUT_S,
    )  # fmt: skip


def _json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- built-ins ----------------------------------------------------------------------------------------------


def test_builtin_targets_json():
    result = CliRunner(env=ENV).invoke(cli, ["targets", "--format", "json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["group"] == "mlinfra.targets" and data["broken"] == []
    assert {t["name"]: t["source"] for t in data["targets"]} == BUILTINS
    assert {(t["distribution"], t["builtin"], t["replaces"]) for t in data["targets"]} == {("mlinfra", True, None)}


def test_builtin_targets_table():
    result = CliRunner(env=ENV).invoke(cli, ["targets"], catch_exceptions=False)
    assert result.exit_code == 0
    for name, source in BUILTINS.items():
        line = next(ln for ln in result.output.splitlines() if f" {name} " in ln)
        assert source in line and "mlinfra 0.1.0" in line and "built-in" in line


# --- the example plugin -------------------------------------------------------------------------------------


def test_plugin_appears_in_targets_and_replaces_a_builtin(plugin_site: Path):
    data = _json(mlinfra("targets", "--format", "json", pythonpath=plugin_site))
    by_name = {t["name"]: t for t in data["targets"]}
    assert sorted(by_name) == ["acme-nomad", "aws-eks", "aws-sagemaker", "onprem-k8s"]
    assert by_name["acme-nomad"] == {
        "name": "acme-nomad",
        "title": "Acme Nomad (on-premise HashiCorp Nomad)",
        "description": "One Nomad service job per model on Acme's on-premise Nomad clients, charged back by reservation.",
        "source": "acme_nomad.target:AcmeNomad",
        "distribution": "mlinfra-acme-platform",
        "version": "0.3.1",
        "builtin": False,
        "replaces": None,
    }
    onprem = by_name["onprem-k8s"]
    assert (onprem["source"], onprem["distribution"]) == ("acme_nomad.replace:AcmeOnpremK8s", "mlinfra-acme-platform")
    assert onprem["replaces"] == "mlinfra.targets.onprem_k8s:OnpremK8s (mlinfra 0.1.0)"
    table = mlinfra("targets", pythonpath=plugin_site)
    assert table.returncode == 0 and "mlinfra-acme-platform 0.3.1" in table.stdout
    assert "replaces mlinfra.targets.onprem_k8s:OnpremK8s" in table.stdout


def test_plugin_is_an_option_in_decide_with_score_and_cost(plugin_site: Path):
    data = _json(mlinfra("decide", str(GPU_ONPREM), "--format", "json", pythonpath=plugin_site))
    nomad = next(o for o in data["options"] if o["target"] == "acme-nomad")
    assert nomad["feasible"] is True and nomad["violations"] == []
    assert 0 < nomad["score"] <= 1 and nomad["rank"] in (1, 2)
    fees = [ln for ln in nomad["cost_breakdown"] if ln["item"].startswith("Acme Nomad platform fee")]
    assert [(ln["env"], ln["monthly_eur"]) for ln in fees] == [("dev", 140.0), ("prod", 140.0)]
    assert nomad["monthly_cost_eur"] == pytest.approx(sum(ln["monthly_eur"] for ln in nomad["cost_breakdown"]))
    assert nomad["criteria"]["sovereignty"] == 1.0
    assert nomad["criteria_notes"]["operations"] == "the Acme platform team runs Nomad; the ML team only owns job specs"
    assert nomad["components"] == ["AcmeNomadJob"]
    onprem = next(o for o in data["options"] if o["target"] == "onprem-k8s")
    assert onprem["components"][-1] == "AcmePlatformPolicy", "the replacement is what decide evaluates"
    table = mlinfra("decide", str(GPU_ONPREM), pythonpath=plugin_site)
    assert table.returncode == 0 and "acme-nomad" in table.stdout


def test_plugin_feasibility_rules_apply(plugin_site: Path):
    proc = mlinfra("decide", str(BURSTY), "--format", "json", pythonpath=plugin_site)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["target"] in ("aws-eks", "aws-sagemaker"), "the cloud-only profile goes to the cloud, never to the plugin"
    nomad = next(o for o in data["options"] if o["target"] == "acme-nomad")
    assert nomad["feasible"] is False
    assert nomad["violations"] == [
        "acme-nomad runs on Acme's on-premise Nomad clients; the profile has no `onprem` block",
        "Acme's Nomad has no public ingress; security.exposure 'public' needs another target",
    ]


def test_plugin_renders_its_files(plugin_site: Path, tmp_path: Path):
    out = tmp_path / "render"
    data = _json(
        mlinfra("render", str(GPU_ONPREM), "--env", "prod", "--target", "acme-nomad", "--out", str(out),
                "--format", "json", pythonpath=plugin_site)
    )  # fmt: skip
    assert data["target"] == "acme-nomad"
    paths = sorted(f["path"] for f in data["files"])
    assert paths == [
        "nomad/claims-vision-prod-claims-assistant.nomad.json",
        "nomad/claims-vision-prod-damage-detector.nomad.json",
    ]
    job = json.loads((out / paths[1]).read_text())["Job"]
    group = job["TaskGroups"][0]
    nomad = type("Nomad", (Target,), {"name": "acme-nomad"})()  # no planning hook: the base plan
    plan = nomad.plan(load_profile(str(GPU_ONPREM)), "prod")
    replicas = next(m.min_replicas for m in plan.models if m.name == "damage-detector")
    assert (job["ID"], job["Type"], group["Count"]) == ("claims-vision-prod-damage-detector", "service", replicas)
    task = group["Tasks"][0]
    assert task["Resources"] == {"CPU": 4000, "MemoryMB": 16384, "Devices": [{"Name": "nvidia/gpu", "Count": 1}]}
    assert task["Env"]["MODEL_URI"] == "pvc://model-store/damage-detector/v7"


def test_plugin_deploys_through_the_real_program_in_preview(plugin_site: Path, tmp_path: Path):
    args = (str(GPU_ONPREM), "--env", "prod", "--target", "acme-nomad")
    data = _json(mlinfra("preview", *args, "--format", "json", pythonpath=plugin_site))
    assert (data["target"], data["passed"]) == ("acme-nomad", True)
    assert data["counts"] == {
        "acme:nomad:AcmeNomadJob": 2,
        "mlinfra:environment:Environment": 1,
        "nomad:index/job:Job": 2,
        "pulumi:providers:nomad": 1,
    }
    assert data["outputs"]["endpoints"]["damage-detector"] == "http://claims-vision-prod-damage-detector.service.consul"
    # the Pulumi resource carries exactly the job spec `render` writes
    _json(mlinfra("render", *args, "--out", str(tmp_path / "r"), "--format", "json", pythonpath=plugin_site))
    jobs = {r["name"]: r["inputs"]["jobspec"] for r in data["resources"] if r["type"] == "nomad:index/job:Job"}
    assert jobs["claims-vision-prod-damage-detector-job"] == (
        tmp_path / "r" / "nomad" / "claims-vision-prod-damage-detector.nomad.json"
    ).read_text()
    tree = mlinfra("preview", *args, pythonpath=plugin_site)
    assert tree.returncode == 0 and "nomad:index/job:Job claims-vision-prod-damage-detector-job" in tree.stdout


def test_replacement_changes_the_builtin_render(plugin_site: Path, tmp_path: Path):
    args = ("render", str(GPU_ONPREM), "--env", "dev", "--target", "onprem-k8s", "--format", "json")
    plain = _json(mlinfra(*args, "--out", str(tmp_path / "plain")))
    acme = _json(mlinfra(*args, "--out", str(tmp_path / "acme"), pythonpath=plugin_site))
    added = {f["path"] for f in acme["files"]} - {f["path"] for f in plain["files"]}
    assert added == {"acme/platform-policy.json"}
    policy = json.loads((tmp_path / "acme" / "acme" / "platform-policy.json").read_text())
    assert policy["cost_center"] == "claims-ml" and "kubernetes/00-namespace.yaml" in policy["files"]


def test_replacement_overrides_planning_and_scores(plugin_site: Path, tmp_path: Path):
    """A plugin shapes the plan (its cluster hook) and the scores, not only the component set: Acme's clusters
    all run one ingress controller and one storage class, and its platform team carries operations."""
    plain = _json(mlinfra("decide", str(GPU_ONPREM), "--format", "json"))
    acme = _json(mlinfra("decide", str(GPU_ONPREM), "--format", "json", pythonpath=plugin_site))
    base, replaced = (next(o for o in d["options"] if o["target"] == "onprem-k8s") for d in (plain, acme))
    assert base["criteria"]["operations"] != 0.95 and replaced["criteria"]["operations"] == 0.95
    assert replaced["criteria_notes"]["operations"] == "the Acme platform team runs the cluster; the ML team owns its models"
    args = ("render", str(GPU_ONPREM), "--env", "prod", "--target", "onprem-k8s", "--format", "json")
    for name, site in (("plain", None), ("acme", plugin_site)):
        _json(mlinfra(*args, "--out", str(tmp_path / name), pythonpath=site))
    def rendered(name: str, path: str) -> str:
        return (tmp_path / name / path).read_text()
    model = "kubernetes/10-model-damage-detector.yaml"
    assert "ingressClassName: nginx" in rendered("plain", model)
    assert "ingressClassName: acme-haproxy" in rendered("acme", model)
    assert "kubernetes.io/metadata.name: acme-ingress" in rendered("acme", model)  # its NetworkPolicy admits Acme's controller
    values = "helm/kube-prometheus-stack.values.yaml"
    assert "storageClassName: ceph-rbd" in rendered("plain", values)
    assert "storageClassName: acme-ceph-rbd" in rendered("acme", values)


# --- broken plugins -----------------------------------------------------------------------------------------


def _fake_dist(site: Path, name: str, version: str, entry_points: str, modules: dict[str, str]) -> None:
    """A minimal installed distribution: a dist-info with METADATA and entry_points.txt, plus its modules."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[mlinfra.targets]\n{entry_points}\n")
    for module, text in modules.items():
        (site / f"{module}.py").write_text(text)


def test_broken_plugin_is_named_not_a_traceback(tmp_path: Path):
    site = tmp_path / "site"
    _fake_dist(site, "acme-broken", "9.9.9", "acme-broken = acme_broken:Target",
               {"acme_broken": "import acme_missing_dependency\n"})  # fmt: skip
    expected = (
        "target plugin 'acme-broken' (acme_broken:Target) from distribution acme-broken 9.9.9: failed to import: "
        "ModuleNotFoundError: No module named 'acme_missing_dependency'"
    )
    for args in (("targets",), ("decide", str(GPU_ONPREM)), ("render", str(GPU_ONPREM), "--env", "dev", "--out",
                                                              str(tmp_path / "out"))):
        proc = mlinfra(*args, pythonpath=site)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert expected in proc.stderr, (args, proc.stderr)
        assert "pip uninstall <distribution>" in proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    listing = mlinfra("targets", "--format", "json", pythonpath=site)
    data = json.loads(listing.stdout)
    assert [b["entry_point"] for b in data["broken"]] == ["acme-broken"]
    assert sorted(t["name"] for t in data["targets"]) == sorted(BUILTINS), "working targets are still listed"


# --- registry rules (in process, with stand-in entry points) --------------------------------------------------


class _Named(Target):
    def __init__(self, name: str):
        self.name = name  # type: ignore[misc]


def _ep(name: str, value: str, dist: str, obj, version: str = "1.0") -> SimpleNamespace:
    def load():
        if isinstance(obj, Exception):
            raise obj
        return obj

    meta = SimpleNamespace(metadata={"Name": dist}, name=dist, version=version)
    return SimpleNamespace(name=name, value=value, dist=meta, load=load)


@pytest.fixture()
def fake_entry_points(monkeypatch):
    def install(*eps):
        monkeypatch.setattr(registry, "entry_points", lambda group: list(eps))
        registry.reset()

    yield install
    registry.reset()


@pytest.mark.parametrize(
    ("eps", "message"),
    [
        pytest.param(
            [_ep("acme-x", "acme:X", "acme", _Named("acme-y"))],
            "the target's name is 'acme-y' but its entry point is named 'acme-x'; they must be the same",
            id="name-mismatch",
        ),
        pytest.param(
            [_ep("acme-x", "acme:X", "acme", object())],
            "acme:X is a object, not a subclass of mlinfra.targets.base.Target",
            id="not-a-target",
        ),
        pytest.param(
            [_ep("acme-x", "acme:X", "acme", RuntimeError("no licence server"))],
            "failed to import: RuntimeError: no licence server",
            id="import-error",
        ),
        pytest.param(
            [_ep("k", "a:K", "plugin-a", _Named("k"), "1.1"), _ep("k", "b:K", "plugin-b", _Named("k"), "2.2")],
            "target 'k' is provided by plugin-a 1.1 (a:K) and plugin-b 2.2 (b:K); uninstall all but one",
            id="two-plugins-one-name",
        ),
    ],
)
def test_registry_problems(eps, message, fake_entry_points):
    fake_entry_points(*eps)
    found, problems = registry.installed()
    assert found == [] and [p.message for p in problems] == [message]
    with pytest.raises(registry.TargetLoadError, match="broken target plugin"):
        registry.load_targets()


def test_plugin_wins_over_builtin_whatever_the_order(fake_entry_points):
    builtin, plugin = _Named("k"), _Named("k")
    fake_entry_points(_ep("k", "acme:K", "acme", plugin, "3.0"), _ep("k", "mlinfra.targets.k:K", "mlinfra", builtin))
    assert registry.load_targets() == [plugin]
    (info,) = registry.installed()[0]
    assert (info.distribution, info.replaces) == ("acme", "mlinfra.targets.k:K (mlinfra 1.0)")
    assert registry.get_target("k") is plugin
    with pytest.raises(KeyError, match="unknown target 'nope'; installed: k"):
        registry.get_target("nope")
