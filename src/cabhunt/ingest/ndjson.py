"""NDJSON (and any line-oriented text): blocks of lines with their line numbers, never the whole file.

Lines are cut from large blocks (a line split across blocks is carried over), decoded as UTF-8
with replacement so one bad byte does not lose the record, and handed over as-is: validation
and field extraction happen in DuckDB (:mod:`cabhunt.ingest.loader`).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from cabhunt.ingest.batch import BATCH_BYTES, Batch
from cabhunt.ingest.source import open_stream


def iter_line_blocks(path: Path, block_bytes: int = BATCH_BYTES) -> Iterator[tuple[int, list[str]]]:
    """``(first line number, lines)`` blocks; line numbers start at 1 and count every line."""
    with open_stream(path) as fh:
        start = fh.read(4)
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
        else:
            decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
        pending = start
        carry = ""
        line_no = 1
        while True:
            chunk = fh.read(block_bytes)
            data = pending + chunk
            pending = b""
            final = not chunk
            text = carry + decoder.decode(data, final=final)
            if final:
                lines = text.split("\n")
                if lines and lines[-1] == "":
                    lines.pop()
                if lines:
                    yield line_no, lines
                return
            cut = text.rfind("\n")
            if cut < 0:
                carry = text
                continue
            lines = text[:cut].split("\n")
            carry = text[cut + 1 :]
            yield line_no, lines
            line_no += len(lines)


def read_ndjson(path: Path) -> Iterator[Batch]:
    """Batches of raw lines (blank lines are dropped by the loader, not counted)."""
    for first, lines in iter_line_blocks(path):
        yield Batch(texts=lines, first_id=first)
