"""Tags every AWS resource of a stack carries (the provider's default tags), and the model tag of per-model ones."""

from __future__ import annotations

from mlinfra.conventions import LABEL_ENVIRONMENT, LABEL_MODEL, PACKAGE

TAG_PROFILE = "mlinfra.io/profile"
TAG_ENVIRONMENT = LABEL_ENVIRONMENT  # the same keys as the Kubernetes labels, so one query finds both
TAG_MODEL = LABEL_MODEL
TAG_MANAGED_BY = "managed-by"


def stack_tags(profile: str, environment: str) -> dict[str, str]:
    """The provider's default tags: which profile and environment a resource belongs to, and who manages it."""
    return {TAG_PROFILE: profile, TAG_ENVIRONMENT: environment, TAG_MANAGED_BY: PACKAGE}


def model_tags(model: str) -> dict[str, str]:
    """Added to the default tags on every resource that belongs to one model."""
    return {TAG_MODEL: model}
