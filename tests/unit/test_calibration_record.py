"""`calibrate --write`: the capacity goes into the profile file in place, comments and layout kept, or nothing is
written."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

from mlinfra.calibration.record import capacity_yaml, edit_text, write_capacity
from mlinfra.calibration.server import CalibrationError
from mlinfra.profiles import load_profile
from mlinfra.profiles.schema import profile_json_schema

CAPACITY = {"rps_per_replica": 412.5, "concurrency": 4, "p95_ms": 12.7, "measured_on": dt.date(2026, 11, 19),
            "cpu": "AMD EPYC 7R13 Processor", "cores": 2, "runtime": "mlserver 1.7.1"}
LINE = ('capacity: {rps_per_replica: 412.5, concurrency: 4, p95_ms: 12.7, measured_on: "2026-11-19", '
        'cpu: "AMD EPYC 7R13 Processor", cores: 2, runtime: "mlserver 1.7.1"}')
PROFILE = """\
# the team's profile: comments stay
version: 1
name: desk
models:
  - {name: ranker, framework: xgboost, artifact: "s3://m/ranker", traffic: {average_rps: 3, peak_rps: 9}, slo: {latency_p95_ms: 90, availability: 0.99}}   # flow
  - name: scorer        # block
    framework: sklearn
    artifact: s3://m/scorer
    traffic:
      average_rps: 7
      peak_rps: 31
    slo:
      latency_p95_ms: 140   # agreed with the desk
      availability: 0.995
    # notes after the last key stay where they are
onprem: {kube_context: dc1}
"""


def test_a_block_entry_gets_one_line_at_its_keys_indentation_and_nothing_else_changes():
    text, before = edit_text(PROFILE, "scorer", CAPACITY, force=False)
    assert before is None
    assert text == PROFILE.replace(
        "      availability: 0.995\n", f"      availability: 0.995\n    {LINE}\n"
    )


def test_a_flow_entry_gets_the_capacity_before_its_closing_brace():
    text, _ = edit_text(PROFILE, "ranker", CAPACITY, force=False)
    assert text == PROFILE.replace("availability: 0.99}}   # flow", f"availability: 0.99}}, {LINE}}}   # flow")


def test_an_existing_capacity_is_kept_without_force_and_replaced_in_place_with_it():
    once, _ = edit_text(PROFILE, "scorer", CAPACITY, force=False)
    with pytest.raises(CalibrationError, match=r"model 'scorer' already has a capacity \(rps_per_replica 412.5, "
                                               r".*\); pass --force to replace it"):
        edit_text(once, "scorer", CAPACITY, force=False)
    twice, before = edit_text(once, "scorer", {**CAPACITY, "rps_per_replica": 388.0}, force=True)
    assert before["rps_per_replica"] == 412.5
    assert twice == once.replace("rps_per_replica: 412.5", "rps_per_replica: 388")


def test_write_validates_replaces_atomically_and_keeps_the_mode(tmp_path: Path):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE)
    os.chmod(path, 0o640)
    write_capacity(str(path), PROFILE, "scorer", CAPACITY, force=False)
    profile = load_profile(path)
    assert profile.models[1].capacity.rps_per_replica == 412.5
    assert profile.models[1].capacity.measured_on == dt.date(2026, 11, 19)
    assert "# notes after the last key stay where they are" in path.read_text()
    assert path.stat().st_mode & 0o777 == 0o640
    jsonschema.validate(yaml.safe_load(path.read_text()), profile_json_schema())  # what editors check it against
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profile.yaml"]  # no temporary file left


def test_a_file_changed_while_calibrating_is_not_written(tmp_path: Path):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE.replace("dc1", "dc2"))
    with pytest.raises(CalibrationError, match="changed while calibrate ran; nothing was written"):
        write_capacity(str(path), PROFILE, "scorer", CAPACITY, force=False)
    assert path.read_text() == PROFILE.replace("dc1", "dc2")


def test_a_capacity_the_profile_refuses_is_not_written(tmp_path: Path):
    path = tmp_path / "profile.yaml"
    path.write_text(PROFILE)
    with pytest.raises(CalibrationError, match=r"(?s)would not load, nothing was written:\n.*capacity.p95_ms \(150\) is "
                                               r"above slo.latency_p95_ms \(140\)"):
        write_capacity(str(path), PROFILE, "scorer", {**CAPACITY, "p95_ms": 150.0}, force=False)
    assert path.read_text() == PROFILE


def test_capacity_yaml_is_one_flow_line_in_schema_order():
    assert f"capacity: {capacity_yaml(CAPACITY)}" == LINE
