"""What the Kubernetes targets need from the profile to enforce who may call the models (manifests/gate.py)."""

from __future__ import annotations

from mlinfra.profiles.model import Profile


def access_gaps(profile: Profile) -> list[str]:
    """Why the gate in front of the models cannot enforce the profile's authentication ([] when it can)."""
    s = profile.security
    if s.exposure != "private" and s.authentication == "oidc" and s.oidc is None:
        return [
            "security.authentication is 'oidc' but security.oidc is not set: the gate in front of each model checks "
            "callers' bearer tokens against the identity provider; set security.oidc.issuer (https://..., the "
            "tokens' iss claim) and security.oidc.audience (the accepted aud values), or choose "
            "security.authentication api_key"
        ]
    return []
