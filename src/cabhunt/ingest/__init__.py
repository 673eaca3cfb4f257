"""Getting logs into the store: walk, sniff, read, normalize (in DuckDB), account in the ledger.

A file's events count only once its ledger row is written (a run interrupted in between is
cleaned up by the next one), and a file whose digest is already in the ledger is skipped --
re-ingesting adds nothing.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cabhunt.errors import Problems
from cabhunt.ingest.batch import Batch
from cabhunt.ingest.detect import Detected, detect
from cabhunt.ingest.digest import Digests
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.source import file_digest, head, head_of
from cabhunt.ingest.walk import iter_files
from cabhunt.store import Store
from cabhunt.store.duckdb_store import size_bytes

if TYPE_CHECKING:
    from cabhunt.ingest.loader import Loader

__all__ = ["IngestSummary", "ingest_file", "ingest_paths"]

PREFETCH_MIN_BYTES = 8 * 1024 * 1024
# Files up to this size are read whole, once, and hashed here: a digest computed in the other
# thread would wait for the GIL (held by the EVTX parser) several times per file, which costs
# more than hashing a small file. Larger ones are hashed ahead in that thread while being read.
WHOLE_FILE_BYTES = 4 * 1024 * 1024
INGEST_MEMORY_BYTES = 1024 * 1024 * 1024


@dataclass
class IngestSummary:
    """Totals of one ingest run (what ``hunt`` prints) and the per-file ledger rows it wrote."""

    files: int = 0  # files read (fully or partly)
    unreadable: int = 0  # files that could not be read at all (unknown format, permissions, ...)
    already: int = 0  # files whose content was already in the store
    records: int = 0
    normalized: int = 0
    skipped: int = 0
    errors: int = 0
    seconds: float = 0.0
    rows: list[dict[str, object]] = field(default_factory=list)

    def one_line(self) -> str:
        text = (
            f"ingested {self.files:,} file{'s' if self.files != 1 else ''}, {self.records:,} records "
            f"({self.normalized:,} normalized, {self.skipped:,} skipped, {self.errors:,} errors) "
            f"in {self.seconds:.1f} s"
        )
        extra = []
        if self.already:
            extra.append(f"{self.already:,} already ingested")
        if self.unreadable:
            extra.append(f"{self.unreadable:,} unreadable")
        return text + (f"; {', '.join(extra)}" if extra else "")

    def add(self, stats: FileStats) -> None:
        self.rows.append(stats.row())
        if stats.status == "duplicate":
            self.already += 1
        elif stats.status == "failed":
            self.unreadable += 1
        else:
            self.files += 1
            self.records += stats.records_read
            self.normalized += stats.normalized
            self.skipped += sum(stats.skipped.values())
            self.errors += stats.errors

    @property
    def readable(self) -> bool:
        """True when at least one input was read (or was already in the store)."""
        return bool(self.files or self.already)


def ingest_paths(
    store: Store,
    paths: Sequence[Path],
    problems: Problems,
    progress: Callable[[int, int], None] | None = None,
) -> IngestSummary:
    """Ingest every file under ``paths`` into ``store``; never raises for bad input."""
    from cabhunt.ingest.loader import Loader

    started = time.perf_counter()
    summary = IngestSummary()
    for stale in store.recover():
        problems.add(stale, "an earlier ingest of this file was interrupted; its events were removed and it is read again")
    files = list(iter_files([Path(p) for p in paths], problems))
    loader = Loader(store)
    digests = Digests([path if why is None and not _small(path) else None for path, why in files])
    done: list[FileStats] = []
    restore = _cap_memory(store)
    try:
        for i, (path, why) in enumerate(files, 1):
            stats = FileStats(path=path, problems=problems)
            if why is not None:
                _fail(loader, stats, why)
            else:
                ingest_file(loader, stats, digests.get(i - 1))
            done.append(stats)
            if progress is not None:
                progress(i, len(files))
        loader.commit()
    except BaseException:
        loader.abort()
        raise
    finally:
        loader.close()
        digests.close()
        restore()
    for stats in done:
        summary.add(stats)
    summary.seconds = time.perf_counter() - started
    return summary


def ingest_file(loader: Loader, stats: FileStats, digest: Future[str] | None = None) -> None:
    """Read one file into the loader's store (its ledger row is written when its events are).

    ``digest`` is the file's SHA-256 being computed elsewhere (see :mod:`cabhunt.ingest.digest`);
    without it the file is hashed here first. A small file is read once, whole: the sniff, the
    digest and the reader all work on those bytes.
    """
    path = stats.path
    data: bytes | None = None
    try:
        stats.size = path.stat().st_size
        if digest is None and stats.size <= WHOLE_FILE_BYTES:
            data = path.read_bytes()
            stats.size = len(data)
            sample = head_of(data)
        else:
            sample = head(path)
    except (OSError, EOFError) as exc:
        _fail(loader, stats, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
        return
    found = detect(sample)
    if found is None or digest is None:
        # Known right away (a small file) or needed first (an unknown format is reported only
        # for content not already ingested).
        known = hashlib.sha256(data).hexdigest() if data is not None else digest
        if not _settle_digest(loader, stats, known):
            return
        if found is None:
            _fail(loader, stats, "unknown format (not EVTX, Windows XML, NDJSON, Zeek or Squid)")
            return
        digest = None
    stats.format = found.format
    if _load(loader, stats, found, digest, data):
        loader.file_done(stats)


def _settle_digest(loader: Loader, stats: FileStats, digest: Future[str] | str | None) -> bool:
    """Wait for the file's digest; False (and the file accounted for) if it cannot be read or is known."""
    refused = _check_digest(loader, stats, digest)
    if refused is not None:
        _refuse(loader, stats, refused)
        return False
    return True


