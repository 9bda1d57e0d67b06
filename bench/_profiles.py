"""Generated profiles for the benchmarks: the example profile with N distinct models."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "stacks" / "profile.yaml"
FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "onnx")


def generated_profile(models: int, directory: Path) -> Path:
    """The example profile with `models` distinct models (frameworks, sizes and traffic vary)."""
    profile = yaml.safe_load(EXAMPLE.read_text())
    profile["name"] = f"bench-{models}"
    profile["models"] = [
        {
            "name": f"model-{i:03d}",
            "framework": FRAMEWORKS[i % len(FRAMEWORKS)],
            "artifact": f"s3://bench-models/model-{i:03d}/v1",
            "resources": {"cpu": 1 + i % 3, "memory_gib": 2 + i % 5, "gpus": 0},
            "traffic": {"average_rps": 1 + i % 7, "peak_rps": 10 + 3 * (i % 11)},
            "slo": {"latency_p95_ms": 150 + 10 * (i % 9), "availability": 0.995},
        }
        for i in range(models)
    ]
    path = directory / f"profile-{models}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path
