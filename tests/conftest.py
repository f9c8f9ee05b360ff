"""Shared test settings.

Tests that need the real upstream releases find them through one setting, the environment
variable ATTACK_KG_SHARED_DATA (default: ../shared/data beside the checkout). Where it is absent
they skip with that reason; under CI (CI=true) its absence is a failure, since CI always has it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_ENV = "ATTACK_KG_SHARED_DATA"


def shared_data_dir() -> Path:
    return Path(os.environ.get(SHARED_ENV, ROOT.parent / "shared" / "data")).resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real upstream releases (../shared/data), or a skip saying how to point at them."""
    path = shared_data_dir()
    if not (path / "attack").is_dir():
        reason = f"shared data not found at {path} (set {SHARED_ENV} to the folder holding attack/, d3fend/, sigma/)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def fixtures() -> Path:
    return FIXTURES
