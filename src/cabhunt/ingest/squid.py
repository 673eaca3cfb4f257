"""Squid native access.log: ``time elapsed client code/status bytes method URL user hierarchy/peer type``.

Each line is split into named fields (kept with the original line under ``message`` as the
record's evidence); the field map turns them into proxy events. A line that does not have the
native layout is a counted error, not a silent drop.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import orjson

from cabhunt.ingest.batch import BATCH_RECORDS, Batch
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.ndjson import iter_line_blocks

_LINE = re.compile(
    r"^(?P<time>\d+(?:\.\d+)?)\s+(?P<elapsed>-?\d+)\s+(?P<client>\S+)\s+(?P<code>[^\s/]+)/(?P<status>\d+)\s+"
    r"(?P<bytes>\d+)\s+(?P<method>\S+)\s+(?P<url>\S+)\s+(?P<user>\S+)\s+(?P<hierarchy>[^\s/]+)/(?P<peer>\S+)"
    r"(?:\s+(?P<type>\S+))?"
)


def parse_line(line: str) -> dict[str, str] | None:
    m = _LINE.match(line)
    if m is None:
        return None
    rec = {k: v for k, v in m.groupdict().items() if v is not None}
    rec["message"] = line
    return rec


def read_squid(path: Path, stats: FileStats) -> Iterator[Batch]:
    """Batches of parsed Squid lines as JSON, keyed by line number."""
    ids: list[int] = []
    texts: list[str] = []
    for first, lines in iter_line_blocks(path):
        for offset, raw in enumerate(lines):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            rec = parse_line(line)
            if rec is None:
                stats.records_read += 1
                stats.error("not a Squid native access log line", first + offset, label="line")
                continue
            ids.append(first + offset)
            texts.append(orjson.dumps(rec).decode("utf-8"))
            if len(texts) >= BATCH_RECORDS:
                yield Batch(texts=texts, ids=ids)
                ids, texts = [], []
    if texts:
        yield Batch(texts=texts, ids=ids)
