"""The columnar fleet store: normalized events as Parquet, partitioned by day and host.

Layout of a store directory (shared storage works: every write is a new file)::

    DIR/events/event_day=YYYY-MM-DD/host_key=<host>/part-<uuid>.parquet   (zstd)
    DIR/ledger.jsonl      one ingest-ledger row per source file (same columns as the DuckDB store)
    DIR/alerts.jsonl      Alert.to_dict() documents, upserted by event.id

Ingest goes through the ordinary DuckDB :class:`~cabhunt.store.Store` as a staging area (same
readers, field maps and ledger), then copies the staged events out as new Parquet files, so a
Parquet store is appendable, and idempotent exactly like the DuckDB file: a file whose digest is
in the ledger is skipped. Reading is a DuckDB view over the Parquet files (``events()``); the
Spark engine reads the same files (:mod:`cabhunt.engine.spark`). The partition columns are extra
(``event_day``, ``host_key``): every event column, ``host_name`` included, stays in the files so
both engines see the same schema.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cabhunt.schema import COLUMN_NAMES
from cabhunt.store.duckdb_store import Store, _sql_str, size_bytes
from cabhunt.store.tables import LEDGER_COLUMNS

if TYPE_CHECKING:
    import ibis

PARTITION_COLUMNS: tuple[str, ...] = ("event_day", "host_key")
HOT_TABLE = "fleet_hot"  # this run's copy of the events, without the raw record
HOT_DB = "cabhunt_hot"  # the attached database file, in the store's temporary folder, that holds it
HUNT_MEMORY_LIMIT = "128MB"
"""DuckDB memory limit of a hunt over a Parquet store. The events are read from a compressed copy
in a database file (:meth:`ParquetStore.events`), whose blocks the buffer drops and re-reads from
the operating system's cache at little cost, so a small buffer is enough; a larger one only
makes memory grow with the store."""
COPY_MEMORY_LIMIT = "256MB"
"""At least this much while the copy is made: below it the Parquet readers and the compressing
writer evict each other's blocks, and the copy of 10 million events takes twice as long."""
# Staged events are copied out to Parquet once this many have accumulated (bounded memory).
FLUSH_ROWS = 500_000


def events_dir(store_dir: Path) -> Path:
    return Path(store_dir) / "events"


def _ledger_path(store_dir: Path) -> Path:
    return Path(store_dir) / "ledger.jsonl"


def _alerts_path(store_dir: Path) -> Path:
    return Path(store_dir) / "alerts.jsonl"


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            line = line.strip()
            if line:
                out.append(json.loads(line))
    return out


