"""Batches of raw JSON records -> the events table, normalized by a compiled field map in SQL.

Records are buffered per field map across files (a fleet collection is thousands of small EVTX
files; one SQL round per file would cost more than the parsing) and flushed as one Arrow
table: one INSERT ... SELECT parses every record once (all the map's JSON paths at a time) and
writes the events. When some record was not written, a second statement takes the keep
decisions again from a parse of only the few fields they read, which gives the counts per file
and reason and the broken records. Input known to skip (whole EVTX channels, a mixed export
after its first flush) takes the decisions first, and the INSERT parses only the kept records.
Flushes run in a background thread while the next files are read. No per-record Python work.

Every statement commits on its own (no long transactions holding a whole file in memory, and a
failed statement can be retried). A file is marked *pending* in the store before its first
events are written and gets its ledger row when its last ones are; a run that dies in between
leaves the mark, and the next run deletes that file's events and reads it again
(:meth:`Store.recover`), so a file is never half in the store.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, TypeVar

from cabhunt.ingest.batch import BATCH_BYTES, BATCH_RECORDS, Batch, bool_array, int_array, string_array
from cabhunt.ingest.ledger import REPORT_PER_FILE, FileStats
from cabhunt.normalize import CompiledMap
from cabhunt.normalize.sql import sql_literal
from cabhunt.store import Store

T = TypeVar("T")
COMMIT_SECONDS = 10.0
EARLY_RECORDS = 32_768  # records many small files must gather before the idle flush thread takes them
SMALL_CHUNK = 2_048  # records; Arrow chunks averaging fewer are combined before the flush
CHUNKS_PER_THREAD = 2  # Arrow chunks per DuckDB thread in a flush (each thread scans whole chunks)


@dataclass
class _Source:
    """A file feeding the buffer: its stats and the per-file values the SQL needs."""

    stats: FileStats
    key: str | None
    label: str
    marked: bool = False  # pending mark written (before its first events)
    expect_skips: bool = False  # a whole-channel dump (EVTX, XML): most event ids are not used


@dataclass
class _Pending:
    cmap: CompiledMap
    tables: list[Any] = field(default_factory=list)  # pyarrow tables (_fk, id, line)
    # records handed over as Python strings (EVTX, XML, ...), joined into one Arrow array at the
    # flush: thousands of small per-file arrays would make DuckDB work on tiny vectors
    texts: list[str] = field(default_factory=list)
    text_ids: list[Any] = field(default_factory=list)  # per batch: list or numpy array of ids
    text_slots: list[tuple[int, int]] = field(default_factory=list)  # per batch: (slot, records)
    records: int = 0
    nbytes: int = 0
    # loader file key -> (1-based position in this flush, records sent); the ``_fk`` column holds
    # the position, which indexes the per-file value lists of the flush's SQL
    files: dict[int, list[int]] = field(default_factory=dict)


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
        self._skipping: dict[str, bool] = {}  # map shape -> its last flush did not keep every record
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[_Written] | None = None
        self._threads = int(store.duck.execute("SELECT current_setting('threads')").fetchall()[0][0])

    # -- feeding -------------------------------------------------------------------------------
    def open_file(self, stats: FileStats, *, key: str | None, label: str, expect_skips: bool = False) -> int:
        """Register a file about to be read; returns its key in the staging tables."""
        self._next_fk += 1
        fk = self._next_fk
        self._sources[fk] = _Source(stats, key, label, expect_skips=expect_skips)
        if self._known is None:
            self.wait()
            self._known = self.store.digests()
        self._known.setdefault(stats.sha256, str(stats.path))
        return fk

    def known_digest(self, sha256: str) -> str | None:
        """The path under which this content is already in the store or read in this run."""
        if self._known is None:
            self.wait()
            self._known = self.store.digests()
        return self._known.get(sha256)

    def add(self, fk: int, cmap: CompiledMap, batch: Batch) -> None:
        import numpy as np
        import pyarrow as pa

        n = len(batch)
        if not n:
            return
        pending = self._pending.setdefault(cmap.shape, _Pending(cmap))
        slot = pending.files.setdefault(fk, [len(pending.files) + 1, 0])
        slot[1] += n
        if batch.ids is not None:
            ids = batch.ids
        else:
            ids = np.arange(batch.first_id, batch.first_id + n, dtype=np.int64)
        if batch.arrow is None:
            pending.texts.extend(batch.texts)
            pending.text_ids.append(ids)
            pending.text_slots.append((slot[0], n))
            pending.nbytes += sum(map(len, batch.texts))
        else:
            _texts_to_table(pending)  # keeps the records in the order they came
            fks = int_array(np.full(n, slot[0]), 32)
            pending.tables.append(pa.Table.from_arrays([fks, int_array(ids), batch.arrow], names=["_fk", "id", "line"]))
            pending.nbytes += batch.arrow.nbytes
        pending.records += n
        if pending.records >= self.flush_records or pending.nbytes >= self.flush_bytes:
            self._flush(pending, background=True)

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
            return
        if self._inflight is None or self._inflight.done():
            # The flush thread is idle: give it what many small files have gathered so far.
            for pending in self._pending.values():
                if pending.records >= EARLY_RECORDS and len(pending.files) > 1:
                    self._flush(pending, background=True)
                    break

    def commit(self) -> None:
        """Flush everything buffered, write the ledger rows of finished files, commit."""
        self.wait()
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
        job, self._inflight = self._inflight, None
        if job is not None:
            with suppress(BaseException):  # the failure being handled is reported by the caller
                job.result()
        self._pending.clear()
        self._done = []
        self._sources.clear()

    # -- SQL -----------------------------------------------------------------------------------
    def wait(self) -> None:
        """Finish the flush running in the background and apply its counts.

        Counts are applied here, on the thread that reads files (a reader updates the same
        per-file counters), and nothing else uses the connection while a flush runs.
        """
        job, self._inflight = self._inflight, None
        if job is not None:
            self._apply(job.result())

    def close(self) -> None:
        """Stop the flush thread (after :meth:`commit` or :meth:`abort`)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def _flush(self, pending: _Pending, *, background: bool = False) -> None:
        """Hand the buffered records of one map to DuckDB; in the flush thread if ``background``.

        One flush runs at a time; in the background, reading the next files (the EVTX parser,
        Python) overlaps DuckDB's work on this batch.
        """
        if not pending.files:
            return
        self.wait()
        table = _batch_table(pending, self._threads)
        files = pending.files
        pending.tables, pending.records, pending.nbytes, pending.files = [], 0, 0, {}
        unmarked = [self._sources[fk] for fk in files if not self._sources[fk].marked]
        for src in unmarked:
            src.marked = True
        sources = [self._sources[fk] for fk in files]  # in slot order
        sent = [n for _slot, n in files.values()]
        cmap = pending.cmap
        skipping = self._skipping.get(cmap.shape)
        decide_first = bool(skipping or (skipping is None and any(src.expect_skips for src in sources)))
        marks = [(src.stats.sha256, str(src.stats.path)) for src in unmarked]
        if background:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cabhunt-flush")
            self._inflight = self._pool.submit(self._write, cmap, table, sources, sent, marks, decide_first)
        else:
            self._apply(self._write(cmap, table, sources, sent, marks, decide_first))

    def _write(
        self, cmap: CompiledMap, table: Any, sources: list[_Source], sent: list[int],
        marks: list[tuple[str, str]], decide_first: bool,
    ) -> _Written:
        """Parse, normalize and insert the records; SQL and array work only (no counters touched).

        Usually every record is kept (a Winlogbeat or SIEM export): one INSERT does it all, and
        when it wrote as many events as records were sent the per-file counts are known
        already; otherwise the keep decisions are taken again from a parse of only the few
        fields they read. ``decide_first`` (input known to skip: EVTX channels, mixed exports)
        takes the decisions first, and the INSERT then parses and normalizes only the kept.
        """
        self.store.mark_pending(marks)
        duck = self.store.duck
        done = _Written(cmap.shape, sources, sent)
        duck.register("_cabhunt_batch", table)
        try:
            with _flush_settings(duck):
                if not decide_first:
                    _guarded, written = _unguarded_first(
                        lambda g: self.store.append_events(cmap.events_sql(_batch_sql(cmap, sources, g)))
                    )
                    if written == sum(sent):
                        return done
                    _decide(duck, cmap, table, sources, done)
                    return done
                keep = _decide(duck, cmap, table, sources, done)
                if keep is not None:
                    duck.unregister("_cabhunt_batch")
                    duck.register("_cabhunt_batch", table.append_column("_k", keep))
                    self.store.append_events(cmap.events_sql(_batch_sql(cmap, sources, False, where="_k")))
        finally:
            duck.unregister("_cabhunt_batch")
        return done

    def _apply(self, done: _Written) -> None:
        """Per file of a flush: records read, kept, skipped by reason, and broken (not JSON)."""
        for src, n in zip(done.sources, done.sent, strict=True):
            src.stats.records_read += n
        if done.counts is None:  # every record was written
            for src, n in zip(done.sources, done.sent, strict=True):
                src.stats.normalized += n
            self._skipping[done.shape] = False
            return
        skipped = False
        for slot, keep, reason, count in done.counts:
            stats = done.sources[int(slot) - 1].stats
            if keep:
                stats.normalized += int(count)
            else:
                skipped = True
                stats.skip(str(reason), int(count))
        broken = [n - p for n, p in zip(done.sent, done.parsed, strict=True)]
        shown = [0] * len(done.sources)
        for slot, rec in done.first_bad:
            src = done.sources[int(slot) - 1]
            if src.stats.errors < REPORT_PER_FILE:
                src.stats.error("not valid JSON", int(rec), label=src.label)
                shown[int(slot) - 1] += 1
        for src, bad, seen in zip(done.sources, broken, shown, strict=True):
            src.stats.errors += bad - seen
        self._skipping[done.shape] = skipped or any(broken)