def _check_digest(loader: Loader, stats: FileStats, digest: Future[str] | str | None) -> tuple[str, str] | None:
    """Set ``stats.sha256``; None for content new to the store, else why the file is not read:
    ``("unreadable", reason)`` or ``("duplicate", path already holding it)``."""
    try:
        if isinstance(digest, str):
            stats.sha256 = digest
        else:
            stats.sha256 = digest.result() if digest is not None else file_digest(stats.path)
    except (OSError, EOFError) as exc:
        return "unreadable", str(getattr(exc, "strerror", None) or exc)
    previous = loader.known_digest(stats.sha256)
    return None if previous is None else ("duplicate", previous)


def _refuse(loader: Loader, stats: FileStats, refused: tuple[str, str]) -> None:
    """Account for a file not read after all (see :func:`_check_digest`)."""
    why, detail = refused
    if why == "unreadable":
        stats.format = "unknown"
        _fail(loader, stats, f"cannot read: {detail}")
        return
    stats.status = "duplicate"
    stats.format = "duplicate"
    if detail != str(stats.path):
        stats.error_messages = [f"same content as {detail}, already ingested"]
    stats.finish()


def _load(
    loader: Loader, stats: FileStats, found: Detected, digest: Future[str] | None, data: bytes | None = None
) -> bool:
    """Feed the file's batches to the loader; False when it turned out to be already known.

    With ``digest`` still being computed, batches (and the reader's problem lines) are held, up
    to one flush, until it is known, so reading overlaps hashing; a duplicate found then is
    dropped, counts and lines, before anything is written or printed.
    """
    from cabhunt.normalize import compile_map

    if digest is not None:
        stats.hold_reports()

    cmap = compile_map(found.shape)
    batches: Iterator[Batch]
    label = "line"
    if found.reader == "evtx":
        from cabhunt.ingest.evtxfile import read_evtx

        batches, label = read_evtx(stats.path, stats, data=data), "record"
    elif found.reader == "xml":
        from cabhunt.ingest.winxml import read_xml

        batches, label = read_xml(stats.path, stats), "event"
    elif found.reader == "zeek_tsv":
        from cabhunt.ingest.zeek import read_zeek_tsv

        batches = read_zeek_tsv(stats.path, stats)
    elif found.reader == "squid":
        from cabhunt.ingest.squid import read_squid

        batches = read_squid(stats.path, stats)
    else:
        from cabhunt.ingest.ndjson import read_ndjson

        batches = read_ndjson(stats.path)
    from cabhunt.ingest.prefetch import prefetch

    if stats.size > PREFETCH_MIN_BYTES:  # a thread per small file costs more than it saves
        batches = prefetch(batches)
    fk: int | None = None
    held: list[Batch] = []
    held_records = held_bytes = 0
    refused: tuple[str, str] | None = None

    def release() -> bool:
        nonlocal fk, held, refused
        if digest is not None:
            refused = _check_digest(loader, stats, digest)
            if refused is not None:
                return False
            stats.release_reports()
        fk = loader.open_file(stats, key=found.key, label=label, expect_skips=found.reader in ("evtx", "xml"))
        for b in held:
            loader.add(fk, cmap, b)
        held = []
        return True

    failure: BaseException | None = None
    try:
        for batch in batches:
            if fk is not None:
                loader.add(fk, cmap, batch)
                continue
            held.append(batch)
            held_records += len(batch)
            held_bytes += batch.nbytes()
            ready = digest is None or digest.done()
            if (ready or held_records >= loader.flush_records or held_bytes >= loader.flush_bytes) and not release():
                break
    except (OSError, EOFError, UnicodeError, zlib.error) as exc:
        failure = exc
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()  # stops the reader (and its thread): stats change no more behind our back
    if refused is None and fk is None:
        release()
    if refused is not None:
        stats.forget_reading()
        _refuse(loader, stats, refused)
        return False
    if failure is not None:
        # What was read before the failure is kept (and counted); the rest is reported.
        reason = getattr(failure, "strerror", None) or failure
        stats.error(f"read failed, rest of file not read: {reason}", counted=False)
        stats.status = "partial"
    return True


def _small(path: Path) -> bool:
    """Whether ``path`` is read whole (and hashed) by :func:`ingest_file` itself."""
    try:
        return path.stat().st_size <= WHOLE_FILE_BYTES
    except OSError:
        return False


def _cap_memory(store: Store) -> Callable[[], None]:
    """Hold DuckDB to INGEST_MEMORY_BYTES while ingesting; returns the function that restores it.

    Written blocks stay cached up to the memory limit, so with the (query-friendly) 3 GB default
    a long ingest's footprint would keep growing with the data; a smaller cap keeps it flat
    (streaming) at no cost in throughput, since ingest only appends.
    """
    duck = store.duck
    before = getattr(store, "memory_limit", None) or str(
        duck.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    )
    wanted = getattr(store, "ingest_memory_limit", None)  # a store sized for queries says so
    limit = size_bytes(before)
    if wanted:
        duck.execute(f"SET memory_limit = '{wanted}'")
    elif limit is None or limit <= INGEST_MEMORY_BYTES:
        return lambda: None
    else:
        duck.execute(f"SET memory_limit = '{INGEST_MEMORY_BYTES // (1024 * 1024)}MiB'")

    def restore() -> None:
        duck.execute(f"SET memory_limit = '{before}'")

    return restore


def _fail(loader: Loader, stats: FileStats, reason: str) -> None:
    stats.status = "failed"
    stats.error(reason, counted=False)
    stats.finish()
    loader.wait()  # the connection is the flush thread's while it works
    loader.store.record_ledger(stats.row())
