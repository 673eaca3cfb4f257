"""DDL of the store's tables besides ``events`` (which comes from :mod:`cabhunt.schema`).

The ledger and the alerts table are small; their layout is the same whatever engine keeps the
events, so a Parquet-backed store can reuse them unchanged.
"""

from __future__ import annotations

LEDGER_COLUMNS: dict[str, str] = {
    "path": "VARCHAR",
    "sha256": "VARCHAR",  # '' when the file could not be read at all
    "format": "VARCHAR",  # evtx | xml | winlogbeat_raw | ecs | flat_sysmon | evtx_json | zeek | squid | unknown
    "size": "BIGINT",
    "status": "VARCHAR",  # ok | partial | failed | duplicate
    "records_read": "BIGINT",
    "normalized": "BIGINT",
    "skipped": "JSON",  # {"reason": count}
    "errors": "BIGINT",
    "error_messages": "JSON",  # first messages, ["line 7: not valid JSON", ...]
    "started": "TIMESTAMP",
    "finished": "TIMESTAMP",
}

LEDGER_DDL = (
    "CREATE TABLE IF NOT EXISTS ingest_ledger (\n  "
    + ",\n  ".join(f'"{k}" {v}' for k, v in LEDGER_COLUMNS.items())
    + "\n)"
)

ALERTS_DDL = """CREATE TABLE IF NOT EXISTS alerts (
  "id" VARCHAR PRIMARY KEY,
  "rule_slug" VARCHAR,
  "host" VARCHAR,
  "ts" VARCHAR,
  "verdict" VARCHAR,
  "score" INTEGER,
  "doc" JSON
)"""

# Files whose events are being written; a row left here by an interrupted run marks events to drop.
PENDING_DDL = """CREATE TABLE IF NOT EXISTS ingest_pending (
  "sha256" VARCHAR,
  "path" VARCHAR
)"""
