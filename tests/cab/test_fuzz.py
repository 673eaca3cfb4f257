"""Hostile input: mutated real cabinets never raise anything but CabError, and stay bounded."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabhunt.cab.analyze import analyze_file
from cabhunt.cab.errors import CabError
from cabhunt.cab.extract import extract
from cabhunt.cab.limits import Limits
from tests.conftest import FIXTURES

SEEDS = [
    "libmspack/normal_2files_1folder.cab", "libmspack/reserve_HFD.cab", "libmspack/hidden-files.cab",
    "libmspack/multi_basic_pt2.cab", "cabarchive/multi-folder-compressed.cab", "cabextract/split-3.cab",
    "gcab/test-signed.cab", "cabextract/mixed.cab", "libmspack/search_basic.cab", "gcab/test-mszip.cab",
]
SMALL = Limits(max_total=4 << 20, max_member=2 << 20, ratio_floor=1 << 20, max_seconds=5, nested_max_size=1 << 20,
               analysis_buffer=1 << 20, follow_sets=False)
FIELD_OFFSETS = [8, 16, 26, 28, 30, 36, 38, 40, 44, 46, 48, 52, 56, 60]
EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0xFFFD, 0xFFFE, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF]


def _seed(rel: str) -> bytes:
    path = FIXTURES / "cab" / rel
    if not path.exists():
        pytest.skip(f"shared data not present: {path}")
    return path.read_bytes()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(_seed(draw(st.sampled_from(SEEDS))))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "truncate", "field16", "field32", "splice"]))
        if not data:
            break
        if kind == "flip":
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[draw(st.integers(0, len(data) - 1)) :]
        elif kind in ("field16", "field32"):
            width = 2 if kind == "field16" else 4
            off = draw(st.one_of(st.sampled_from(FIELD_OFFSETS), st.integers(0, max(0, len(data) - width))))
            value = draw(st.sampled_from(EXTREMES)) & ((1 << (8 * width)) - 1)
            if off + width <= len(data):
                data[off : off + width] = value.to_bytes(width, "little")
        else:
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(max_size=40))
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.booleans())
def test_analyze_only_cab_errors(data: bytes, search: bool) -> None:
    start = time.monotonic()
    try:
        doc = analyze_file(data, limits=SMALL, search=search)
    except CabError:
        return
    finally:
        assert time.monotonic() - start < 10
    assert isinstance(doc["members"], list)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_extract_only_cab_errors(data: bytes) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.cab"
        src.write_bytes(data)
        out = Path(tmp) / "out"
        try:
            report = extract(src, out, limits=SMALL)
        except CabError:
            return
        root = out.resolve()
        for p in out.rglob("*"):
            assert p.resolve().is_relative_to(root)
        assert report["bytes_written"] <= SMALL.max_total
