"""Timesketch import (JSON Lines): one object per timeline entry with the required fields
``message``, ``datetime`` (ISO 8601), ``timestamp_desc`` and ``timestamp`` (microseconds since
the epoch), plus the alert context as extra fields for filtering in the sketch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

from cabhunt.investigate.case import timeline
from cabhunt.model import Alert

DESC = {"alert": "Alert", "process": "Process Start", "network": "Connection", "dns": "DNS Query",
        "file": "File Created", "logon": "Logon", "share": "Share Access", "proxy": "HTTP Request",
        "registry": "Registry Set", "tls": "TLS Handshake"}


def _micros(ts: str) -> int | None:
    try:
        dt = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000)


def records(alert: Alert) -> Iterator[dict[str, Any]]:
    for e in timeline(alert):
        micros = _micros(e["@timestamp"] or "")
        if micros is None:
            continue
        yield {
            "message": e["summary"],
            "datetime": e["@timestamp"],
            "timestamp_desc": DESC.get(e["kind"], e["kind"].title()),
            "timestamp": micros,
            "kind": e["kind"],
            "event_uid": e.get("event_uid"),
            "host": alert.host,
            "user": alert.user,
            "alert_id": alert.id,
            "rule_id": alert.rule.id,
            "rule_name": alert.rule.name,
            "verdict": alert.verdict,
            "score": alert.score,
            "tag": ["cabhunt", "T1105", alert.verdict],
        }


def write_timeline(alert: Alert, fh: IO[str]) -> int:
    n = 0
    for rec in records(alert):
        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        n += 1
    return n
