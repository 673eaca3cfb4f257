"""Build small in-memory stores from Sysmon-named events, for detection tests.

Events are written the way Sysmon names fields (``Image``, ``CommandLine``, ``EventID``,
``Computer``, ``UtcTime`` ...) and mapped to the events-table columns with the same pipeline
data the compiler uses (``rules/pipelines/cabhunt.yml``), so test data and rules cannot drift.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from cabhunt.rules.loader import PIPELINE_DIR
from cabhunt.schema import COLUMN_NAMES, EVENT_COLUMNS, create_table_sql

_CATEGORY = {1: "process", 4688: "process", 3: "network", 11: "file", 15: "file", 22: "dns", 13: "registry", 7: "image_load"}


def field_map() -> dict[str, str]:
    doc = yaml.safe_load((PIPELINE_DIR / "cabhunt.yml").read_text(encoding="utf-8"))
    for item in doc["transformations"]:
        if item["type"] == "field_name_mapping":
            return dict(item["mapping"])
    raise AssertionError("no field mapping in cabhunt.yml")


def parse_ts(text: str) -> datetime:
    text = text.replace("T", " ").rstrip("Z")
    return datetime.fromisoformat(text)


def to_row(event: dict[str, Any], index: int, fmap: dict[str, str] | None = None) -> dict[str, Any]:
    """One Sysmon-named event -> an events-table row."""
    fmap = fmap or field_map()
    row: dict[str, Any] = dict.fromkeys(COLUMN_NAMES)
    for key, value in event.items():
        col = fmap.get(key, key if key in EVENT_COLUMNS else None)
        if col is None or value is None:
            continue
        typ = EVENT_COLUMNS[col]
        if col == "ts":
            row[col] = parse_ts(str(value))
        elif typ in ("INTEGER", "BIGINT"):
            row[col] = int(value)
        elif typ == "BOOLEAN":
            row[col] = str(value).lower() == "true" if isinstance(value, str) else bool(value)
        else:
            row[col] = str(value)
    code = row["event_code"] or 0
    row["event_provider"] = row["event_provider"] or ("security" if code in (4688, 4624) else "sysmon")
    row["event_dataset"] = row["event_dataset"] or row["event_provider"]
    row["event_category"] = row["event_category"] or _CATEGORY.get(code)
    if row["process_executable"] and not row["process_name"]:
        row["process_name"] = re.split(r"[\\/]", row["process_executable"])[-1].lower()
    if row["process_parent_executable"] and not row["process_parent_name"]:
        row["process_parent_name"] = re.split(r"[\\/]", row["process_parent_executable"])[-1].lower()
    row["event_uid"] = row["event_uid"] or f"test:{index}"
    row["ts"] = row["ts"] or datetime(2026, 3, 2, 10, 0, 0)
    return row


@dataclass
class MemoryStore:
    """The part of ``cabhunt.store.Store`` detection uses, over an in-memory DuckDB."""

    con: Any
    duck: Any

    def events(self) -> Any:
        return self.con.table("events")

    def close(self) -> None:
        self.duck.close()


def make_store(events: list[dict[str, Any]]) -> MemoryStore:
    import duckdb
    import ibis

    duck = duckdb.connect(":memory:")
    duck.execute(create_table_sql())
    fmap = field_map()
    rows = [to_row(e, i, fmap) for i, e in enumerate(events)]
    if rows:
        placeholders = ", ".join("?" for _ in COLUMN_NAMES)
        duck.executemany(f"INSERT INTO events VALUES ({placeholders})", [[r[c] for c in COLUMN_NAMES] for r in rows])
    return MemoryStore(con=ibis.duckdb.from_connection(duck), duck=duck)


def proc(cmd: str, image: str = r"C:\Windows\System32\makecab.exe", **kw: Any) -> dict[str, Any]:
    """A Sysmon EID 1 event."""
    ev: dict[str, Any] = {"EventID": 1, "Computer": "WS01", "Image": image, "CommandLine": cmd}
    ev.update(kw)
    return ev
