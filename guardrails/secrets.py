"""Secrets by name: which Pulumi config keys a profile declares as secret, and what a leaked secret looks like."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mlinfra.profiles.model import Profile

# Profile fields that hold the *name* of a Pulumi secret config key (never the value) end with this suffix.
SECRET_FIELD_SUFFIX = "_secret"

# Input keys (lower case, '_' and '-' removed) that hold secret values. `*_file` keys (Alertmanager reads the
# secret from a mounted file) and `existing*` keys (the name of an existing Secret) are references, not values.
SECRET_INPUT_KEYS = frozenset(
    {
        "password",
        "apiurl",
        "slackapiurl",
        "webhookurl",
        "routingkey",
        "servicekey",
        "token",
        "bearertoken",
        "apikey",
        "secretkey",
        "secretaccesskey",
        "clientsecret",
        "privatekey",
    }
)
_SECRET_LOOKING = (
    re.compile(r"https://hooks\.slack\.com/services/\S+"),
    re.compile(r"https://[\w.-]*webhook\.office\.com/\S+"),
    re.compile(r"https://outlook\.office\.com/webhook/\S+"),
)


def secret_config_keys(profile: Profile) -> list[str]:
    """Every Pulumi secret config key the profile names (notify webhooks, routing keys, SMTP password)."""
    keys: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if k.endswith(SECRET_FIELD_SUFFIX) and isinstance(v, str) and v:
                    keys.add(v)
                else:
                    visit(v)
        elif isinstance(value, list):
            for item in value:
                visit(item)

    visit(profile.model_dump(mode="json"))
    if profile.security.api_keys_key:  # named by default, not only when the field is set
        keys.add(profile.security.api_keys_key)
    return sorted(keys)


def is_secret_input_key(key: str) -> bool:
    norm = re.sub(r"[-_]", "", key.lower())
    if norm.startswith("existing") or norm.endswith("file"):
        return False
    return norm in SECRET_INPUT_KEYS or norm.endswith("password")


def looks_like_secret(value: str) -> bool:
    """A literal that is a credential by its shape (Slack/Teams incoming-webhook URLs carry their token)."""
    return any(p.search(value) for p in _SECRET_LOOKING)
