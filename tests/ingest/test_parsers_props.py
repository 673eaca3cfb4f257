"""Property tests for the line-oriented parsers: nothing lost, nothing invented, numbers right."""

from __future__ import annotations

import codecs
import gzip
import json
import tempfile
from pathlib import Path

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cabhunt.errors import Problems
from cabhunt.ingest.ledger import FileStats
from cabhunt.ingest.ndjson import read_ndjson
from cabhunt.ingest.squid import parse_line
from cabhunt.ingest.winxml import read_xml
from cabhunt.ingest.zeek import read_zeek_tsv

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=40)
_line = st.one_of(
    st.builds(lambda v: json.dumps({"k": v}, ensure_ascii=False), _text),
    st.just(""),
    st.just("   "),
    _text,
)


def _lines_of(path: Path, block: int) -> list[tuple[int, str]]:
    out = []
    for batch in read_ndjson(path, block_bytes=block):
        texts = batch.arrow.to_pylist() if batch.arrow is not None else batch.texts
        ids = list(batch.ids) if batch.ids is not None else list(range(batch.first_id, batch.first_id + len(texts)))
        out.extend(zip((int(i) for i in ids), texts, strict=True))
    return out


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(_line, max_size=30), block=st.integers(min_value=1, max_value=64),
       crlf=st.booleans(), final_newline=st.booleans(), packed=st.booleans())
def test_ndjson_lines_and_numbers(lines: list[str], block: int, crlf: bool, final_newline: bool, packed: bool) -> None:
    sep = "\r\n" if crlf else "\n"
    text = sep.join(lines) + (sep if final_newline and lines else "")
    data = text.encode("utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        path.write_bytes(gzip.compress(data) if packed else data)
        got = _lines_of(path, block)
    # every non-blank line comes back once, with its 1-based line number, without its terminator
    want = [(i, ln) for i, ln in enumerate(text.split(sep) if text else [], 1) if ln.strip(" \t\r\n")]
    assert got == want


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(st.just("-"), st.just("(empty)"), st.text(
    alphabet=st.characters(whitelist_categories=("L", "N"), whitelist_characters=".:/,_"), min_size=1, max_size=12)),
    min_size=3, max_size=3), max_size=12))
def test_zeek_tsv_roundtrip(rows: list[list[str]]) -> None:
    header = ["#separator \\x09", "#set_separator\t,", "#empty_field\t(empty)", "#unset_field\t-", "#path\tconn",
              "#fields\tts\tservice\tanswers", "#types\ttime\tstring\tvector[string]"]
    text = "\n".join(header + ["\t".join(r) for r in rows]) + "\n"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "conn.log"
        path.write_text(text, encoding="utf-8")
        stats = FileStats(path=path, problems=Problems())
        recs = [(i, json.loads(t)) for b in read_zeek_tsv(path, stats) for i, t in zip(b.ids, b.texts, strict=True)]
    assert stats.errors == 0
    assert [i for i, _ in recs] == list(range(len(header) + 1, len(header) + 1 + len(rows)))
    for (_i, rec), row in zip(recs, rows, strict=True):
        assert rec["_path"] == "conn"
        for name, value in zip(("ts", "service", "answers"), row, strict=True):
            if value == "-":
                assert name not in rec
            elif name == "answers":
                assert rec[name] == ([] if value == "(empty)" else value.split(","))
            else:
                assert rec[name] == ("" if value == "(empty)" else value)


@given(
    t=st.floats(min_value=1e9, max_value=4e9, allow_nan=False).map(lambda f: f"{f:.3f}"),
    status=st.integers(min_value=100, max_value=599),
    size=st.integers(min_value=0, max_value=10**12),
    method=st.sampled_from(["GET", "POST", "CONNECT", "PROPFIND"]),
    url=st.from_regex(r"https?://[a-z]{1,10}\.example(:[0-9]{2,5})?/[a-z0-9/._-]{0,20}", fullmatch=True),
    user=st.from_regex(r"(-|[a-z]{1,8})", fullmatch=True),
)
def test_squid_fields(t: str, status: int, size: int, method: str, url: str, user: str) -> None:
    line = f"{t}    12 10.0.0.5 TCP_MISS/{status} {size} {method} {url} {user} HIER_DIRECT/203.0.113.9 text/html"
    rec = parse_line(line)
    assert rec is not None
    assert (rec["time"], rec["status"], rec["bytes"], rec["method"], rec["url"], rec["user"], rec["peer"]) == (
        t, str(status), str(size), method, url, user, "203.0.113.9")
    assert rec["message"] == line
    assert parse_line(line.replace(" 12 ", " twelve ")) is None


@settings(max_examples=40, deadline=None)
@given(n=st.integers(min_value=0, max_value=8), cut=st.data(), chunk=st.integers(min_value=1, max_value=4))
def test_xml_events_counted_even_when_cut(n: int, cut: st.DataObject, chunk: int) -> None:
    events = [
        f"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>{i}</EventID>"
        f"<EventRecordID>{i}</EventRecordID></System><EventData><Data Name='N'>{i}</Data></EventData></Event>"
        for i in range(1, n + 1)
    ]
    damaged = cut.draw(st.sets(st.integers(min_value=0, max_value=max(0, n - 1)), max_size=n)) if n else set()
    text = "".join(e[: len(e) // 2] if i in damaged else e for i, e in enumerate(events))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.xml"
        path.write_text(text, encoding="utf-8")
        stats = FileStats(path=path, problems=Problems())
        import cabhunt.ingest.winxml as wx

        old, wx._READ = wx._READ, chunk * 37  # tiny reads: spans straddle every boundary
        try:
            good = [json.loads(t) for b in read_xml(path, stats) for t in b.texts]
        finally:
            wx._READ = old
    assert [g["Event"]["EventData"]["N"] for g in good] == [i + 1 for i in range(n) if i not in damaged]
    assert stats.errors == len(damaged)
    assert stats.records_read == len(damaged)  # good ones are counted by the loader, broken ones here


_raw_line = st.one_of(
    st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")),  # any bytes, invalid UTF-8 too
    st.builds(lambda v: json.dumps({"k": v}, ensure_ascii=False).encode("utf-8"), _text),
    st.just(b"  "),
)


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(_raw_line, max_size=30), block=st.integers(min_value=4, max_value=96),
       bom=st.booleans(), final_newline=st.booleans(), packed=st.booleans())
def test_ndjson_any_bytes_any_block_size(lines: list[bytes], block: int, bom: bool, final_newline: bool,
                                         packed: bool) -> None:
    """Whatever the bytes and however they fall into blocks: every non-blank line once, with its
    number, bad UTF-8 replaced (the line is kept), a UTF-8 byte order mark dropped."""
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    # a file that starts with a UTF-16 byte order mark is read as UTF-16 (tests/ingest/test_bad_input.py)
    assume(bom or not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)))
    # and one that starts with the gzip magic as gzip (a broken one is reported: test_bad_input.py)
    assume(bom or packed or not data.startswith(b"\x1f\x8b"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x"
        content = (b"\xef\xbb\xbf" if bom else b"") + data
        path.write_bytes(gzip.compress(content) if packed else content)
        got = _lines_of(path, block)
    decoded = [ln.decode("utf-8", errors="replace").rstrip("\r") for ln in data.split(b"\n")] if data else []
    if final_newline and lines:
        decoded.pop()
    want = [(i, ln) for i, ln in enumerate(decoded, 1) if ln.strip(" \t\r\n")]
    assert got == want
