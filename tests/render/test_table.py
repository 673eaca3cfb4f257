"""The terminal table: every alert shown, most serious first."""

from __future__ import annotations

from rich.console import Console

from cabhunt.model import Alert, RuleRef, SourceRef
from cabhunt.render.table import print_table, sort_alerts


def alert(verdict: str, score: int, host: str) -> Alert:
    a = Alert(timestamp="2026-03-02T10:00:00.000Z", rule=RuleRef("R", "n", "makecab_download_cab", "u"), host=host)
    a.verdict = verdict  # type: ignore[assignment]
    a.score = score
    a.sources = [SourceRef("\\\\fs\\s\\a.exe", kind="smb", host="fs")]
    return a


def test_sorted_by_verdict_then_score() -> None:
    alerts = [alert("benign", 5, "A"), alert("malicious", 70, "B"), alert("suspicious", 40, "C"), alert("malicious", 90, "D")]
    assert [a.host for a in sort_alerts(alerts)] == ["D", "B", "C", "A"]


def test_table_lists_every_alert_and_summary() -> None:
    console = Console(record=True, width=220)
    alerts = [alert("malicious", 70, "WS-ONE"), alert("benign", 5, "WS-TWO")]
    print_table(alerts, console, {"verdicts": {"malicious": 1, "benign": 1}, "verified_benign": 4})
    text = console.export_text()
    assert "WS-ONE" in text and "WS-TWO" in text and "smb:fs" in text
    assert alerts[0].id in text
    assert "verified benign (local-only packaging): 4" in text
