"""The labelled command-line set: cabhunt flags every malicious line and no benign one."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from cabhunt.windows.job import analyze_job

DATA = Path(__file__).parent / "data" / "cmdlines.yaml"
ENTRIES: list[dict[str, Any]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["lines"]


def _flagged(e: dict[str, Any]) -> bool:
    return analyze_job(
        e["cmdline"], image=e.get("image"), original_file_name=e.get("original_file_name"), cwd=e.get("cwd"), drive_map=e.get("drive_map")
    ).flagged


def test_list_is_well_formed() -> None:
    assert len(ENTRIES) >= 60
    for e in ENTRIES:
        assert e["label"] in ("malicious", "suspicious", "benign")
        assert e["reason"] and e["source"] and e["cmdline"] is not None
    labels = {e["label"] for e in ENTRIES}
    assert labels == {"malicious", "suspicious", "benign"}


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["label"] == "malicious"], ids=lambda e: e["cmdline"][:60])
def test_malicious_flagged(entry: dict[str, Any]) -> None:
    assert _flagged(entry), entry["reason"]


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e["label"] == "benign"], ids=lambda e: e["cmdline"][:60])
def test_benign_not_flagged(entry: dict[str, Any]) -> None:
    assert not _flagged(entry), entry["reason"]


def test_parser_beats_public_logic() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
    try:
        import eval_cmdlines
    finally:
        sys.path.pop(0)
    results = eval_cmdlines.evaluate(ENTRIES)
    ours = results["cabhunt parser"]
    for name, counts in results.items():
        if name != "cabhunt parser":
            assert counts["malicious"] < ours["malicious"], name
