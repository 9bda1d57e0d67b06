"""Deployment targets (aws-sagemaker, aws-eks, onprem-k8s, and plugins) found through one registry."""

from mlinfra.targets.base import CostEstimate, CostLine, Target
from mlinfra.targets.registry import TargetLoadError, load_targets

__all__ = ["CostEstimate", "CostLine", "Target", "TargetLoadError", "load_targets"]
