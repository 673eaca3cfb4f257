"""CFDATA checksum: numpy word XOR equals the specification's byte-by-byte definition."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from cabhunt.cab.checksum import cfdata_checksum
from cabhunt.cab.reader import open_cabinet
from tests.conftest import shared_or_skip


def _reference(data: bytes, seed: int) -> int:
    """[MS-CAB] CSUM: XOR of LE u32 words, then the 1-3 byte tail folded big-endian."""
    csum = seed
    n = len(data) // 4
    for i in range(n):
        csum ^= data[4 * i] | data[4 * i + 1] << 8 | data[4 * i + 2] << 16 | data[4 * i + 3] << 24
    ul = 0
    for b in data[4 * n :]:
        ul = (ul << 8) | b
    return csum ^ ul


@given(st.binary(max_size=300), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF))
def test_matches_reference(data: bytes, cb_data: int, cb_uncomp: int) -> None:
    expected = _reference(struct.pack("<HH", cb_data, cb_uncomp), _reference(data, 0))
    assert cfdata_checksum(data, cb_data, cb_uncomp) == expected


def test_real_makecab_blocks_verify() -> None:
    """Every block of makecab-built cabinets carries a checksum that verifies."""
    for rel in ("cabarchive/multi-folder-compressed.cab", "cabextract/split-1.cab"):
        cab = open_cabinet(shared_or_skip(f"fixtures/cab/{rel}"))
        blocks = [b for chain in cab.blocks for b in chain]
        assert blocks
        for b in blocks:
            data = cab.slice(b.data_offset, b.cb_data)
            assert b.csum != 0
            assert cfdata_checksum(data, b.cb_data, b.cb_uncomp) == b.csum


def test_tail_fold_order() -> None:
    assert cfdata_checksum(b"", 0, 0) == 0
    # three trailing bytes fold as b0<<16 | b1<<8 | b2 before the header word
    assert _reference(b"\x01\x02\x03", 0) == 0x010203
