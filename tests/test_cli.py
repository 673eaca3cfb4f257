"""The console entry point ends the process itself once a command is done: output and status survive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cabhunt", *args], capture_output=True, text=True, timeout=300,
                          check=False)


def test_output_is_complete_and_status_kept(tmp_path: Path) -> None:
    out = _run("rules", "list", "--format", "json")
    assert out.returncode == 0, out.stderr
    rules = json.loads(out.stdout)  # every byte written before the process ended
    assert len(rules) >= 10
    bad = _run("ingest", str(tmp_path / "missing"), "--db", str(tmp_path / "x.duckdb"))
    assert bad.returncode == 1 and "missing" in bad.stderr
    usage = _run("hunt", "--no-such-option")
    assert usage.returncode == 2


def test_closed_pipe_is_not_a_traceback() -> None:
    cmd = f"{sys.executable} -m cabhunt rules list --format json | head -c 10"
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=300, check=False)
    assert out.returncode == 0
    assert "Traceback" not in out.stderr
