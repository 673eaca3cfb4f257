"""Batches of raw JSON records -> the events table, normalized by a compiled field map in SQL.

Records are buffered per field map across files (a fleet collection is thousands of small EVTX
files; one SQL round per file would cost more than the parsing) and flushed as one Arrow
table: one statement parses every record once into a staging table (all the map's JSON paths
at a time), one counts broken and skipped records per file, one INSERT ... SELECT writes the
events. No per-record Python work.

Every statement commits on its own (no long transactions holding a whole file in memory, and a
failed statement can be retried). A file is marked *pending* in the store before its first
events are written and gets its ledger row when its last ones are; a run that dies in between
leaves the mark, and the next run deletes that file's events and reads it again
(:meth:`Store.recover`), so a file is never half in the store.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from cabhunt.ingest.batch import BATCH_BYTES, BATCH_RECORDS, Batch
from cabhunt.ingest.ledger import REPORT_PER_FILE, FileStats
from cabhunt.normalize import CompiledMap
from cabhunt.store import Store

COMMIT_SECONDS = 10.0


@dataclass
class _Source:
    """A file feeding the buffer: its stats and the per-file values the SQL needs."""

    stats: FileStats
    key: str | None
    label: str
    marked: bool = False  # pending mark written (before its first events)


@dataclass
class _Pending:
    cmap: CompiledMap
    tables: list[Any] = field(default_factory=list)  # pyarrow tables (fk, id, line)
    records: int = 0
    nbytes: int = 0


class Loader:
    """Collects batches from many files and writes them with few, large SQL statements."""

    def __init__(self, store: Store, *, flush_records: int = BATCH_RECORDS, flush_bytes: int = BATCH_BYTES) -> None:
        self.store = store
        self.flush_records = flush_records
        self.flush_bytes = flush_bytes
        self._sources: dict[int, _Source] = {}
        self._pending: dict[str, _Pending] = {}
        self._done: list[FileStats] = []
        self._next_fk = 0
        self._known: dict[str, str] | None = None
        self._last_commit = time.monotonic()

    # -- feeding -------------------------------------------------------------------------------
    def open_file(self, stats: FileStats, *, key: str | None, label: str) -> int:
        """Register a file about to be read; returns its key in the staging tables."""
        self._next_fk += 1
        fk = self._next_fk
        self._sources[fk] = _Source(stats, key, label)
        if self._known is None:
            self._known = self.store.digests()
        self._known.setdefault(stats.sha256, str(stats.path))
        return fk

    def known_digest(self, sha256: str) -> str | None:
        """The path under which this content is already in the store or read in this run."""
        if self._known is None:
            self._known = self.store.digests()
        return self._known.get(sha256)

    def add(self, fk: int, cmap: CompiledMap, batch: Batch) -> None:
        import numpy as np
        import pyarrow as pa

        n = len(batch)
        if not n:
            return
        if batch.ids is not None:
            ids = pa.array(np.asarray(batch.ids, dtype=np.int64))
        else:
            ids = pa.array(np.arange(batch.first_id, batch.first_id + n, dtype=np.int64))
        lines = batch.arrow if batch.arrow is not None else pa.array(batch.texts, type=pa.string())
        table = pa.table({"_fk": pa.array(np.full(n, fk, dtype=np.int32)), "id": ids, "line": lines})
        pending = self._pending.setdefault(cmap.shape, _Pending(cmap))
        pending.tables.append(table)
        pending.records += n
        pending.nbytes += lines.nbytes
        if pending.records >= self.flush_records or pending.nbytes >= self.flush_bytes:
            self._flush(pending)

    def file_done(self, stats: FileStats) -> None:
        """The file is fully read; commit when enough has accumulated."""
        self._done.append(stats)
        volume = sum(p.records for p in self._pending.values())
        nbytes = sum(p.nbytes for p in self._pending.values())
        if (
            volume >= self.flush_records
            or nbytes >= self.flush_bytes
            or time.monotonic() - self._last_commit > COMMIT_SECONDS
        ):
            self.commit()

    def commit(self) -> None:
        """Flush everything buffered, write the ledger rows of finished files, commit."""
        for pending in list(self._pending.values()):
            self._flush(pending)
        for stats in self._done:
            stats.finish()
        self.store.finish_files([stats.row() for stats in self._done])
        self._done = []
        self._sources.clear()  # commits happen between files: none is open
        self._last_commit = time.monotonic()

    def abort(self) -> None:
        """Forget what is buffered; files left pending are cleaned up and read again next run."""
        self._pending.clear()
        self._done = []
        self._sources.clear()

    # -- SQL -----------------------------------------------------------------------------------
    def _flush(self, pending: _Pending) -> None:
        import duckdb
        import pyarrow as pa

        if not pending.tables:
            return
        table = pa.concat_tables(pending.tables)
        pending.tables, pending.records, pending.nbytes = [], 0, 0
        fks = sorted(self._sources)
        files = pa.table(
            {
                "_fk": pa.array(fks, type=pa.int32()),
                "_uid_prefix": [self._sources[k].stats.sha256[:16] + ":" for k in fks],
                "_src_file": [str(self._sources[k].stats.path) for k in fks],
                "_src_format": [self._sources[k].stats.format for k in fks],
                "_default_key": [self._sources[k].key for k in fks],
            }
        )
        unmarked = [src for src in self._sources.values() if not src.marked]
        self.store.mark_pending([(src.stats.sha256, str(src.stats.path)) for src in unmarked])
        for src in unmarked:
            src.marked = True
        duck = self.store.duck
        duck.register("_cabhunt_batch", table)
        duck.register("_cabhunt_files", files)
        try:
            try:
                duck.execute(_stage_sql(pending.cmap, guarded=False))
            except duckdb.InvalidInputException:
                # Some line is not JSON: parse again, validating each line first (slower, rare).
                duck.execute(_stage_sql(pending.cmap, guarded=True))
        finally:
            duck.unregister("_cabhunt_batch")
            duck.unregister("_cabhunt_files")
        self._count(pending.cmap)
        self.store.append_events(pending.cmap.events_sql("_cabhunt_stage"))
        duck.execute("DROP TABLE IF EXISTS _cabhunt_stage")

    def _count(self, cmap: CompiledMap) -> None:
        duck = self.store.duck
        per_file = duck.execute(
            "SELECT _fk, count(*), count(*) FILTER (WHERE _s IS NULL) FROM _cabhunt_stage GROUP BY _fk"
        ).fetchall()
        any_bad = False
        for fk, total, bad in per_file:
            stats = self._sources[int(fk)].stats
            stats.records_read += int(total)
            any_bad = any_bad or bool(bad)
        if any_bad:
            first = duck.execute(
                f"SELECT _fk, id FROM _cabhunt_stage WHERE _s IS NULL "
                f"QUALIFY row_number() OVER (PARTITION BY _fk ORDER BY id) <= {REPORT_PER_FILE} ORDER BY _fk, id"
            ).fetchall()
            shown: dict[int, int] = {}
            for fk, rec in first:
                src = self._sources[int(fk)]
                if src.stats.errors < REPORT_PER_FILE:
                    src.stats.error("not valid JSON", int(rec), label=src.label)
                    shown[int(fk)] = shown.get(int(fk), 0) + 1
            for fk, _total, bad in per_file:
                if bad:
                    self._sources[int(fk)].stats.errors += int(bad) - shown.get(int(fk), 0)
        for fk, keep, reason, count in duck.execute(cmap.counts_sql("_cabhunt_stage")).fetchall():
            stats = self._sources[int(fk)].stats
            if keep:
                stats.normalized += int(count)
            else:
                stats.skip(str(reason), int(count))


def _stage_sql(cmap: CompiledMap, *, guarded: bool) -> str:
    """Materialize the batch with its records parsed into ``_s`` (once per record)."""
    structure = "'" + cmap.structure.replace("'", "''") + "'"
    parsed = f"json_transform(b.line, {structure})"
    if guarded:
        parsed = f"CASE WHEN json_valid(b.line) THEN {parsed} END"
    return (
        "CREATE OR REPLACE TEMP TABLE _cabhunt_stage AS "
        f"SELECT b._fk, b.id, b.line, {parsed} AS _s, f._uid_prefix, f._src_file, f._src_format, f._default_key "
        "FROM _cabhunt_batch b JOIN _cabhunt_files f USING (_fk)"
    )
