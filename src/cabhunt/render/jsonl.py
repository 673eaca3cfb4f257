"""Alerts as JSON Lines: one ``Alert.to_dict()`` per line (the public alert contract)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any

from cabhunt.model import Alert


def _default(value: Any) -> Any:
    """Datetimes and other odd values in ``extra`` become strings rather than failing output."""
    return str(value)


def alert_line(alert: Alert) -> str:
    return json.dumps(alert.to_dict(), ensure_ascii=False, separators=(",", ":"), default=_default)


def write_jsonl(alerts: Iterable[Alert], fh: IO[str]) -> int:
    """Write one alert per line; returns how many were written."""
    n = 0
    for alert in alerts:
        fh.write(alert_line(alert))
        fh.write("\n")
        n += 1
    return n


def write_json(alerts: Iterable[Alert], summary: dict[str, Any], fh: IO[str]) -> None:
    """One document ``{"alerts": [...], "summary": {...}}`` (``hunt --format json``)."""
    doc = {"alerts": [a.to_dict() for a in alerts], "summary": summary}
    json.dump(doc, fh, ensure_ascii=False, indent=2, default=_default)
    fh.write("\n")
