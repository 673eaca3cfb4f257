"""Quality target on the labelled command lines (tests/windows/data/cmdlines.yaml).

Every malicious line is alerted at least ``suspicious``; no benign line is ``malicious``; at most
one benign line in ten is ``suspicious``. Lines run through the whole detection path (Sigma
prefilter on the store, semantic verification, scoring), one host per line.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import pytest
import yaml

from cabhunt.detect import detect
from tests.conftest import REPO
from tests.detect.helpers import make_store

DATA = REPO / "tests" / "windows" / "data" / "cmdlines.yaml"
S32 = "C:\\Windows\\System32\\"


def _image(line: dict[str, Any]) -> str:
    if line.get("image"):
        return str(line["image"])
    first = line["cmdline"].strip()
    token = first[1:].split('"', 1)[0] if first.startswith('"') else first.split()[0]
    name = re.split(r"[\\/]", token)[-1]
    if not name.lower().endswith(".exe"):
        name += ".exe"
    return token if ("\\" in token and token.lower().endswith(".exe")) else S32 + name


def _events(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for i, line in enumerate(lines):
        host = f"H{i:03d}"
        for letter, unc in (line.get("drive_map") or {}).items():
            events.append({"EventID": 1, "Computer": host, "Image": S32 + "net.exe",
                           "CommandLine": f"net use {letter} {unc}", "UtcTime": "2026-03-02 09:00:00.000"})
        ev = {"EventID": 1, "Computer": host, "Image": _image(line), "CommandLine": line["cmdline"],
              "ProcessGuid": f"{{line-{i}}}", "UtcTime": "2026-03-02 10:00:00.000",
              "ParentImage": S32 + "svchost.exe"}
        if line.get("original_file_name"):
            ev["OriginalFileName"] = line["original_file_name"]
        if line.get("cwd"):
            ev["CurrentDirectory"] = line["cwd"]
        events.append(ev)
    return events


def evaluate() -> tuple[list[dict[str, Any]], dict[str, str]]:
    if not DATA.is_file():
        pytest.skip(f"labelled command lines not present: {DATA}")
    lines = yaml.safe_load(DATA.read_text(encoding="utf-8"))["lines"]
    alerts = detect(make_store(_events(lines)))
    verdict = {str(a.host): a.verdict for a in alerts if a.rule.slug.endswith("download_cab")}
    return lines, verdict


def test_labelled_command_lines_meet_the_quality_target() -> None:
    lines, verdict = evaluate()
    outcome: Counter[tuple[str, str]] = Counter()
    missed, benign_malicious, benign_suspicious = [], [], []
    for i, line in enumerate(lines):
        got = verdict.get(f"H{i:03d}", "no alert")
        outcome[(line["label"], got)] += 1
        if line["label"] == "malicious" and got not in ("malicious", "suspicious"):
            missed.append(line["cmdline"])
        if line["label"] == "benign" and got == "malicious":
            benign_malicious.append(line["cmdline"])
        if line["label"] == "benign" and got == "suspicious":
            benign_suspicious.append(line["cmdline"])
    benign = sum(1 for line in lines if line["label"] == "benign")
    assert not missed, missed
    assert not benign_malicious, benign_malicious
    assert len(benign_suspicious) * 10 <= benign, benign_suspicious
