"""One small simulated run shared by the simulator tests (generation is the slow part)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cabhunt.simulate import simulate


@pytest.fixture(scope="session")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sim")
    simulate(out, hosts=20, events=20_000, seed=7)
    return out


@pytest.fixture(scope="session")
def manifest(run: Path) -> dict[str, Any]:
    return json.loads((run / "manifest.json").read_text())
