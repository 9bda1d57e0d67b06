"""Fixtures shared by every test folder: where the repo, the examples and ../shared are."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EXAMPLE_PROFILES = sorted([REPO / "stacks" / "profile.yaml", *(REPO / "docs" / "examples").glob("*.yaml")])


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} is missing: the suite needs ../shared beside the checkout (CI copies it there)")
    return SHARED


@pytest.fixture(scope="session")
def tools_dir() -> Path:
    """Tool venvs and npm packages installed by `make tools` (.ci/install-tools.sh)."""
    return REPO / ".tools"
