from __future__ import annotations

from cabhunt.render.markdown import esc, render_alert, render_hunt
from tests.investigate.investigated import investigated


def test_alert_report_has_verdict_findings_and_actions() -> None:
    alert, _ = investigated()
    md = render_alert(alert)
    assert "MALICIOUS" in md and f"({alert.score}/100)" in md
    for f in alert.findings:
        assert f"`{f.id}`" in md
        assert f"+{f.weight}" in md
    assert "## Timeline" in md and "## Process tree" in md and "## Actions" in md
    assert "isolate\\_host" in md


def test_hunt_document_orders_by_verdict() -> None:
    bad, _ = investigated("smb_raw_ip")
    good, _ = investigated("cbs_rotation")
    md = render_hunt([good, bad])
    assert md.startswith("# cabhunt hunt report")
    assert "2 alert(s): 1 malicious, 1 benign." in md
    assert md.index(bad.id) < md.index(good.id)
    assert render_hunt([]).count("no alerts") == 1


def test_hostile_text_cannot_break_tables() -> None:
    assert esc("a|b\nc<script>") == "a\\|b c&lt;script&gt;"
    alert, _ = investigated("smb_raw_ip")
    alert.process["command_line"] = "x | y ` z\n| --- |"
    md = render_alert(alert)
    row = next(line for line in md.splitlines() if line.startswith("| command line"))
    assert row.count(" | ") == 1  # still two cells