def _write_jsonl_atomic(path: Path, docs: Sequence[Mapping[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for doc in docs:
            fh.write(json.dumps(doc, ensure_ascii=False, default=str) + "\n")
    tmp.replace(path)


def read_ledger(store_dir: Path) -> list[dict[str, Any]]:
    return _read_jsonl(_ledger_path(store_dir))


def read_alerts(store_dir: Path) -> list[dict[str, Any]]:
    docs = _read_jsonl(_alerts_path(store_dir))
    return sorted(docs, key=lambda d: (str(d.get("@timestamp")), str((d.get("event") or {}).get("id"))))


def find_alert(store_dir: Path, alert_id: str) -> dict[str, Any] | None:
    for doc in _read_jsonl(_alerts_path(store_dir)):
        if (doc.get("event") or {}).get("id") == alert_id:
            return doc
    return None


def save_alerts(store_dir: Path, alerts: Sequence[Mapping[str, Any]]) -> None:
    """Upsert alert documents by id (rewrites the small alerts file atomically)."""
    if not alerts:
        return
    by_id = {(d.get("event") or {}).get("id"): d for d in _read_jsonl(_alerts_path(store_dir))}
    for doc in alerts:
        by_id[(doc.get("event") or {}).get("id")] = dict(doc)
    Path(store_dir).mkdir(parents=True, exist_ok=True)
    _write_jsonl_atomic(_alerts_path(store_dir), list(by_id.values()))


class ParquetStore(Store):
    """A Parquet directory with the :class:`Store` interface (DuckDB reads it, ingest stages in DuckDB)."""

    store_dir: Path
    _cached: ibis.Table | None = None  # events materialised for this run
    _finished: set[str]  # digest prefixes of files whose events are all staged
    _pending_ledger: bool = False
    _by_name: bool = False  # the files differ in columns: read them by name

    @classmethod
    def open_dir(cls, store_dir: Path, *, memory_limit: str = "3GB", threads: int | None = None) -> ParquetStore:
        """Open (creating if needed) the store directory; staging happens in a temporary DuckDB file."""
        base = Store.open(None, memory_limit=memory_limit, threads=threads)
        store = cls(base.duck, base.path, base._tmpdir, memory_limit)
        store.store_dir = Path(store_dir)
        store.store_dir.mkdir(parents=True, exist_ok=True)
        store._finished = set()
        store._load_ledger()
        return store

    def _load_ledger(self) -> None:
        # one statement for the whole ledger: a fleet store lists thousands of files
        latest = {(r.get("path"), r.get("sha256")): r for r in read_ledger(self.store_dir)}
        self._write_ledger(list(latest.values()))

    # -- reading -------------------------------------------------------------------------------
    def _has_parquet(self) -> bool:
        return any(events_dir(self.store_dir).rglob("*.parquet"))

    def _define_view(self, *, by_name: bool = False) -> None:
        """``fleet_events``: the Parquet files (every event column is in them) plus staged rows.

        Files are matched by position against the first file's schema unless ``by_name``: every
        file cabhunt writes has the same columns, and matching by name costs about a gigabyte
        and a fifth more time on ten thousand files. A store whose files differ (written by
        another version) is read by name instead (see :meth:`events`). The partition folders
        are not read as columns: ``ts`` and ``host_name`` are in the files.
        """
        cols = ", ".join(f'"{c}"' for c in COLUMN_NAMES)
        if self._has_parquet():
            glob = _sql_str(str(events_dir(self.store_dir) / "**" / "*.parquet"))
            opts = "hive_partitioning = false" + (", union_by_name = true" if by_name else "")
            source = f"SELECT {cols} FROM read_parquet('{glob}', {opts}) UNION ALL SELECT {cols} FROM events"
        else:
            source = f"SELECT {cols} FROM events"
        self.duck.execute(f"CREATE OR REPLACE TEMP VIEW fleet_events AS {source}")

    def events(self) -> ibis.Table:
        """Events in the Parquet files plus any staged and not yet flushed, without ``raw``.

        The first call copies them once into a DuckDB table: a hunt asks a few dozen questions,
        and each re-read of thousands of small Parquet files costs seconds at fleet size. The raw
        record (most of the bytes) stays in the files (:meth:`raw_events`). The copy is a table
        of a database file in the store's temporary folder, not an in-memory one: there DuckDB
        compresses it (about seven times smaller) and evicts its blocks for free, where an
        in-memory table spills uncompressed, keeps bookkeeping per spilled block and is read back
        from the spill at every scan. At 10 million events hunts ran faster, in about 60 % of the
        memory (docs/benchmarks.md). Any write invalidates the copy.
        """
        if self._cached is not None:
            return self._cached
        import duckdb

        cols = ", ".join(f'"{c}"' for c in COLUMN_NAMES if c != "raw")
        with self._copy_settings():
            self._attach_hot()
            for by_name in (False, True):
                self._define_view(by_name=by_name)
                try:
                    self.duck.execute(f"CREATE OR REPLACE TABLE {HOT_DB}.{HOT_TABLE} AS SELECT {cols} FROM fleet_events")
                    self._by_name = by_name
                    break
                except duckdb.Error:
                    if by_name:
                        raise
        self._cached = self.con.table(HOT_TABLE, database=HOT_DB)
        return self._cached

    @contextlib.contextmanager
    def _copy_settings(self, memory_limit: str | None = None) -> Iterator[None]:
        """Session settings for making a copy (the hunt's, or staged events out to Parquet),
        put back afterwards.

        Row order is irrelevant (every query orders what it returns), and without it DuckDB reads
        the many small partition files in parallel: two to three times faster. DuckDB's own
        light-weight encodings (dictionary, FSST, RLE, bit-packing), unlike the zstd that suits
        the raw text of an ingest, keep every later scan cheap. The memory limit is raised to
        ``memory_limit`` (:data:`COPY_MEMORY_LIMIT` by default) for the copy only.
        """
        memory_limit = memory_limit or COPY_MEMORY_LIMIT
        duck = self.duck
        compression, limit = duck.execute(
            "SELECT current_setting('force_compression'), current_setting('memory_limit')").fetchall()[0]
        limit = _as_configured(str(limit), self.memory_limit)
        raise_limit = (size_bytes(limit) or 0) < (size_bytes(memory_limit) or 0)
        duck.execute("SET preserve_insertion_order = false")
        duck.execute("SET force_compression = 'auto'")
        if raise_limit:
            duck.execute(f"SET memory_limit = '{_sql_str(memory_limit)}'")
        try:
            yield
        finally:
            duck.execute("RESET preserve_insertion_order")
            duck.execute(f"SET force_compression = '{_sql_str(str(compression))}'")
            if raise_limit:
                duck.execute(f"SET memory_limit = '{_sql_str(limit)}'")

    def _attach_hot(self) -> None:
        """Attach the database file of this run's copy, in the store's temporary folder (which
        :meth:`open_dir` always makes and :meth:`close` removes)."""
        assert self._tmpdir is not None
        self.duck.execute(f"ATTACH IF NOT EXISTS '{_sql_str(str(self._tmpdir / 'hot.duckdb'))}' AS {HOT_DB}")

    def raw_events(self) -> ibis.Table:
        """Every event column including ``raw``, read from the files (for evidence export)."""
        self._define_view(by_name=self._by_name)
        return self.con.table("fleet_events")

    def _invalidate(self) -> None:
        if self._cached is not None:
            self._cached = None
            with contextlib.suppress(Exception):  # already dropped with its connection
                self.duck.execute(f"DROP TABLE IF EXISTS {HOT_DB}.{HOT_TABLE}")

    def event_count(self) -> int:
        from cabhunt import query

        return int(query.scalar(self.events().count()))

    # -- writing -------------------------------------------------------------------------------
    def append_events(self, select_sql: str, params: Sequence[object] = ()) -> int:
        self._invalidate()
        return super().append_events(select_sql, params)

    def record_ledger(self, row: Mapping[str, Any]) -> None:
        super().record_ledger(row)
        self._pending_ledger = True

    def finish_files(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Ledger rows of completed files; their events go out to Parquet once enough are staged.

        Only events of finished files are copied out, so an interrupted ingest never leaves a
        half-written file in the Parquet data, and staging stays bounded on large inputs.
        """
        super().finish_files(rows)
        self._finished.update(str(r.get("sha256") or "")[:16] for r in rows if r.get("sha256"))
        staged = int(self.duck.execute("SELECT count(*) FROM events").fetchall()[0][0])
        if staged >= FLUSH_ROWS:
            self.flush(only_finished=True)

    def flush(self, *, only_finished: bool = False) -> int:
        """Write staged events as new Parquet files and persist the ledger; returns rows written."""
        where = ""
        if only_finished:
            done = sorted(self._finished)
            if not done:
                return 0
            listed = ", ".join(f"'{_sql_str(d)}'" for d in done)
            where = f" WHERE substr(event_uid, 1, 16) IN ({listed})"
        staged = int(self.duck.execute(f"SELECT count(*) FROM events{where}").fetchall()[0][0])
        if staged:
            self._invalidate()
            target = _sql_str(str(events_dir(self.store_dir)))
            # Written under the ingest's limit at least: each open partition buffers its rows,
            # raw records included, and a hunt's query limit is too small for that.
            with self._copy_settings(self.ingest_memory_limit or COPY_MEMORY_LIMIT):
                self.duck.execute(
                    "COPY (SELECT *, coalesce(strftime(ts, '%Y-%m-%d'), 'unknown') AS event_day, "
                    "regexp_replace(lower(coalesce(host_name, 'unknown')), '[^a-z0-9._-]', '_', 'g') AS host_key "
                    f"FROM events{where}) TO '{target}' (FORMAT parquet, COMPRESSION zstd, "
                    "PARTITION_BY (event_day, host_key), APPEND, FILENAME_PATTERN 'part-{uuid}')"
                )
            self.duck.execute(f"DELETE FROM events{where}")
        if only_finished:
            self._finished = set()
        if self._pending_ledger:
            rows = []
            for rec in self.ledger():
                rows.append({k: rec.get(k) for k in LEDGER_COLUMNS})
            _write_jsonl_atomic(_ledger_path(self.store_dir), rows)
            self._pending_ledger = False
        return staged

    # -- alerts --------------------------------------------------------------------------------
    def save_alerts(self, alerts: Sequence[Mapping[str, Any]]) -> None:
        save_alerts(self.store_dir, alerts)

    def alerts(self) -> list[dict[str, Any]]:
        return read_alerts(self.store_dir)

    def load_alert(self, alert_id: str) -> dict[str, Any] | None:
        return find_alert(self.store_dir, alert_id)

    def close(self) -> None:
        try:
            self.flush()
            self._invalidate()
        finally:
            super().close()


def _as_configured(current: str, configured: str | None) -> str:
    """The limit to put back: as configured when DuckDB's (rounded) report is that one, else as
    reported (an ingest in progress holds its own)."""
    now, conf = size_bytes(current), size_bytes(configured or "")
    if conf and now and abs(now - conf) <= conf // 50:
        return str(configured)
    return current
