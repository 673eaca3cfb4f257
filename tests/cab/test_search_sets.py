"""Embedded cabinets and multi-cabinet sets."""

from __future__ import annotations

from pathlib import Path

from cabhunt.cab.reader import load, open_cabinet
from cabhunt.cab.search import find_cabinets
from cabhunt.cab.sets import build_set, find_sibling
from tests.conftest import shared_or_skip


def test_search_basic_offsets() -> None:
    buf, path = load(shared_or_skip("fixtures/cab/libmspack/search_basic.cab"))
    assert [c.base for c in find_cabinets(buf, path)] == [6, 265]


def test_search_tricky_fake_signature() -> None:
    buf, path = load(shared_or_skip("fixtures/cab/libmspack/search_tricky1.cab"))
    assert [c.base for c in find_cabinets(buf, path)] == [4]


def test_search_nested_and_appended() -> None:
    buf, path = load(shared_or_skip("fixtures/cab/cabextract/search.cab"))
    cabs = find_cabinets(buf, path)
    assert len(cabs) == 24
    assert all(c.base + c.header.cb_cabinet <= len(buf) for c in cabs)


def test_open_with_search_returns_first() -> None:
    cab = open_cabinet(shared_or_skip("fixtures/cab/libmspack/search_basic.cab"), search=True)
    assert cab.base == 6


def test_split_set_from_any_volume() -> None:
    """makecab's 5-volume set: opening any volume gives the same 6 members."""
    listings = []
    for n in range(1, 6):
        cab = open_cabinet(shared_or_skip(f"fixtures/cab/cabextract/split-{n}.cab"))
        cset = build_set(cab)
        assert len(cset.cabinets) == 5 and not cset.missing
        listings.append([(m.entry.name_raw, m.size) for m in cset.members])
    assert all(listing == listings[0] for listing in listings)
    assert len(listings[0]) == 6


def test_missing_volume_is_reported() -> None:
    cab = open_cabinet(shared_or_skip("fixtures/cab/libmspack/multi_basic_pt3.cab"))
    cset = build_set(cab)
    assert cset.missing and len(cset.cabinets) == 1
    assert any(m.error for m in cset.members) or cset.folders[0].start_error


def test_sibling_lookup_is_case_insensitive_and_local(tmp_path: Path) -> None:
    (tmp_path / "Split-2.CAB").write_bytes(b"x")
    assert find_sibling(tmp_path, "split-2.cab") == tmp_path / "Split-2.CAB"
    assert find_sibling(tmp_path, "..\\..\\etc\\Split-2.cab") == tmp_path / "Split-2.CAB"
    assert find_sibling(tmp_path, "..") is None
    assert find_sibling(tmp_path, "other.cab") is None


def test_continued_member_without_previous_cabinet() -> None:
    from tests.cab.craft import Craft, Entry, build

    raw = bytearray(build(Craft([Entry(b"a.txt", b"aaaa"), Entry(b"b.txt", b"bbbb")])))
    at = raw.index(b"b.txt\0") - 16
    raw[at + 8 : at + 10] = (0xFFFD).to_bytes(2, "little")
    from cabhunt.cab.reader import parse_cabinet

    cset = build_set(parse_cabinet(bytes(raw)))
    a, b = cset.members
    assert a.error is None
    assert b.error and "names none" in b.error


def test_sibling_symlink_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside.cab"
    outside.write_bytes(b"x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "next.cab").symlink_to(outside)
    assert find_sibling(tmp_path / "d", "next.cab") is None
