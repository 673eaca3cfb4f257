"""JSON Lines and JSON document output of alerts."""

from __future__ import annotations

import io
import json
from datetime import datetime

from cabhunt.model import Alert, CabinetRef, Finding, RuleRef
from cabhunt.render.jsonl import write_json, write_jsonl


def alert(n: int) -> Alert:
    a = Alert(timestamp=f"2026-03-02T10:00:0{n}.000Z", rule=RuleRef("CNC-E-2726320-143", "Diantz Download and CAB Creation",
              "diantz_download_cab", "66882afc-5418-478a-9792-2595c63f0e7f"), host="WS01")
    a.cabinets = [CabinetRef("C:\\Users\\Public\\a.cab", ads=False, user_writable=True)]
    a.findings = [Finding("source.smb", "input_semantics", "SMB source", 25, ["\\\\h\\s\\a.exe"])]
    a.extra["when"] = datetime(2026, 3, 2, 10)  # odd values must not break output
    return a


def test_one_alert_per_line_round_trips() -> None:
    buf = io.StringIO()
    assert write_jsonl([alert(1), alert(2)], buf) == 2
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    docs = [json.loads(line) for line in lines]
    assert docs[0]["cabhunt"]["cabinet"]["user_writable"] is True
    assert Alert.from_dict(docs[1]).id == alert(2).id
    assert docs[0]["cabhunt"]["extra"]["when"] == "2026-03-02 10:00:00"


def test_json_document() -> None:
    buf = io.StringIO()
    write_json([alert(1)], {"verified_benign": 3}, buf)
    doc = json.loads(buf.getvalue())
    assert doc["summary"] == {"verified_benign": 3}
    assert doc["alerts"][0]["rule"]["slug"] == "diantz_download_cab"
