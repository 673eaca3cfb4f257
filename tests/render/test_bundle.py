from __future__ import annotations

import json
from pathlib import Path

from cabhunt.model import Alert
from cabhunt.render.bundle import write_bundles
from tests.investigate.investigated import investigated


def test_case_bundle_files(tmp_path: Path) -> None:
    alert, store = investigated()
    [folder] = write_bundles([alert], tmp_path, store)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["alert.json", "evidence.jsonl", "iocs.stix.json", "report.html", "report.md", "timeline.jsonl"]
    doc = json.loads((folder / "alert.json").read_text())
    assert Alert.from_dict(doc).to_dict() == alert.to_dict()
    evidence = [json.loads(x) for x in (folder / "evidence.jsonl").read_text().splitlines()]
    uids = {e["event_uid"] for e in evidence}
    assert set(alert.event_uids) <= uids
    assert {r.event_uid for r in alert.related if r.event_uid} <= uids
    assert all(isinstance(e["raw"], dict) for e in evidence)
    html = (folder / "report.html").read_text()
    assert "<script" not in html and "http://" not in html.split("<main>")[0]
    assert json.loads((folder / "iocs.stix.json").read_text())["type"] == "bundle"
