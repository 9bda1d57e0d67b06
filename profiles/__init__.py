"""The requirements profile: model, loading with user-facing errors, environment resolution."""

from mlinfra.profiles.load import Problem, ProfileError, load_profile, profile_from_data
from mlinfra.profiles.model import Profile

__all__ = ["Problem", "Profile", "ProfileError", "load_profile", "profile_from_data"]
