"""The explicit AWS provider of a stack: the profile's region (never the ambient AWS_REGION) and default tags."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws


def aws_provider(
    name: str, *, region: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions | None = None
) -> aws.Provider:
    """Every AWS resource of the stack is created through this provider: in `region`, tagged with `tags`
    (targets.aws.tags.stack_tags) - the guardrails check both."""
    return aws.Provider(
        name, region=region, default_tags=aws.ProviderDefaultTagsArgs(tags=dict(tags)), opts=opts,
    )
