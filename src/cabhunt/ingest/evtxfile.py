"""EVTX through the Rust ``evtx`` package: its JSON records, in batches, errors counted.

The parser works on all cores; Python only collects the JSON strings (normalized later in
DuckDB with the evtx_dump field map). A record the parser cannot decode raises for that record
and iteration goes on, so each one is counted and the rest of the file is kept. A file shorter
than its header's chunk count says is reported as truncated.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import re
import shutil
import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cabhunt.ingest.batch import Batch
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.source import GZIP_MAGIC, is_gzip

HEADER_SIZE = 4096
CHUNK_SIZE = 65536
MAX_CONSECUTIVE_ERRORS = 100_000
# Records per batch: few enough that the batches of a large file waiting in the reader's queue
# cost little memory (200,000 records of the stitched benchmark log are about 0.25 GB of strings); the
# loader gathers batches into large flushes whatever their size.
EVTX_BATCH_RECORDS = 16_384
_RECORD_NUMBER = re.compile(r"record number (\d+)")


@functools.cache
def parser_threads() -> int:
    """The parser's default thread count (asked once: ``os.cpu_count`` reads /sys every call)."""
    return os.cpu_count() or 1


def check_header(header: bytes, size: int, stats: FileStats) -> None:
    """Report a file cut short: fewer bytes (``size``) than the chunks its ``header`` declares."""
    if len(header) < 128:
        stats.error(f"truncated EVTX header ({len(header)} bytes)", counted=False)
        return
    chunks = struct.unpack_from("<H", header, 42)[0]
    have = max(0, (size - HEADER_SIZE)) // CHUNK_SIZE
    if chunks and size < HEADER_SIZE + chunks * CHUNK_SIZE:
        stats.error(
            f"truncated EVTX: header declares {chunks} chunks, file holds {have} complete "
            f"({size} bytes); records of the incomplete chunk cannot be read",
            counted=False,
        )


def read_evtx(path: Path, stats: FileStats, *, threads: int | None = None, data: bytes | None = None) -> Iterator[Batch]:
    """Batches of ``records_json()`` data strings keyed by the record header's id.

    ``data`` is the whole file when the caller has read it already (a small file: one read for
    the sniff, the digest, the header check and the parser).
    """
    if data is not None and not data.startswith(GZIP_MAGIC):
        yield from _read_plain(data, len(data), stats, threads=threads)
        return
    if is_gzip(path):
        tmpdir = Path(tempfile.mkdtemp(prefix="cabhunt-evtx-"))
        try:
            plain = tmpdir / "log.evtx"
            with gzip.open(path, "rb") as src, plain.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            yield from _read_plain(plain, plain.stat().st_size, stats, threads=threads)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        return
    yield from _read_plain(path, stats.size or path.stat().st_size, stats, threads=threads)


def _read_plain(source: Path | bytes, size: int, stats: FileStats, *, threads: int | None) -> Iterator[Batch]:
    """The records of an uncompressed EVTX file, given as its path or its whole content."""
    import evtx

    if isinstance(source, bytes):
        check_header(source[:128], size, stats)
        target: str | io.BytesIO = io.BytesIO(source)
    else:
        with source.open("rb") as fh:
            check_header(fh.read(128), size, stats)
        target = str(source)
    try:
        parser = evtx.PyEvtxParser(target, number_of_threads=threads or parser_threads())
        records = parser.records_json()
    except (OSError, RuntimeError, ValueError) as exc:
        stats.error(f"not readable as EVTX: {exc}", counted=False)
        stats.status = "failed"
        return
    yield from _batches(records, stats)


def _batches(records: Iterator[dict[str, Any] | None], stats: FileStats) -> Iterator[Batch]:
    """The parser's records in batches; broken ones counted and reported, repeated ids skipped.

    The loop over good records does as little as it can (it runs once per record, beside a
    parser that is only a few times faster); a record the parser cannot decode raises out of
    the ``for`` and iteration resumes on the same iterator.
    """
    seen: set[int] = set()
    ids: list[int] = []
    texts: list[str] = []
    emitted = 0  # records in batches already yielded
    extra = 0  # records read but not in a batch: broken, repeated id, or None
    consecutive = 0
    last_error_at = -1  # records read when the last broken one came
    while True:
        try:
            for rec in records:
                if rec is None:  # not produced by the parser; typed as optional by its stubs
                    extra += 1
                    continue
                rid = rec["event_record_id"]
                if rid in seen:
                    extra += 1
                    stats.records_read += 1
                    stats.skip("duplicate record id")
                    continue
                seen.add(rid)
                ids.append(rid)
                texts.append(rec["data"])
                if len(texts) >= EVTX_BATCH_RECORDS:
                    emitted += len(texts)
                    yield Batch(texts=texts, ids=ids)
                    ids, texts = [], []
            break
        except (RuntimeError, OSError, ValueError) as exc:
            read = emitted + len(texts) + extra
            consecutive = consecutive + 1 if read == last_error_at else 1
            extra += 1
            last_error_at = read + 1
            stats.records_read += 1
            m = _RECORD_NUMBER.search(str(exc))
            stats.error(str(exc), int(m.group(1)) if m else f"~{read + 1}", label="record")
            if consecutive >= MAX_CONSECUTIVE_ERRORS:
                stats.error("giving up after too many consecutive broken records", counted=False)
                break
    if texts:
        yield Batch(texts=texts, ids=ids)
