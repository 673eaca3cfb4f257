from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from cabhunt.render.timesketch import write_timeline
from tests.investigate.investigated import investigated


def test_timeline_lines_are_timesketch_records() -> None:
    alert, _ = investigated()
    buf = io.StringIO()
    n = write_timeline(alert, buf)
    lines = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert n == len(lines) >= len(alert.related)
    for rec in lines:
        assert {"message", "datetime", "timestamp_desc", "timestamp"} <= set(rec)
        dt = datetime.fromisoformat(rec["datetime"].replace("Z", "+00:00"))
        assert rec["timestamp"] == int(dt.astimezone(UTC).timestamp() * 1_000_000)
        assert rec["alert_id"] == alert.id
    assert [r["timestamp"] for r in lines] == sorted(r["timestamp"] for r in lines)
    assert any(r["timestamp_desc"] == "Alert" for r in lines)
    assert any("extraction" in r["message"] for r in lines)
