"""Structure findings: embedded cabinets, signatures, dates and names that readers disagree on."""

from __future__ import annotations

import contextlib
import os
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cabhunt.cab.analyze import analyze_file
from cabhunt.cab.errors import CabFormatError
from cabhunt.cab.reader import parse_cabinet
from cabhunt.cab.signature import SIG_MAGIC, DerError, parse_pkcs7, signature_info
from tests.cab.craft import Craft, Entry, build
from tests.conftest import shared_or_skip


def test_sfx_style_embedded_cabinet(tmp_path: Path) -> None:
    cab = build(Craft([Entry(b"setup.exe", b"payload")]))
    path = tmp_path / "installer.exe"
    path.write_bytes(b"MZ" + os.urandom(5000).replace(b"MSCF", b"xxxx") + cab + b"trailer")
    with pytest.raises(CabFormatError, match="--search"):
        analyze_file(path)
    doc = analyze_file(path, search=True)
    assert doc["cabinet"]["header"]["offset"] == 5002
    assert [m["name"] for m in doc["members"]] == ["setup.exe"]
    assert not any("overlay" in f["title"] for f in doc["findings"])  # expected around an SFX stub


def test_signature_reserve_without_blob(tmp_path: Path) -> None:
    """A reserve that claims a signature the file does not hold."""
    reserve = struct.pack("<III", SIG_MAGIC, 0, 4000) + b"\0" * 8
    raw = bytearray(build(Craft([Entry(b"a.txt", b"x")], header_reserve=reserve)))
    struct.pack_into("<I", raw, 44, len(raw))  # sigOffset = cbCabinet
    info = signature_info(parse_cabinet(bytes(raw)))
    assert info["present"] and info["signer"] is None and "outside the file" in info["error"]


def test_unsigned_has_no_signature() -> None:
    doc = analyze_file(shared_or_skip("fixtures/cab/gcab/test-none.cab"))
    assert doc["cabinet"]["signature"]["present"] is False


@given(st.binary(max_size=400))
def test_pkcs7_parser_survives_garbage(blob: bytes) -> None:
    with contextlib.suppress(DerError):  # anything else escaping fails the test
        parse_pkcs7(blob)


def test_signature_blob_corruption_is_reported(tmp_path: Path) -> None:
    raw = bytearray(shared_or_skip("fixtures/cab/gcab/test-signed.cab").read_bytes())
    raw[139 + 20 : 139 + 60] = b"\xff" * 40
    info = signature_info(parse_cabinet(bytes(raw)))
    assert info["present"] and info["signer"] is None
    assert info["error"].startswith("signature blob is not parseable PKCS#7")


def test_invalid_dates_and_names(tmp_path: Path) -> None:
    doc_path = tmp_path / "odd.cab"
    doc_path.write_bytes(build(Craft([
        Entry(b"baddate.txt", b"x", date=0, time=0xFFFF),
        Entry(b"\xc3\x28bad.txt", b"y", attribs=0xA0),
        Entry(b"L" * 300, b"z"),
    ])))
    doc = analyze_file(doc_path)
    bad, utf, long_ = doc["members"]
    assert bad["date"] is None and "invalid" in bad["date_error"]
    assert utf["name_problem"] and utf["name_hex"] == "c328626164 2e747874".replace(" ", "")
    assert "name_is_utf8" in utf["attributes"]
    assert long_["size"] == 1
    assert any("reject" in f["title"] for f in doc["findings"] if f["id"] == "cab.parser_differential")


def test_short_blocks_are_a_differential(tmp_path: Path) -> None:
    path = tmp_path / "short.cab"
    path.write_bytes(build(Craft([Entry(b"a.txt", b"a" * 3000)], block=1000)))
    doc = analyze_file(path)
    assert doc["cabinet"]["traits"]["maximal_blocks"] is False
    assert any("shorter than 32768" in f["title"] for f in doc["findings"])
    assert doc["members"][0]["status"] == "ok"
