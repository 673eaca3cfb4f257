"""The DuckDB store: one database file holding events, the ingest ledger and alerts.

Readers write through :meth:`Store.append_events` (a SELECT producing the event columns) and
:meth:`Store.record_ledger`, so another engine (a Parquet directory, later) only has to provide
those two writes and ``events()``; detection and investigation read through Ibis (``con``) and
never depend on DuckDB directly.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cabhunt.schema import create_table_sql
from cabhunt.store.tables import ALERTS_DDL, LEDGER_COLUMNS, LEDGER_DDL, PENDING_DDL

if TYPE_CHECKING:
    import duckdb
    import ibis
    from ibis.backends.duckdb import Backend as IbisDuckDB


class Store:
    """Events, ledger and alerts in one DuckDB file (in memory, temporary, unless ``db`` is given)."""

    def __init__(
        self, duck: duckdb.DuckDBPyConnection, path: Path, tmpdir: Path | None, memory_limit: str | None = None
    ) -> None:
        self.duck = duck
        self.memory_limit = memory_limit  # as configured (DuckDB reports it rounded)
        self.path = path
        self._tmpdir = tmpdir
        self._ibis: IbisDuckDB | None = None
        self._events_table: ibis.Table | None = None
        self._keep_raw = True
        # The limit ingest runs under when it differs from the store's own (a hunt's store is
        # sized for its queries; see :func:`cabhunt.store.factory.open_store`).
        self.ingest_memory_limit: str | None = None

    @classmethod
    def open(cls, db: Path | None = None, *, memory_limit: str = "3GB", threads: int | None = None) -> Store:
        """Open (creating if needed) a store; without ``db`` a temporary one deleted on close.

        The temporary store of a one-shot hunt lives in memory: nothing is kept after the run,
        so writing (and compressing) every event to a database file is wasted work -- about a
        third of ingest time. It still spills to its temporary directory (``path``) beyond the
        memory limit, so its footprint stays bounded however large the input.
        """
        import duckdb

        tmpdir: Path | None = None
        if db is None:
            tmpdir = Path(tempfile.mkdtemp(prefix="cabhunt-"))
            path = tmpdir / "spill"
            path.mkdir()
            spill = path
            con = duckdb.connect(":memory:")
            _warm_ibis()
        else:
            path = Path(db)
            path.parent.mkdir(parents=True, exist_ok=True)
            spill = path.parent / f".{path.name}.tmp"
            con = duckdb.connect(str(path))
        con.execute(f"SET memory_limit = '{_sql_str(memory_limit)}'")
        con.execute(f"SET threads = {int(threads or os.cpu_count() or 1)}")
        con.execute("SET TimeZone = 'UTC'")
        # Events are mostly long text (command lines, the raw record). zstd writes them about twice
        # as fast as the default analysis and compresses them about twice as well.
        con.execute("SET force_compression = 'zstd'")
        # Large per-file ingest transactions must be able to spill instead of failing.
        con.execute(f"SET temp_directory = '{_sql_str(str(spill))}'")
        con.execute(create_table_sql("events"))
        con.execute(LEDGER_DDL)
        con.execute(ALERTS_DDL)
        con.execute(PENDING_DDL)
        return cls(con, path, tmpdir, memory_limit)

    @property
    def keep_raw(self) -> bool:
        """False for a one-shot hunt that writes no case bundle: nothing would ever read the raw
        records, which are most of the bytes ingest writes (see :meth:`append_events`)."""
        return self._keep_raw

    @keep_raw.setter
    def keep_raw(self, keep: bool) -> None:
        self._keep_raw = keep
        # zstd suits the raw text; without it DuckDB's own encodings (dictionary, FSST, bit
        # packing) hold the same events in a third of the memory (1M events: 149 MB, not 446 MB)
        self.duck.execute(f"SET force_compression = '{'zstd' if keep else 'auto'}'")

    # -- reading -------------------------------------------------------------------------------
    @property
    def con(self) -> IbisDuckDB:
        """The Ibis backend over the same connection (created on first use: Ibis is slow to import)."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.duck)
        return self._ibis

    def events(self) -> ibis.Table:
        """The normalized events table (columns: :data:`cabhunt.schema.EVENT_COLUMNS`).

        The Ibis reference is made once: looking the table up costs a schema query, and a hunt
        asks for it hundreds of times. It names the table, so later inserts are still seen.
        """
        if self._events_table is None:
            self._events_table = self.con.table("events")
        return self._events_table

    def raw_events(self) -> ibis.Table:
        """The events with their raw records (here the same table as :meth:`events`)."""
        return self.events()

    def ledger(self) -> list[dict[str, Any]]:
        """One row per source file, in ingest order; JSON columns decoded."""
        cols = list(LEDGER_COLUMNS)
        rows = self.duck.execute(
            "SELECT " + ", ".join(f'"{c}"' for c in cols) + " FROM ingest_ledger ORDER BY started, path"
        ).fetchall()
        out = []
        for row in rows:
            rec = dict(zip(cols, row, strict=True))
            rec["skipped"] = json.loads(rec["skipped"]) if rec["skipped"] else {}
            rec["error_messages"] = json.loads(rec["error_messages"]) if rec["error_messages"] else []
            for key in ("started", "finished"):
                if rec[key] is not None:
                    rec[key] = rec[key].isoformat(timespec="milliseconds") + "Z"
            out.append(rec)
        return out

    def has_digest(self, sha256: str) -> str | None:
        """The path under which content with this digest was already ingested, if any."""
        row = self.duck.execute(
            "SELECT path FROM ingest_ledger WHERE sha256 = ? AND status IN ('ok', 'partial') LIMIT 1",
            [sha256],
        ).fetchall()
        return str(row[0][0]) if row else None

    def event_count(self) -> int:
        return int(self.duck.execute("SELECT count(*) FROM events").fetchall()[0][0])

    # -- writing -------------------------------------------------------------------------------
    def append_events(self, select_sql: str, params: Sequence[object] = ()) -> int:
        """Insert the rows of ``select_sql`` (event columns in schema order); returns the row count.

        Without :attr:`keep_raw` the ``raw`` column is written empty: the record text is still
        parsed, but neither copied nor compressed into the table.
        """
        if not self.keep_raw:
            select_sql = f"SELECT * REPLACE (NULL::VARCHAR AS raw) FROM ({select_sql})"
        rows = self.duck.execute(f"INSERT INTO events {select_sql}", list(params)).fetchall()
        return int(rows[0][0]) if rows else 0

    def record_ledger(self, row: Mapping[str, Any]) -> None:
        """Write one ledger row; a new row for the same path and digest replaces the old one."""
        self._write_ledger([row])

    def finish_files(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Ledger rows of files whose events are all written (and their pending marks dropped).

        Three statements for any number of rows; a subclass that overrides :meth:`record_ledger`
        (to persist the ledger elsewhere) still sees every row through it.
        """
        if type(self).record_ledger is not Store.record_ledger:
            for row in rows:
                self.record_ledger(row)
            return
        self._write_ledger(rows)

    def _write_ledger(self, rows: Sequence[Mapping[str, Any]]) -> None:
        if not rows:
            return
        columns: dict[str, list[Any]] = {col: [] for col in LEDGER_COLUMNS}
        for row in rows:
            for col in LEDGER_COLUMNS:
                value = row.get(col)
                if col == "sha256":
                    value = value or ""
                elif col == "skipped":
                    value = json.dumps(value or {})
                elif col == "error_messages":
                    value = json.dumps(value or [])
                elif col in ("started", "finished") and isinstance(value, str):  # a ledger read back from JSON
                    value = datetime.fromisoformat(value.rstrip("Z"))
                columns[col].append(value)
        # One statement for any number of rows: each column bound as a list and unnested (no
        # Arrow table, whose construction would import pandas).
        cols = ", ".join(f'"{c}"' for c in LEDGER_COLUMNS)
        lists = ", ".join(
            f"unnest(${i}::{'VARCHAR' if typ == 'JSON' else typ}[]) AS \"{col}\""
            for i, (col, typ) in enumerate(LEDGER_COLUMNS.items(), 1)
        )
        params = list(columns.values())
        try:
            self.duck.execute("BEGIN TRANSACTION")
            self.duck.execute(f"CREATE OR REPLACE TEMP TABLE _cabhunt_new_ledger AS SELECT {lists}", params)
            self.duck.execute(
                "DELETE FROM ingest_ledger WHERE (path, sha256) IN (SELECT path, sha256 FROM _cabhunt_new_ledger)"
            )
            self.duck.execute(f"INSERT INTO ingest_ledger ({cols}) SELECT {cols} FROM _cabhunt_new_ledger")
            self.duck.execute(
                "DELETE FROM ingest_pending WHERE sha256 IN (SELECT sha256 FROM _cabhunt_new_ledger WHERE sha256 <> '')"
            )
            self.duck.execute("DROP TABLE _cabhunt_new_ledger")
            self.duck.execute("COMMIT")
        except BaseException:
            self.duck.execute("ROLLBACK")
            raise

    def digests(self) -> dict[str, str]:
        """Digest -> path of every file already ingested (read once per run: the ledger is small)."""
        rows = self.duck.execute(
            "SELECT sha256, min(path) FROM ingest_ledger WHERE status IN ('ok', 'partial') GROUP BY sha256"
        ).fetchall()
        return {str(r[0]): str(r[1]) for r in rows}

    def mark_pending(self, files: Sequence[tuple[str, str]]) -> None:
        """``(sha256, path)`` of files whose first events are about to be written (see :meth:`recover`)."""
        if not files:
            return
        self.duck.execute(
            "INSERT INTO ingest_pending SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])",
            [[f[0] for f in files], [f[1] for f in files]],
        )

    def recover(self) -> list[str]:
        """Drop the events of files an interrupted run left half-written; returns their paths."""
        rows = self.duck.execute("SELECT DISTINCT sha256, path FROM ingest_pending").fetchall()
        for sha256, _path in rows:
            self.duck.execute("DELETE FROM events WHERE starts_with(event_uid, ?)", [str(sha256)[:16] + ":"])
            self.duck.execute("DELETE FROM ingest_pending WHERE sha256 = ?", [sha256])
        return [str(r[1]) for r in rows]

    # -- alerts --------------------------------------------------------------------------------
    def save_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Upsert ``Alert.to_dict()`` documents by ``event.id``."""
        rows = []
        for doc in alerts:
            event = doc.get("event") or {}
            cab = doc.get("cabhunt") or {}
            rows.append(
                [
                    str(event["id"]),
                    (doc.get("rule") or {}).get("slug"),
                    (doc.get("host") or {}).get("name"),
                    doc.get("@timestamp"),
                    cab.get("verdict"),
                    cab.get("score"),
                    json.dumps(doc, ensure_ascii=False, default=str),
                ]
            )
        if not rows:
            return
        self.duck.executemany("INSERT OR REPLACE INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def alerts(self) -> list[dict[str, Any]]:
        rows = self.duck.execute("SELECT doc FROM alerts ORDER BY ts, id").fetchall()
        return [json.loads(r[0]) for r in rows]

    def load_alert(self, alert_id: str) -> dict[str, Any] | None:
        rows = self.duck.execute("SELECT doc FROM alerts WHERE id = ?", [alert_id]).fetchall()
        return json.loads(rows[0][0]) if rows else None

    # -- lifetime ------------------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection; a temporary store's directory is removed."""
        self._ibis = None
        self._events_table = None
        try:
            self.duck.close()
        finally:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def size_bytes(text: str) -> int | None:
    """A DuckDB size as configured or as DuckDB renders it ('512MB', '122.0 MiB', '3GB') in bytes."""
    import re

    m = re.fullmatch(r"\s*([0-9.]+)\s*([KMGT]?)(i?)B?\s*", text, re.I)
    if m is None:
        return None
    base = 1024 if m.group(3) else 1000
    power = " KMGT".index(m.group(2).upper() or " ")
    return int(float(m.group(1)) * base**power)


def _warm_ibis() -> None:
    """Import Ibis (and load the compiled rules) in the background: a temporary store is queried
    right after its ingest.

    The imports take about half a second of pure Python, which overlaps the ingest (DuckDB
    releases the GIL) instead of delaying the first query.
    """
    import contextlib
    import threading

    def work() -> None:
        with contextlib.suppress(Exception):  # the real import in ``con`` reports any failure
            import ibis.backends.duckdb  # noqa: F401

            from cabhunt.detect import warm_up

            warm_up()

    threading.Thread(target=work, name="cabhunt-ibis-import", daemon=True).start()


def _sql_str(text: str) -> str:
    return text.replace("'", "''")
