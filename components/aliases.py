"""Stable identities: every component whose type token changed is registered with its former tokens as aliases.

One stack transformation (program.py registers it) instead of an `aliases=` option in every component: the engine
carries a component's aliases down to its children, so a renamed component keeps its whole subtree. A resource
moved to another parent needs `pulumi.Alias(parent=...)` where it is created; the URN test catches either.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from mlinfra.conventions import FORMER_TYPE_TOKENS


def former_type_aliases(former: Mapping[str, tuple[str, ...]] = FORMER_TYPE_TOKENS):
    """A stack transformation adding `Alias(type_=old)` for each former token of the resource's type."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        tokens = former.get(args.type_)
        if not tokens:
            return None
        aliases = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=token) for token in tokens])
        return pulumi.ResourceTransformationResult(args.props, pulumi.ResourceOptions.merge(args.opts, aliases))

    return transform
