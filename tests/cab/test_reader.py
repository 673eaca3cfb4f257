"""Structure reading: header fields, reserves, both file tables, refusals of broken headers."""

from __future__ import annotations

import pytest

from cabhunt.cab.c_cab import decode_dos_datetime
from cabhunt.cab.errors import CabFormatError
from cabhunt.cab.reader import open_cabinet, parse_cabinet
from tests.cab.craft import Craft, Entry, build
from tests.conftest import FIXTURES, shared_or_skip


def test_header_fields_of_normal_cabinet() -> None:
    cab = open_cabinet(shared_or_skip("fixtures/cab/libmspack/normal_2files_1folder.cab"))
    h = cab.header
    assert (h.version_major, h.version_minor, h.set_id, h.c_folders, h.c_files) == (1, 3, 1570, 1, 2)
    assert [(f.name_raw, f.cb_file, f.uoff_folder_start, f.attribs) for f in cab.files] == [
        (b"hello.c", 77, 0, 0x20), (b"welcome.c", 74, 77, 0x20)]
    assert [decode_dos_datetime(f.date, f.time)[0] for f in cab.files] == [
        "1997-03-12T11:13:52", "1997-03-12T11:15:14"]


@pytest.mark.parametrize("flags", ["---", "--D", "-F-", "-FD", "H--", "H-D", "HF-", "HFD"])
def test_reserve_variants(flags: str) -> None:
    cab = open_cabinet(shared_or_skip(f"fixtures/cab/libmspack/reserve_{flags}.cab"))
    assert [f.name_raw for f in cab.files] == [b"test1.txt", b"test2.txt"]
    h = cab.header
    assert (h.cb_header_reserve > 0, h.cb_folder_reserve > 0, h.cb_data_reserve > 0) == tuple(c != "-" for c in flags)


def test_broken_headers_refused() -> None:
    shared_or_skip("fixtures/cab/libmspack")
    names = [*sorted(p.name for p in (FIXTURES / "cab/libmspack").glob("partial_*.cab")), "bad_signature.cab", "bad_nofolders.cab", "bad_nofiles.cab", "bad_folderindex.cab"]
    for name in names:
        if name == "partial_nodata.cab":
            continue
        with pytest.raises(CabFormatError):
            open_cabinet(FIXTURES / "cab/libmspack" / name)


def test_headers_without_data_still_list() -> None:
    cab = open_cabinet(shared_or_skip("fixtures/cab/libmspack/partial_nodata.cab"))
    assert [f.name_raw for f in cab.files] == [b"hello.c", b"welcome.c"]
    assert cab.block_errors


def test_two_file_tables() -> None:
    cab = open_cabinet(shared_or_skip("fixtures/cab/libmspack/hidden-files.cab"))
    assert cab.tables_differ()
    assert [f.name_raw for f in cab.files] == [b"normal1.txt", b"normal2.txt"]
    assert cab.coff_table is not None
    assert [f.name_raw for f in cab.coff_table.files] == [b"hidden1.txt", b"hidden2.txt"]


def test_crafted_prev_next_strings() -> None:
    raw = build(Craft([Entry(b"a", b"x")], flags_extra=0x0003, strings=[b"p.cab", b"disk p", b"n.cab", b"disk n"]))
    cab = parse_cabinet(raw)
    h = cab.header
    assert (h.prev_cabinet, h.prev_disk, h.next_cabinet, h.next_disk) == (b"p.cab", b"disk p", b"n.cab", b"disk n")


def test_unterminated_name_is_an_error() -> None:
    raw = bytearray(build(Craft([Entry(b"a" * 40, b"x")])))
    end = raw.index(b"a" * 40) + 40
    raw[end] = ord("b")  # remove the NUL; the rest of the file has none either
    raw = raw[: end + 1] + b"c" * 2000
    with pytest.raises(CabFormatError):
        parse_cabinet(bytes(raw))


def test_invalid_dos_date_reported() -> None:
    value, err = decode_dos_datetime(0x0000, 0x0000)  # month 0, day 0
    assert value is None and err and "invalid" in err


def test_overlapping_block_chains_are_bounded() -> None:
    """Thousands of folders all pointing at one run of empty CFDATA blocks: indexing stays linear."""
    import struct
    import time

    n_folders = 4000
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, 0, 0, 0, 0, 3, 1, n_folders, 1, 0, 0, 0)
    folders_off = 36
    files_off = folders_off + 8 * n_folders
    entry = struct.pack("<IIHHHH", 0, 0, 0, 0x2C21, 0, 0x20) + b"a\0"
    data_off = files_off + len(entry)
    folders = struct.pack("<IHH", data_off, 0xFFFF, 0) * n_folders
    blocks = struct.pack("<IHH", 0, 0, 0) * 20000
    raw = bytearray(header + folders + entry + blocks)
    struct.pack_into("<I", raw, 8, len(raw))
    struct.pack_into("<I", raw, 16, files_off)
    start = time.monotonic()
    cab = parse_cabinet(bytes(raw))
    assert time.monotonic() - start < 5
    assert sum(len(c) for c in cab.blocks) <= 2 * len(raw) // 8 + 16
    assert any("too many" in e for e in cab.block_errors.values())