@dataclass
class _Written:
    """What one flush wrote, for :meth:`Loader._apply`: counts per slot, the first broken records."""

    shape: str
    sources: list[_Source]
    sent: list[int]
    counts: list[tuple[Any, ...]] | None = None  # (slot, kept, reason, records) of parsed records
    parsed: list[int] = field(default_factory=list)
    first_bad: list[tuple[Any, ...]] = field(default_factory=list)


def _decide(duck: Any, cmap: CompiledMap, table: Any, sources: list[_Source], done: _Written) -> Any:
    """Keep decisions for every record of the registered batch, from a parse of only the fields
    they read: fills ``done`` (counts per file and reason, records parsed, first broken ones)
    and returns the keep mask as an Arrow boolean array (None when no record is kept)."""
    import numpy as np

    _guarded, result = _unguarded_first(
        lambda g: duck.sql(cmap.decisions_sql(_decision_stage(cmap, sources, g))).to_arrow_table()
    )
    n = table.num_rows
    fks = _ints(table["_fk"])
    rows = _ints(result["_row"])
    kept = _bools(result["_keep"])
    slots = len(sources)
    counts: list[tuple[Any, ...]] = []
    per_slot = np.bincount(fks[rows[kept]], minlength=slots + 1)
    counts += [(slot, True, None, int(c)) for slot, c in enumerate(per_slot) if c]
    reasons = result["_reason"].combine_chunks().dictionary_encode()
    names = reasons.dictionary.to_pylist()
    if names:
        codes = _ints(reasons.indices, nulls=True)[~kept]  # a kept record's reason is null
        pairs = np.bincount(fks[rows[~kept]] * len(names) + codes, minlength=(slots + 1) * len(names))
        counts += [(int(i) // len(names), False, names[int(i) % len(names)], int(pairs[i])) for i in np.flatnonzero(pairs)]
    done.counts = counts
    done.parsed = [int(c) for c in np.bincount(fks[rows], minlength=slots + 1)[1:]]
    parsed = np.zeros(n, dtype=bool)
    parsed[rows] = True
    done.first_bad = _first_broken(fks, table["id"], np.flatnonzero(~parsed))
    if not kept.any():
        return None
    mask = np.zeros(n, dtype=bool)
    mask[rows[kept]] = True
    return bool_array(mask)


def _first_broken(fks: Any, ids: Any, bad: Any) -> list[tuple[int, int]]:
    """``(slot, id)`` of the first REPORT_PER_FILE broken records of each file, by id."""
    import numpy as np

    if not len(bad):
        return []
    bad_ids = _ints(ids)[bad]
    order = np.lexsort((bad_ids, fks[bad]))
    bad_fk, bad_id = fks[bad][order], bad_ids[order]
    rank = np.arange(len(bad_fk)) - np.searchsorted(bad_fk, bad_fk, side="left")
    first = rank < REPORT_PER_FILE
    return list(zip(bad_fk[first].tolist(), bad_id[first].tolist(), strict=True))


# pyarrow's ``to_numpy`` imports pandas (a fifth of a second, on the first flush of every run):
# the few columns read back are taken from their buffers instead.


def _ints(column: Any, *, nulls: bool = False) -> Any:
    """An integer Arrow column (chunked or not) as one numpy int64 array; without ``nulls`` it
    must have none, with it the values at null positions are whatever the buffer holds."""
    import numpy as np
    import pyarrow as pa

    parts = [np.zeros(0, dtype=np.int64)]
    for chunk in getattr(column, "chunks", [column]):
        if not len(chunk):
            continue
        if (chunk.null_count and not nulls) or not pa.types.is_signed_integer(chunk.type) or chunk.type.bit_width not in (32, 64):
            raise TypeError(f"not an int32/int64 column without nulls: {chunk.type}")
        dtype = np.int32 if chunk.type.bit_width == 32 else np.int64
        width = chunk.type.bit_width // 8
        parts.append(np.frombuffer(chunk.buffers()[1], dtype=dtype, count=len(chunk), offset=chunk.offset * width))
    return np.concatenate(parts).astype(np.int64, copy=False)


def _bools(column: Any) -> Any:
    """A boolean Arrow column (chunked or not) as one numpy bool array; null counts as false."""
    import numpy as np
    import pyarrow as pa

    def bits(buffer: Any, offset: int, n: int) -> Any:
        return np.unpackbits(np.frombuffer(buffer, dtype=np.uint8), bitorder="little")[offset : offset + n].astype(bool)

    parts = [np.zeros(0, dtype=bool)]
    for chunk in getattr(column, "chunks", [column]):
        if not len(chunk):
            continue
        if not pa.types.is_boolean(chunk.type):
            raise TypeError(f"not a boolean column: {chunk.type}")
        validity, values = chunk.buffers()[:2]
        part = bits(values, chunk.offset, len(chunk))
        if chunk.null_count:
            part &= bits(validity, chunk.offset, len(chunk))
        parts.append(part)
    return np.concatenate(parts)


def _unguarded_first(run: Callable[[bool], T]) -> tuple[bool, T]:
    """``run(guarded)``: first parsing every line as it is, and if some line is not JSON (DuckDB
    then fails the whole statement, which writes nothing) again validating each line first
    (slower, rare). Returns whether the guarded parse was needed, and the result."""
    import duckdb

    try:
        return False, run(False)
    except duckdb.InvalidInputException:
        return True, run(True)


def _texts_to_table(pending: _Pending) -> None:
    """Move the records buffered as strings into one Arrow table at the end of ``tables``."""
    import numpy as np
    import pyarrow as pa

    if not pending.texts:
        return
    slots = np.repeat(
        np.array([s for s, _n in pending.text_slots], dtype=np.int32),
        np.array([n for _s, n in pending.text_slots], dtype=np.int64),
    )
    ids = np.concatenate([np.asarray(i, dtype=np.int64) for i in pending.text_ids])
    lines = _utf8_array(pending.texts)
    pending.tables.append(pa.Table.from_arrays([int_array(slots, 32), int_array(ids), lines], names=["_fk", "id", "line"]))
    pending.texts, pending.text_ids, pending.text_slots = [], [], []


def _utf8_array(texts: list[str]) -> Any:
    """:func:`string_array` of ``texts``, faster for records that are not all ASCII.

    Each text is encoded on its own (a copy for ASCII ones) and the bytes joined: joining the
    texts first makes one wide string as soon as one is not ASCII, four bytes a character.
    """
    import numpy as np
    import pyarrow as pa

    try:
        encoded = [t.encode("utf-8") for t in texts]
    except UnicodeEncodeError:  # a lone surrogate: pyarrow's generic path decides
        return string_array(texts)
    n = len(encoded)
    lengths = np.fromiter(map(len, encoded), np.int64, n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    if offsets[-1] >= 2**31:
        return string_array(texts)
    blob = b"".join(encoded)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(blob))


def _batch_table(pending: _Pending, threads: int) -> Any:
    """The buffered records as one Arrow table ``(_fk, id, line, _row)`` in large chunks."""
    import numpy as np
    import pyarrow as pa

    _texts_to_table(pending)
    table = pa.concat_tables(pending.tables)
    chunks = table["line"].num_chunks
    if chunks > 1 and table.num_rows / chunks < SMALL_CHUNK:
        table = table.combine_chunks()  # many small files: DuckDB would work on tiny vectors
    # ``_row`` (the position) ties the keep decisions back to the records.
    table = table.append_column("_row", int_array(np.arange(table.num_rows), 32))
    # DuckDB scans an Arrow table chunk by chunk, one thread each: slice (without copying) into
    # several chunks per thread, so that no thread idles while another scans the last one.
    rows = max(SMALL_CHUNK, -(-table.num_rows // (CHUNKS_PER_THREAD * max(1, threads))))
    return pa.Table.from_batches(table.to_batches(max_chunksize=rows), schema=table.schema)


def _parse_sql(structure: str, *, guarded: bool) -> str:
    """Every JSON path of ``structure``, parsed from ``line`` in one call (NULL when not JSON)."""
    parsed = f"json_transform(line, {sql_literal(structure)})"
    return f"CASE WHEN json_valid(line) THEN {parsed} END" if guarded else parsed


def _batch_sql(cmap: CompiledMap, sources: list[_Source], guarded: bool, where: str | None = None) -> str:
    """The registered batch as the staging relation the compiled map reads (parsed once per record).

    Per-file values come from literal lists indexed by the ``_fk`` slot (a join with a table
    of files would cost more than the parsing); a single file's are plain constants. ``where``
    filters the batch's rows before anything is parsed.
    """
    parsed = _parse_sql(cmap.structure, guarded=guarded)
    filtered = f" WHERE {where}" if where else ""
    return f"(SELECT _fk, id, line, {parsed} AS _s, {_per_file_sql(sources)} FROM _cabhunt_batch{filtered})"


def _decision_stage(cmap: CompiledMap, sources: list[_Source], guarded: bool) -> str:
    """The batch as the relation the keep decisions read: the few fields they need, parsed."""
    return f"(SELECT _row, _fk, id, {_parse_sql(cmap.keep_structure, guarded=guarded)} AS _s, {_per_file_sql(sources)} FROM _cabhunt_batch)"


def _per_file_sql(sources: list[_Source]) -> str:
    """The per-file columns of the staging relation, indexed by the ``_fk`` slot."""

    def per_file(values: list[str | None]) -> str:
        if len(values) == 1:
            return f"{sql_literal(values[0])}::VARCHAR"
        return f"([{', '.join(sql_literal(v) for v in values)}]::VARCHAR[])[_fk]"

    columns: dict[str, list[str | None]] = {
        "_uid_prefix": [src.stats.sha256[:16] + ":" for src in sources],
        "_src_file": [str(src.stats.path) for src in sources],
        "_src_format": [src.stats.format for src in sources],
        "_default_key": [src.key for src in sources],
    }
    return ", ".join(f"{per_file(values)} AS {name}" for name, values in columns.items())


@contextmanager
def _flush_settings(duck: Any) -> Iterator[None]:
    """The session settings of a flush's statements, put back afterwards.

    - DuckDB does not push the compiled map's filters down to the scan: pushed through the
      map's projections, a filter on ``_keep`` is rewritten into the full expression behind it,
      so the JSON parse runs once for every path it reads (tens of times).
    - It may write a flush's events in any order within it: keeping the order of the Arrow
      chunks makes the INSERT run on one thread (a flush took 0.75 s instead of 0.55 s). Every
      reader of the events table orders what it needs, and flushes still follow one another, so
      the table stays roughly in time order.
    """
    disabled, ordered = duck.execute(
        "SELECT current_setting('disabled_optimizers'), current_setting('preserve_insertion_order')").fetchall()[0]
    disabled = str(disabled or "")
    names = [n.strip() for n in disabled.split(",") if n.strip()]
    wanted = ",".join(names if "filter_pushdown" in names else [*names, "filter_pushdown"])
    duck.execute(f"SET disabled_optimizers = '{wanted}'; SET preserve_insertion_order = false")
    try:
        yield
    finally:
        duck.execute(f"SET disabled_optimizers = '{disabled}'; "
                     f"SET preserve_insertion_order = {'true' if ordered else 'false'}")
