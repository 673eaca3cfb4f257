"""Zeek TSV logs: ``#separator``/``#fields``/``#types`` headers, then one record per line.

Each record becomes a JSON object with Zeek's own field names (the same keys Zeek's JSON
writer uses), unset fields left out, sets and vectors as lists, ``_path`` from the header, so
Zeek TSV and Zeek JSON share one field map. Several logs concatenated in one file (each with
its headers) are fine: the header state is updated whenever a new header block appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from cabhunt.ingest.batch import BATCH_RECORDS, Batch
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.ndjson import iter_line_blocks

_HEX = re.compile(r"\\x([0-9A-Fa-f]{2})")


@dataclass
class _Header:
    separator: str = "\t"
    set_separator: str = ","
    empty: str = "(empty)"
    unset: str = "-"
    path: str | None = None
    fields: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)


def _unescape(value: str) -> str:
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), value) if "\\x" in value else value


def _header_line(line: str, hdr: _Header) -> None:
    if line.startswith("#separator"):
        hdr.separator = _unescape(line[len("#separator") :].strip() or "\\x09")
        return
    name, _, rest = line[1:].partition(hdr.separator)
    if name == "set_separator":
        hdr.set_separator = rest
    elif name == "empty_field":
        hdr.empty = rest
    elif name == "unset_field":
        hdr.unset = rest
    elif name == "path":
        hdr.path = rest
    elif name == "fields":
        hdr.fields = rest.split(hdr.separator)
    elif name == "types":
        hdr.types = rest.split(hdr.separator)


def read_zeek_tsv(path: Path, stats: FileStats) -> Iterator[Batch]:
    """Batches of Zeek records as JSON, keyed by line number."""
    hdr = _Header()
    ids: list[int] = []
    texts: list[str] = []
    for first, lines in iter_line_blocks(path):
        for offset, raw in enumerate(lines):
            line = raw.rstrip("\r")
            if not line:
                continue
            if line.startswith("#"):
                _header_line(line, hdr)
                continue
            no = first + offset
            if not hdr.fields:
                stats.records_read += 1
                stats.error("record before any #fields header", no, label="line")
                continue
            values = line.split(hdr.separator)
            if len(values) != len(hdr.fields):
                stats.records_read += 1
                stats.error(f"{len(values)} fields, header has {len(hdr.fields)}", no, label="line")
                continue
            rec: dict[str, object] = {"_path": hdr.path} if hdr.path else {}
            for i, (name, value) in enumerate(zip(hdr.fields, values, strict=True)):
                if value == hdr.unset:
                    continue
                typ = hdr.types[i] if i < len(hdr.types) else ""
                if typ.startswith(("set[", "vector[")):
                    rec[name] = [] if value == hdr.empty else [_unescape(v) for v in value.split(hdr.set_separator)]
                else:
                    rec[name] = "" if value == hdr.empty else _unescape(value)
            ids.append(no)
            texts.append(orjson.dumps(rec).decode("utf-8"))
            if len(texts) >= BATCH_RECORDS:
                yield Batch(texts=texts, ids=ids)
                ids, texts = [], []
    if texts:
        yield Batch(texts=texts, ids=ids)
