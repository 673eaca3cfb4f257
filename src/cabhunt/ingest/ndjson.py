"""NDJSON (and any line-oriented text): blocks of lines with their line numbers, never the whole file.

Lines are cut from large blocks (a line split across blocks is carried over), decoded as UTF-8
with replacement so one bad byte does not lose the record, and handed over as-is: validation
and field extraction happen in DuckDB (:mod:`cabhunt.ingest.loader`).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cabhunt.ingest.batch import BATCH_BYTES, READ_BYTES, Batch, int_array
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


SAMPLE_BYTES = 1 << 16
LONG_LINE = 256  # average bytes per line above which lines are found with bytes.find
_JSON_SPACE = " \t\r\n"  # whitespace as JSON defines it (a line of only these is not a record)


def _line_ends(block: bytes | bytearray, end: int) -> Any:
    """Positions of the ``\\n`` bytes of ``block[:end]`` as an int64 numpy array.

    Long lines (the usual Winlogbeat or EVTX-JSON record is kilobytes) are found fastest by
    ``bytes.find`` (memchr); a block of short lines is cheaper to scan with one numpy pass.
    """
    import numpy as np

    sample = block.count(b"\n", 0, min(end, SAMPLE_BYTES))
    if sample and min(end, SAMPLE_BYTES) // sample < LONG_LINE:
        return np.flatnonzero(np.frombuffer(block, dtype=np.uint8, count=end) == 10)
    ends: list[int] = []
    append, find = ends.append, block.find
    pos = find(b"\n", 0, end)
    while pos >= 0:
        append(pos)
        pos = find(b"\n", pos + 1, end)
    return np.asarray(ends, dtype=np.int64)


def _arrow_lines(block: bytes | bytearray, end: int) -> tuple[Any, Any, bytes | bytearray]:
    """The lines of ``block[:end]`` (each ending in ``\\n``) as an Arrow string array, terminators dropped.

    The data buffer is the block minus its newlines, so each line is copied once (by
    ``replace``) and never becomes a Python object. Bytes after ``end`` (the start of the next
    line) are left in that buffer past the last line, where nothing reads them.
    """
    import numpy as np
    import pyarrow as pa

    if block.find(b"\r", 0, end) >= 0:  # one-byte search (memchr); a two-byte one costs ten times more
        block = block[:end].replace(b"\r\n", b"\n")
        end = len(block)
    ends = _line_ends(block, end)
    offsets = np.empty(len(ends) + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:] = ends - np.arange(len(ends))  # positions once the newlines are gone
    data = block.replace(b"\n", b"")
    arr = pa.StringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(data))
    arr.validate(full=True)  # raises on bytes that are not UTF-8
    return arr, offsets, data


def _blank(offsets: Any, data: bytes | bytearray) -> Any:
    """Mask of lines that are empty or only whitespace (not records)."""
    import numpy as np

    lengths = np.diff(offsets)
    blank = lengths == 0
    if len(data):
        starts = offsets[:-1]
        first = np.frombuffer(data, dtype=np.uint8)[np.minimum(starts, len(data) - 1)]
        for i in np.flatnonzero(~blank & np.isin(first, (9, 13, 32))):
            blank[i] = not data[offsets[i] : offsets[i + 1]].strip(b" \t\r\n")
    return blank


def read_ndjson(path: Path, block_bytes: int = READ_BYTES) -> Iterator[Batch]:
    """Batches of raw lines (blank lines are dropped by the loader, not counted).

    UTF-8 input is cut into lines with numpy and handed over as Arrow arrays over the file's
    own bytes; a block with invalid UTF-8 (or a UTF-16 file) goes through the decoding path,
    which replaces bad bytes instead of losing the line.
    """
    import numpy as np
    import pyarrow as pa

    with open_stream(path) as fh:
        start = fh.read(4)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        for first, lines in iter_line_blocks(path):
            lines = [ln.rstrip("\r") for ln in lines]
            ids = [first + i for i, ln in enumerate(lines) if ln.strip(_JSON_SPACE)]
            yield Batch(texts=[ln for ln in lines if ln.strip(_JSON_SPACE)], ids=ids)
        return
    line_no = 1
    with open_stream(path) as fh:
        # One buffer for the whole file, read into in place: a partial last line is moved to its
        # front and the next block read behind it (a fresh block, a join and a slice per block
        # would each cost a copy of the block and its page faults).
        buf = bytearray(block_bytes)
        view = memoryview(buf)
        have = 0  # bytes in ``buf``: the carried-over partial line, then what was read
        first_block = True
        while True:
            if len(buf) - have < block_bytes:  # a line longer than a block: make room
                del view
                buf.extend(bytes(have + block_bytes - len(buf)))
                view = memoryview(buf)
            got = fh.readinto(view[have : have + block_bytes]) or 0
            have += got
            if first_block and buf.startswith(codecs.BOM_UTF8):
                have -= len(codecs.BOM_UTF8)
                buf[:have] = bytes(view[len(codecs.BOM_UTF8) : have + len(codecs.BOM_UTF8)])
            first_block = False
            eof = got == 0
            if eof:
                if not have:
                    return
                buf[have : have + 1] = b"\n"  # the last line, unterminated
                have += 1
            cut = buf.rfind(b"\n", 0, have) + 1  # bytes of whole lines
            if not cut:
                continue
            # (a short last block is copied out: its lines are not worth the whole buffer)
            block = buf if 2 * cut >= len(buf) else bytes(view[:cut])
            try:
                arr, offsets, packed = _arrow_lines(block, cut)
            except pa.ArrowInvalid:
                texts = [t.rstrip("\r") for t in buf[:cut].decode("utf-8", errors="replace").split("\n")[:-1]]
                ids = [line_no + i for i, t in enumerate(texts) if t.strip(_JSON_SPACE)]
                yield Batch(texts=[t for t in texts if t.strip(_JSON_SPACE)], ids=ids)
                line_no += len(texts)
            else:
                blank = _blank(offsets, packed)
                if blank.any():
                    keep = ~blank
                    ids = np.arange(line_no, line_no + len(arr), dtype=np.int64)[keep]
                    yield Batch(texts=[], ids=ids, arrow=arr.take(int_array(np.flatnonzero(keep))))
                else:
                    yield Batch(texts=[], first_id=line_no, arrow=arr)
                line_no += len(arr)
            del block
            buf[: have - cut] = bytes(view[cut:have])  # the partial line (usually short)
            have -= cut
            if eof:
                return
