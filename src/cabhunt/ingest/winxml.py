"""Windows Event XML: ``wevtutil qe /f:xml`` (bare ``<Event>`` elements) and Event Viewer's ``<Events>``.

The text is scanned incrementally for ``<Event ...>...</Event>`` spans (events never nest), and
each span is parsed on its own, so a record cut short costs that record only: the scanner
resynchronises at the next ``<Event`` and the rest of the file is kept. Each event becomes the
same evtx_dump-shaped dict the EVTX reader produces, so one field map serves both.
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from cabhunt.ingest.batch import BATCH_RECORDS, Batch
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.source import open_stream

_START = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?Event(?=[\s>/])")
_END = re.compile(r"</(?:[A-Za-z_][\w.-]*:)?Event\s*>")
_READ = 4 * 1024 * 1024
_MAX_EVENT = 16 * 1024 * 1024  # a span longer than this is not an event record


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _scalar(text: str | None) -> Any:
    """Numbers as numbers (evtx_dump writes EventID, LogonType, ... as JSON numbers)."""
    if text is None:
        return None
    if text.isdigit() and len(text) < 19 and (text == "0" or not text.startswith("0")):
        return int(text)
    return text


def _generic(elem: ET.Element) -> Any:
    """An element as evtx_dump renders it: attributes under ``#attributes``, text or children."""
    attrs = {_local(k): v for k, v in elem.attrib.items()}
    children = list(elem)
    if not children:
        value = _scalar(elem.text.strip() if elem.text and elem.text.strip() else None)
        if attrs:
            node: dict[str, Any] = {"#attributes": attrs}
            if value is not None:
                node["#text"] = value
            return node
        return value
    node = {"#attributes": attrs} if attrs else {}
    for child in children:
        name = _local(child.tag)
        val = _generic(child)
        if name in node:
            if not isinstance(node[name], list):
                node[name] = [node[name]]
            node[name].append(val)
        else:
            node[name] = val
    return node


def _event_data(elem: ET.Element) -> Any:
    """``<Data Name='X'>v</Data>`` -> ``{"X": v}``; unnamed Data values collected under ``Data``."""
    out: dict[str, Any] = {}
    unnamed: list[Any] = []
    for child in elem:
        name = _local(child.tag)
        if name == "Data":
            value = child.text if child.text is not None else None
            key = child.attrib.get("Name")
            if key:
                out[key] = _scalar(value)
            else:
                unnamed.append(value)
        else:
            out[name] = _generic(child)
    if unnamed:
        out["Data"] = unnamed[0] if len(unnamed) == 1 else unnamed
    return out


def event_to_dict(elem: ET.Element) -> dict[str, Any]:
    """One ``<Event>`` element -> ``{"Event": {"System": ..., "EventData": ...}}``."""
    body: dict[str, Any] = {}
    for part in elem:
        name = _local(part.tag)
        if name == "EventData":
            body["EventData"] = _event_data(part)
        elif name == "System":
            system: dict[str, Any] = {}
            for item in part:
                system[_local(item.tag)] = _generic(item)
            body["System"] = system
        else:
            body[name] = _generic(part)
    return {"Event": body}


def iter_event_spans(path: Path, stats: FileStats) -> Iterator[tuple[int, str | None]]:
    """``(ordinal, text)`` per ``<Event>``; text is None for a span cut short (already reported)."""
    with open_stream(path) as fh:
        start = fh.read(4)
        enc = "utf-16" if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
        decoder = codecs.getincrementaldecoder(enc)(errors="replace")
        buf = decoder.decode(start)
        ordinal = 0
        eof = False
        pos = 0
        while True:
            m = _START.search(buf, pos)
            if m is None:
                if eof:
                    return
                buf = buf[max(pos, len(buf) - 64) :]  # keep a tail: a tag may straddle reads
                pos = 0
                chunk = fh.read(_READ)
                eof = not chunk
                buf += decoder.decode(chunk, final=eof)
                continue
            end = _END.search(buf, m.end())
            nxt = _START.search(buf, m.end())
            if end is not None and (nxt is None or nxt.start() > end.start()):
                ordinal += 1
                yield ordinal, buf[m.start() : end.end()]
                pos = end.end()
                continue
            if nxt is not None:  # another event starts before this one ended: cut short
                ordinal += 1
                stats.records_read += 1
                stats.error("event cut short (next <Event> starts before </Event>)", ordinal, label="event")
                pos = nxt.start()
                continue
            if eof or len(buf) - m.start() > _MAX_EVENT:
                ordinal += 1
                stats.records_read += 1
                stats.error("event cut short (file ends before </Event>)" if eof else "event too large", ordinal, label="event")
                if eof:
                    return
                pos = m.end()
                continue
            buf = buf[m.start() :]
            pos = 0
            chunk = fh.read(_READ)
            eof = not chunk
            buf += decoder.decode(chunk, final=eof)


def read_xml(path: Path, stats: FileStats) -> Iterator[Batch]:
    """Batches of evtx_dump-shaped JSON keyed by the event's position in the file."""
    ids: list[int] = []
    texts: list[str] = []
    for ordinal, span in iter_event_spans(path, stats):
        if span is None:
            continue
        try:
            elem = ET.fromstring(span)
        except ET.ParseError as exc:
            stats.records_read += 1
            stats.error(f"malformed event XML: {exc}", ordinal, label="event")
            continue
        ids.append(ordinal)
        texts.append(orjson.dumps(event_to_dict(elem)).decode("utf-8"))
        if len(texts) >= BATCH_RECORDS:
            yield Batch(texts=texts, ids=ids)
            ids, texts = [], []
    if texts:
        yield Batch(texts=texts, ids=ids)
