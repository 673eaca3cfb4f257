"""Safe extraction: nothing outside the directory, caps, renames and refusals reported."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from cabhunt.cab.extract import UnsafeDestinationError, extract
from cabhunt.cab.limits import Limits
from tests.cab.craft import Craft, Entry, build
from tests.conftest import shared_or_skip


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def test_dirwalk_names_stay_inside(tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = extract(shared_or_skip("fixtures/cab/cabextract/dirwalk-vulns.cab"), out)
    assert len(report["written"]) == 29 and not report["refused"]
    root = out.resolve()
    for p in _files(out):
        assert p.resolve().is_relative_to(root)
    assert len(_files(out)) == 29
    assert {r["original"] for r in report["renamed"]} >= {"/absolute/path", "../relative/path"}
    assert not (tmp_path / "relative").exists()


def test_content_and_set(tmp_path: Path) -> None:
    report = extract(shared_or_skip("fixtures/cab/cabextract/split-2.cab"), tmp_path / "o")
    assert len(report["written"]) == 6
    for w in report["written"]:
        data = (tmp_path / "o" / w["written"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == w["sha256"] and len(data) == w["size"]
        assert not os.access(tmp_path / "o" / w["written"], os.X_OK)


def test_symlink_in_destination_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    cab = tmp_path / "a.cab"
    cab.write_bytes(build(Craft([Entry(b"a.txt", b"x")])))
    with pytest.raises(UnsafeDestinationError):
        extract(cab, tmp_path / "link" / "out")
    assert not any(real.iterdir())


def test_symlink_planted_inside_output_not_followed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    outside = tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "sub").symlink_to(outside)
    cab = tmp_path / "a.cab"
    cab.write_bytes(build(Craft([Entry(b"sub\\evil.txt", b"pwned")])))
    report = extract(cab, out)
    assert not any(outside.iterdir())
    assert report["refused"] and "symlink" in report["refused"][0]["reason"]


def test_existing_file_not_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").write_bytes(b"keep")
    cab = tmp_path / "a.cab"
    cab.write_bytes(build(Craft([Entry(b"a.txt", b"new")])))
    report = extract(cab, out)
    assert (out / "a.txt").read_bytes() == b"keep"
    assert "already exists" in report["refused"][0]["reason"]


def test_member_cap_refuses_before_decoding(tmp_path: Path) -> None:
    cab = tmp_path / "a.cab"
    cab.write_bytes(build(Craft([Entry(b"small", b"x" * 10), Entry(b"big", b"y" * 5000)], compress=True)))
    report = extract(cab, tmp_path / "o", limits=Limits(max_member=1000))
    assert [w["name"] for w in report["written"]] == ["small"]
    assert "not decoded" in report["refused"][0]["reason"]
    assert not (tmp_path / "o" / "big").exists()


def test_ratio_cap_stops_expansion(tmp_path: Path) -> None:
    cab = tmp_path / "z.cab"
    cab.write_bytes(build(Craft([Entry(b"zeros", b"\0" * 2_000_000)], compress=True)))
    report = extract(cab, tmp_path / "o", limits=Limits(max_ratio=10, ratio_floor=0))
    assert report["refused"] and "ratio" in report["refused"][0]["reason"]
    assert not (tmp_path / "o" / "zeros").exists()  # partial output removed


def test_bomb_refused_quickly(tmp_path: Path) -> None:
    start = time.monotonic()
    report = extract(shared_or_skip("fixtures/cab/cabextract/large-files-cab.cab"), tmp_path / "o",
                     limits=Limits(max_total=1 << 20))
    assert time.monotonic() - start < 5
    assert not report["written"] and report["refused"]
    assert _files(tmp_path / "o") == []


def test_hidden_table_members_written_apart(tmp_path: Path) -> None:
    report = extract(shared_or_skip("fixtures/cab/libmspack/hidden-files.cab"), tmp_path / "o")
    written = sorted(w["written"] for w in report["written"])
    assert written == ["_coffFiles_table/hidden1.txt", "_coffFiles_table/hidden2.txt", "normal1.txt", "normal2.txt"]
    assert any(f["id"] == "cab.parser_differential" for f in report["findings"])


def test_failed_member_leaves_no_partial_file(tmp_path: Path) -> None:
    report = extract(shared_or_skip("fixtures/cab/libmspack/cve-2010-2800-mszip-infinite-loop.cab"), tmp_path / "o")
    assert report["refused"] and not report["written"]
    assert _files(tmp_path / "o") == []
