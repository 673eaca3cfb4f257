"""Shared test helpers: paths to the shared fixtures and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CABHUNT_SHARED", REPO.parent / "shared"))
FIXTURES = SHARED / "fixtures"


def shared_or_skip(rel: str) -> Path:
    """A path under ../shared; missing shared data fails in CI and skips elsewhere."""
    path = SHARED / rel
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"shared data missing in CI: {path}")
        pytest.skip(f"shared data not present: {path}")
    return path
