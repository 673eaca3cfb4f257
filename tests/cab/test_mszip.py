"""MSZIP decoding against cabarchive's writer and zlib, and its failure modes."""

from __future__ import annotations

import hashlib
import os
import random

import pytest

from cabhunt.cab.analyze import analyze_file
from cabhunt.cab.errors import CabDecompressError
from cabhunt.cab.mszip import MszipDecoder
from tests.cab.craft import Craft, Entry, build


def _text(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    words = [b"alpha", b"beta", b"gamma", b"delta", b"\r\n", b"makecab", b"0123456789"]
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words) + b" "
    return bytes(out[:n])


def test_cabarchive_mszip_roundtrip(tmp_path: object) -> None:
    from pathlib import Path

    from cabarchive import CabArchive, CabFile

    members = {"a.txt": _text(200_000, 1), "b.bin": os.urandom(70_000), "c\\d.txt": _text(33_000, 2), "e.txt": b""}
    arc = CabArchive()
    for name, data in members.items():
        arc[name] = CabFile(data)
    path = Path(str(tmp_path)) / "t.cab"
    path.write_bytes(arc.save(compress=True))
    doc = analyze_file(path)
    got = {m["name"]: m["sha256"] for m in doc["members"]}
    assert got == {k: hashlib.sha256(v).hexdigest() for k, v in members.items()}
    assert all(m["compression"] == "MSZIP" for m in doc["members"])


def test_history_carries_across_blocks() -> None:
    data = _text(100_000, 3)
    raw = build(Craft([Entry(b"x.txt", data)], compress=True))
    from cabhunt.cab.reader import parse_cabinet

    cab = parse_cabinet(raw)
    dec = MszipDecoder()
    out = b"".join(dec.decompress(cab.slice(b.data_offset, b.cb_data), b.cb_uncomp) for b in cab.blocks[0])
    assert out == data and len(cab.blocks[0]) == 4


def test_missing_signature() -> None:
    with pytest.raises(CabDecompressError, match="CK"):
        MszipDecoder().decompress(b"XX\x03\x00", 0)


def test_wrong_declared_length() -> None:
    import zlib

    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = b"CK" + c.compress(b"hello") + c.flush()
    with pytest.raises(CabDecompressError):
        MszipDecoder().decompress(block, 4)
    with pytest.raises(CabDecompressError):
        MszipDecoder().decompress(block, 6)
    assert MszipDecoder().decompress(block, 5) == b"hello"


def test_corrupt_deflate() -> None:
    with pytest.raises(CabDecompressError):
        MszipDecoder().decompress(b"CK\xff\xff\xff\xff\xff", 100)
