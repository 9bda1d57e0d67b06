"""Fixtures that run the real validators on built objects; reused for the whole render (serving + monitoring).

- k8s_validate(objects, versions) -> problems: `kubernetes-validate --strict` (the CLI from .venv/bin), all
  objects in one file and one process; custom resources (API groups outside *.k8s.io) are left out - they
  are validated against ../shared/schemas/crds/ instead.
- checkov_scan(objects) -> CheckovReport: checkov --framework kubernetes on the objects; `unexpected` are the
  failed checks not in tests/tools/checkov-skips.yaml, `stale_skips` the listed checks that no longer fire.
- dump_yaml(objects) -> multi-document YAML, sorted keys, no anchors (what render writes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from mlinfra.files.dump import to_yaml_documents

TOOL_TIMEOUT_S = 300


def dump_yaml(objects: Iterable[dict[str, Any]]) -> str:
    """The objects exactly as `mlinfra render` writes them (rendering.dump: sorted keys, no anchors)."""
    return to_yaml_documents(list(objects))


def is_builtin(obj: dict[str, Any]) -> bool:
    """Core Kubernetes kinds: apiVersion `v1`, `apps/v1`, or a group ending in .k8s.io (no CRDs)."""
    api_version = obj["apiVersion"]
    if "/" not in api_version:
        return True
    group = api_version.split("/", 1)[0]
    return "." not in group or group.endswith(".k8s.io")


def _venv_bin(name: str) -> Path:
    return Path(sys.executable).parent / name


@pytest.fixture(scope="session")
def dump_objects() -> Callable[[Iterable[dict[str, Any]]], str]:
    return dump_yaml


@pytest.fixture(scope="session")
def k8s_validate(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., list[str]]:
    tool = _venv_bin("kubernetes-validate")
    if not tool.exists():
        pytest.fail(f"{tool} is missing: `make install` installs kubernetes-validate into .venv")

    def run(objects: Iterable[dict[str, Any]], versions: Iterable[str] = ("1.37", "1.30")) -> list[str]:
        """Every ERROR/WARN/FATAL line for built-in objects (empty list = all valid, strict)."""
        builtin = [o for o in objects if is_builtin(o)]
        assert builtin, "nothing to validate"
        path = tmp_path_factory.mktemp("k8s-validate") / "objects.yaml"
        path.write_text(dump_yaml(builtin))
        args = [str(tool), "--strict", "--quiet"]
        for version in versions:
            args += ["-k", version]
        proc = subprocess.run(
            [*args, str(path)], capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False
        )
        problems = [line for line in proc.stdout.splitlines() if line.split(" ", 1)[0] in ("ERROR", "WARN", "FATAL")]
        if proc.returncode != 0 and not problems:
            problems = [f"kubernetes-validate exited {proc.returncode}: {proc.stdout}{proc.stderr}"]
        return problems

    return run


@dataclass(frozen=True)
class Failure:
    check_id: str
    check_name: str
    resource: str
    file: str


@dataclass(frozen=True)
class CheckovReport:
    failures: list[Failure]
    skips: dict[str, str]  # check id -> reason, from checkov-skips.yaml
    passed: int

    @property
    def unexpected(self) -> list[Failure]:
        return [f for f in self.failures if f.check_id not in self.skips]

    @property
    def stale_skips(self) -> list[str]:
        fired = {f.check_id for f in self.failures}
        return sorted(set(self.skips) - fired)


def load_checkov_skips() -> dict[str, str]:
    path = Path(__file__).with_name("checkov-skips.yaml")
    skips = yaml.safe_load(path.read_text()) or {}
    assert isinstance(skips, dict), f"{path}: expected a mapping check id -> reason"
    for check, reason in skips.items():
        assert isinstance(reason, str) and reason.strip(), f"{path}: {check} needs a one-line reason"
    return skips


@pytest.fixture(scope="session")
def checkov_scan(tools_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., CheckovReport]:
    tool = tools_dir / "checkov" / "bin" / "checkov"
    if not tool.exists():
        pytest.fail(f"{tool} is missing: `make tools` installs checkov into its own venv")

    def run(files: dict[str, Iterable[dict[str, Any]]]) -> CheckovReport:
        """Scan {file name: objects}; failed checks are reported, skips are applied here, not by checkov."""
        directory = tmp_path_factory.mktemp("checkov")
        for name, objects in files.items():
            (directory / f"{name}.yaml").write_text(dump_yaml(objects))
        env = {**os.environ, "LOG_LEVEL": "WARNING", "BC_SKIP_MAPPING": "TRUE"}
        proc = subprocess.run(
            [str(tool), "--skip-download", "--framework", "kubernetes", "-d", str(directory), "--compact", "-o", "json"],
            capture_output=True,
            text=True,
            timeout=TOOL_TIMEOUT_S,
            env=env,
            check=False,
        )
        try:
            reports = json.loads(proc.stdout)
        except json.JSONDecodeError:
            pytest.fail(f"checkov gave no JSON (exit {proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
        reports = reports if isinstance(reports, list) else [reports]
        failures, passed = [], 0
        for report in reports:
            summary = report.get("summary", {})
            assert summary.get("parsing_errors", 0) == 0, f"checkov could not parse: {summary}"
            passed += summary.get("passed", 0)
            for check in report.get("results", {}).get("failed_checks", []):
                failures.append(Failure(check["check_id"], check["check_name"], check["resource"], check["file_path"]))
        assert passed > 0, f"checkov ran no checks (exit {proc.returncode}): {proc.stderr[-2000:]}"
        return CheckovReport(failures=failures, skips=load_checkov_skips(), passed=passed)

    return run


# --- monitoring tools: promtool, amtool >= 0.26, CRD schemas, example plans ---------------------

MONITORING_TARGET = "onprem-k8s"


def example_plans() -> list[tuple[str, Any]]:
    """(id, EnvironmentPlan) for every environment of every example profile (profiles with an `onprem` block
    plan as onprem-k8s, the others as aws-eks)."""
    from mlinfra.targets.registry import plan_for
    from mlinfra.profiles import load_profile

    repo = Path(__file__).resolve().parents[2]
    plans = []
    for path in [repo / "stacks" / "profile.yaml", *sorted((repo / "docs" / "examples").glob("*.yaml"))]:
        profile = load_profile(str(path))
        target = MONITORING_TARGET if profile.onprem else "aws-eks"
        for env in profile.environment_names:
            plans.append((f"{profile.name}-{env}", plan_for(profile, env, target)))
    return plans


@pytest.fixture(scope="session")
def promtool() -> str:
    import shutil

    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool is missing: `make system` installs Debian's prometheus package")
    return tool


@pytest.fixture(scope="session")
def amtool(tools_dir: Path) -> str:
    """amtool >= 0.26 (msteams_configs, webhook url_file): .ci/install-alertmanager.sh puts 0.28 in .tools."""
    tool = tools_dir / "alertmanager" / "bin" / "amtool"
    if not tool.exists():
        pytest.fail(f"{tool} is missing: `make tools` runs .ci/install-alertmanager.sh")
    return str(tool)


@pytest.fixture(scope="session")
def crd_validate(shared_dir: Path) -> Callable[[dict[str, Any]], list[str]]:
    """Validate a custom resource against ../shared/schemas/crds/<group>__<kind>_<version>.json."""
    import jsonschema

    def run(obj: dict[str, Any]) -> list[str]:
        group, version = obj["apiVersion"].split("/")
        path = shared_dir / "schemas" / "crds" / f"{group}__{obj['kind'].lower()}_{version}.json"
        assert path.is_file(), f"no CRD schema for {obj['apiVersion']} {obj['kind']} ({path})"
        schema = json.loads(path.read_text())
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(obj)]

    return run


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`monitoring_plan`: one test per environment of every example profile, id <profile>-<env>;
    `monitoring_prod_plan`: only the prod-tier environments."""
    if "monitoring_plan" in metafunc.fixturenames:
        plans = example_plans()
        metafunc.parametrize("monitoring_plan", [p for _, p in plans], ids=[i for i, _ in plans])
    if "monitoring_prod_plan" in metafunc.fixturenames:  # the prod-tier environment of each example profile
        plans = [(i, p) for i, p in example_plans() if p.tier == "prod"]
        metafunc.parametrize("monitoring_prod_plan", [p for _, p in plans], ids=[i for i, _ in plans])
