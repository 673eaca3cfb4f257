"""Getting logs into the store: walk, sniff, read, normalize (in DuckDB), account in the ledger.

Each file is one transaction: its events and its ledger row are committed together, so an
interrupted run never leaves half a file behind, and a file whose digest is already in the
ledger is skipped -- re-ingesting adds nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cabhunt.errors import Problems
from cabhunt.ingest.batch import Batch
from cabhunt.ingest.detect import Detected, detect
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.source import file_digest, head
from cabhunt.ingest.walk import iter_files
from cabhunt.store import Store

__all__ = ["IngestSummary", "ingest_file", "ingest_paths"]


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
    started = time.perf_counter()
    summary = IngestSummary()
    files = list(iter_files([Path(p) for p in paths], problems))
    for i, (path, why) in enumerate(files, 1):
        stats = FileStats(path=path, problems=problems)
        if why is not None:
            _fail(store, stats, why)
        else:
            ingest_file(store, stats)
        row = stats.row()
        summary.rows.append(row)
        if stats.status == "duplicate":
            summary.already += 1
        elif stats.status == "failed":
            summary.unreadable += 1
        else:
            summary.files += 1
            summary.records += stats.records_read
            summary.normalized += stats.normalized
            summary.skipped += sum(stats.skipped.values())
            summary.errors += stats.errors
        if progress is not None:
            progress(i, len(files))
    summary.seconds = time.perf_counter() - started
    return summary


def ingest_file(store: Store, stats: FileStats) -> None:
    """Read one file into the store (one transaction with its ledger row)."""
    path = stats.path
    try:
        stats.size = path.stat().st_size
        stats.sha256 = file_digest(path)
        sample = head(path)
    except (OSError, EOFError) as exc:
        _fail(store, stats, f"cannot read: {getattr(exc, 'strerror', None) or exc}")
        return
    previous = store.has_digest(stats.sha256)
    if previous is not None:
        stats.status = "duplicate"
        stats.format = "duplicate"
        stats.skipped = {}
        if previous != str(path):
            stats.error_messages = [f"same content as {previous}, already ingested"]
        stats.finish()
        return
    found = detect(sample)
    if found is None:
        _fail(store, stats, "unknown format (not EVTX, Windows XML, NDJSON, Zeek or Squid)")
        return
    stats.format = found.format
    store.begin()
    try:
        _load(store, stats, found)
        stats.finish()
        if stats.records_read == 0 and stats.status != "failed" and stats.errors == 0 and stats.error_messages:
            stats.status = "partial"
        store.record_ledger(stats.row())
        store.commit()
    except (OSError, EOFError, UnicodeError) as exc:
        store.rollback()
        stats.records_read = stats.normalized = 0
        stats.skipped = {}
        _fail(store, stats, f"read failed: {getattr(exc, 'strerror', None) or exc}")
    except BaseException:
        store.rollback()
        raise


def _load(store: Store, stats: FileStats, found: Detected) -> None:
    from cabhunt.ingest.loader import load_batches
    from cabhunt.normalize import compile_map

    cmap = compile_map(found.shape)
    batches: Iterator[Batch]
    label = "line"
    if found.reader == "evtx":
        from cabhunt.ingest.evtxfile import read_evtx

        batches, label = read_evtx(stats.path, stats), "record"
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
    load_batches(store, cmap, batches, stats, key=found.key, record_label=label)


def _fail(store: Store, stats: FileStats, reason: str) -> None:
    stats.status = "failed"
    stats.error(reason, counted=False)
    stats.finish()
    store.record_ledger(stats.row())
