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


CLOUD_EXAMPLE = ROOT / "docs" / "examples" / "bursty-cloud.yaml"
CLOUD_FRAMEWORKS = ("sklearn", "xgboost", "onnx")


def generated_cloud_profile(models: int, directory: Path) -> Path:
    """bursty-cloud with `models` distinct models: no `onprem` block, an AWS region, s3:// artifacts.

    Authentication stays `api_key` (SageMaker rules `oidc` out) and the budget grows with the models, so the
    profile deploys on both aws-sagemaker and aws-eks."""
    profile = yaml.safe_load(CLOUD_EXAMPLE.read_text())
    profile["name"] = f"bench-cloud-{models}"
    profile.pop("onprem", None)
    profile["security"]["authentication"] = "api_key"
    profile["budget"]["monthly_eur"] = 1500 * max(1, models // 3)
    profile["models"] = [
        {
            "name": f"model-{i:03d}",
            "framework": CLOUD_FRAMEWORKS[i % len(CLOUD_FRAMEWORKS)],
            "artifact": f"s3://bench-cloud-models/model-{i:03d}/v{1 + i % 4}",
            "resources": {"cpu": 1 + i % 2, "memory_gib": 2 + 2 * (i % 3)},
            "traffic": {"average_rps": 0.5 + i % 5, "peak_rps": 10 + 5 * (i % 9)},
            "slo": {"latency_p95_ms": 120 + 20 * (i % 7), "availability": 0.995},
        }
        for i in range(models)
    ]
    path = directory / f"cloud-profile-{models}.yaml"
    path.write_text(yaml.safe_dump(profile, sort_keys=False))
    return path
