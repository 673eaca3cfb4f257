"""LZX decoder: third-party fixtures as oracle, round trips through a test encoder, the reference
decoder (cabextract) on cabinets we write, and hostile input that must fail cleanly and fast."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import struct
import subprocess
import time
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabhunt.cab.errors import CabDecompressError, CabLimitError
from cabhunt.cab.huffman import build_table
from cabhunt.cab.lzx import LzxDecoder, _undo_e8
from tests.cab.blocks import RawFolder, walk
from tests.cab.lzx_writer import (
    FRAME,
    BitWriter,
    Encoder,
    e8_preprocess,
    e8_translate_frame,
    encode,
    write_cab,
    write_pretree_coded,
)
from tests.conftest import FIXTURES, shared_or_skip

CAB_DIR = FIXTURES / "cab"
BAD = {"lzx-main-tree-no-lengths.cab", "lzx-premature-matches.cab"}


def _decode_folder(folder: RawFolder) -> bytes:
    dec = LzxDecoder((folder.type_compress >> 8) & 0x1F)
    return b"".join(dec.decompress(data, n) for data, n in folder.blocks)


@cache
def _expected() -> dict[str, dict]:
    return json.loads(shared_or_skip("fixtures/cab/expected.json").read_text())


def _lzx_fixtures() -> list[str]:
    """Every walkable shared cabinet with at least one LZX folder."""
    found = []
    if not CAB_DIR.is_dir():
        return found
    for path in sorted(p for p in CAB_DIR.rglob("*") if p.suffix.lower() == ".cab"):
        try:
            folders, _ = walk(path.read_bytes())
        except Exception:  # multi-cabinet sets and deliberately broken headers
            continue
        if any(f.type_compress & 0xF == 3 for f in folders):
            found.append(path.relative_to(CAB_DIR).as_posix())
    return found


def test_fixture_scan_finds_the_known_lzx_cabinets() -> None:
    shared_or_skip("fixtures/cab")
    names = set(_lzx_fixtures())
    for rel in ("libmspack/mszip_lzx_qtm.cab", "cabextract/mixed.cab", "libmspack/normal_2files_2folders.cab",
                "cabextract/large-files-cab.cab", "libmspack/lzx-premature-matches.cab",
                "libmspack/lzx-main-tree-no-lengths.cab"):
        assert rel in names


@pytest.mark.parametrize("rel", _lzx_fixtures() or ["libmspack/mszip_lzx_qtm.cab"])
def test_fixture_folders_match_reference_hashes(rel: str) -> None:
    path = shared_or_skip(f"fixtures/cab/{rel}")
    folders, files = walk(path.read_bytes())
    for index, folder in enumerate(folders):
        if folder.type_compress & 0xF != 3:
            continue
        started = time.monotonic()
        if Path(rel).name in BAD:
            with pytest.raises(CabDecompressError):
                _decode_folder(folder)
            assert time.monotonic() - started < 2
            continue
        out = _decode_folder(folder)
        assert len(out) == sum(n for _, n in folder.blocks)
        members = {m["name"]: m for m in _expected()[rel]["members"]}
        checked = 0
        for f in files:
            if f.folder == index:
                blob = out[f.offset : f.offset + f.size]
                assert len(blob) == members[f.name]["size"]
                assert hashlib.sha256(blob).hexdigest() == members[f.name]["sha256"], f.name
                checked += 1
        assert checked


def test_large_makecab_lzx21_member_is_decoded_exactly() -> None:
    """Real makecab LZX:21 output, 449 frames, aligned-offset blocks spanning frames, E8 on."""
    path = shared_or_skip("fixtures/cab/cabextract/large-files-cab.cab")
    folders, files = walk(path.read_bytes())
    out = _decode_folder(folders[0])
    member = _expected()["cabextract/large-files-cab.cab"]["members"][0]
    assert files[0].size == member["size"] == len(out)
    assert hashlib.sha256(out).hexdigest() == member["sha256"]


def test_cve_2015_4471_uncompressed_header_underread_is_rejected() -> None:
    path = shared_or_skip("fixtures/cab/libmspack/cve-2015-4471-lzx-under-read.cab")
    buf = path.read_bytes()
    # The header's coffFiles is garbage (the walker refuses it); the single folder is at 0x42.
    start, n_data, type_compress = struct.unpack_from("<IHH", buf, 0x42)
    assert type_compress & 0xF == 3 and n_data == 1
    _csum, cb_data, cb_uncomp = struct.unpack_from("<IHH", buf, start)
    dec = LzxDecoder((type_compress >> 8) & 0x1F)
    with pytest.raises(CabDecompressError):
        dec.decompress(buf[start + 8 : start + 8 + cb_data], cb_uncomp)


# -- construction / interface -----------------------------------------------------------------
@pytest.mark.parametrize("bits", [0, 14, 22, 25, -1])
def test_window_bits_outside_cab_range_are_rejected(bits: int) -> None:
    with pytest.raises(CabDecompressError):
        LzxDecoder(bits)


def test_frame_size_is_bounded_and_empty_frame_is_empty() -> None:
    dec = LzxDecoder(16)
    assert dec.decompress(b"", 0) == b""
    with pytest.raises(CabDecompressError):
        dec.decompress(b"\0" * 64, FRAME + 1)


def test_oversized_input_block_hits_the_limit() -> None:
    with pytest.raises(CabLimitError):
        LzxDecoder(16).decompress(b"\0" * (4 * 65536 + 1), 100)


def test_decoder_stays_failed_after_an_error() -> None:
    raw = b"abcdefgh" * 5000
    frames = encode(raw, 16)
    dec = LzxDecoder(16)
    with pytest.raises(CabDecompressError):
        dec.decompress(frames[0][0][:20], frames[0][1])
    with pytest.raises(CabDecompressError):
        dec.decompress(*frames[1])


# -- round trips through the test encoder -----------------------------------------------------
def _text(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    words = [bytes(rnd.choice(b"etaoinshrdlu \n\xe8\x00") for _ in range(rnd.randint(1, 9))) for _ in range(400)]
    out = bytearray()
    while len(out) < n:
        out += rnd.choice(words)
    return bytes(out[:n])


def _roundtrip(raw: bytes, window_bits: int, **kw: object) -> None:
    frames = encode(raw, window_bits, **kw)  # type: ignore[arg-type]
    dec = LzxDecoder(window_bits)
    out = b"".join(dec.decompress(data, n) for data, n in frames)
    assert out == raw


@pytest.mark.parametrize("window_bits", [15, 16, 17, 18, 19, 20, 21])
@pytest.mark.parametrize("block_type", [1, 2, 3])
def test_roundtrip_each_block_type_and_window(window_bits: int, block_type: int) -> None:
    _roundtrip(_text(70_001, window_bits), window_bits, block_type=block_type)


@pytest.mark.parametrize("block_size", [7, 4095, 32767, 32769, 50_001])
def test_roundtrip_mixed_blocks_spanning_frames_with_e8(block_size: int) -> None:
    # tiny blocks cost a tree build each; keep those streams just over one frame
    raw = _text(FRAME + 300 if block_size < 10 else 3 * FRAME + 1234, block_size)
    _roundtrip(raw, 17, types=[3, 1, 2], block_size=block_size, e8_size=len(raw) + 999)


def test_roundtrip_one_byte_blocks() -> None:
    _roundtrip(_text(900, 4), 16, types=[1, 3, 2], block_size=1)


def test_roundtrip_far_offsets_use_window21_upper_slots() -> None:
    """Distances beyond 1 MiB need position slots 42..49, which only window 21 has."""
    rnd = random.Random(7)
    head = _text(40_000, 3)
    raw = head + rnd.randbytes((1 << 20) + 150_000) + head
    enc = Encoder(21)
    frames = enc.encode(raw, [(3, len(raw) - len(head)), (2, len(head))])
    dec = LzxDecoder(21)
    assert b"".join(dec.decompress(d, n) for d, n in frames) == raw


def test_e8_not_undone_beyond_the_first_gibibyte() -> None:
    payload = (b"\xe8\x10\x00\x00\x00xyz" * 4096)[:FRAME]
    raw = b"\0" * FRAME + payload
    size = 1 << 20
    frames = Encoder(15, size).encode(raw, [(3, FRAME), (3, FRAME)])
    translated = e8_preprocess(raw, size)[FRAME:]
    assert translated != payload
    normal = LzxDecoder(15)
    normal.decompress(*frames[0])
    assert normal.decompress(*frames[1]) == payload
    late = LzxDecoder(15)
    late.decompress(*frames[0])
    late._total = 0x40000000  # pretend a gibibyte was already output
    assert late.decompress(*frames[1]) == translated


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=3000), st.integers(0, 0x7FFFFFFF), st.integers(0, 1 << 31))
def test_e8_undo_inverts_the_encoder_translation(data: bytes, size: int, offset: int) -> None:
    buf = bytearray(data)
    for i in range(0, len(buf), 7):  # dense E8 bytes: both signs, skips, and the 10-byte tail rule
        buf[i] = 0xE8
    chunk = bytes(buf)
    frame = bytearray(chunk)
    e8_translate_frame(frame, offset, size)
    if len(chunk) > 10 and offset < 0x40000000:
        _undo_e8(frame, offset, size)
    assert bytes(frame) == chunk


def test_e8_tail_and_short_frames_are_left_alone() -> None:
    frame = bytearray(b"\0" * 20 + b"\xe8\x01\0\0\0" + b"\0" * 9)  # E8 at len-14: translated
    _undo_e8(frame, 0, 1000)
    assert frame[21:25] == (1 - 20).to_bytes(4, "little", signed=True)
    tail = bytearray(b"\0" * 20 + b"\xe8\x01\0\0\0" + b"\0" * 5)  # E8 at len-10: untouched
    _undo_e8(tail, 0, 1000)
    assert tail[21:25] == b"\x01\0\0\0"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, 40), st.binary(min_size=1, max_size=40)), min_size=1, max_size=60),
    st.sampled_from([15, 16, 21]),
    st.lists(st.sampled_from([1, 2, 3]), min_size=1, max_size=3),
    st.integers(1, 5000),
    st.booleans(),
)
def test_roundtrip_property(
    pieces: list[tuple[int, bytes]], window_bits: int, types: list[int], block_size: int, e8: bool
) -> None:
    raw = b"".join(chunk * reps for reps, chunk in pieces)
    if not raw:
        return
    _roundtrip(raw, window_bits, types=types, block_size=block_size, e8_size=len(raw) if e8 else None)


# -- the reference decoder agrees on cabinets written here --------------------------------------
@pytest.mark.skipif(shutil.which("cabextract") is None, reason="cabextract not installed")
@pytest.mark.parametrize(("window_bits", "types", "block_size"), [(21, [2, 1, 3], 50_001), (15, [3, 2], 33_333)])
def test_cabextract_extracts_our_streams_identically(
    tmp_path: Path, window_bits: int, types: list[int], block_size: int
) -> None:
    raw = _text(90_000, 11) + random.Random(5).randbytes(20_000) + _text(30_000, 12)
    frames = encode(raw, window_bits, types=types, block_size=block_size, e8_size=len(raw) // 2)
    cab = tmp_path / "t.cab"
    cab.write_bytes(write_cab("t.bin", len(raw), frames, window_bits))
    ref = subprocess.run(["cabextract", "-q", "-p", str(cab)], capture_output=True, timeout=60, check=True).stdout
    assert ref == raw
    dec = LzxDecoder(window_bits)
    assert b"".join(dec.decompress(d, n) for d, n in frames) == ref


@pytest.mark.skipif(shutil.which("cabextract") is None, reason="cabextract not installed")
@pytest.mark.parametrize(
    "blocks",
    [
        [(1, 1001), (3, 40000), (1, 38999)],  # odd part in each frame, even total: no pad byte
        [(1, 1001), (3, 40001), (1, 38998)],  # odd total: pad byte after the second frame's part
        [(3, 1001), (3, 40000), (2, 38999)],
    ],
)
def test_cabextract_agrees_on_uncompressed_blocks_split_at_odd_offsets(
    tmp_path: Path, blocks: list[tuple[int, int]]
) -> None:
    raw = _text(80_000, 5)
    frames = Encoder(16).encode(raw, blocks)
    cab = tmp_path / "odd.cab"
    cab.write_bytes(write_cab("odd.bin", len(raw), frames, 16))
    ref = subprocess.run(["cabextract", "-q", "-p", str(cab)], capture_output=True, timeout=60, check=True).stdout
    assert ref == raw
    dec = LzxDecoder(16)
    assert b"".join(dec.decompress(d, n) for d, n in frames) == raw


# -- hostile input ----------------------------------------------------------------------------
def _frames(window_bits: int = 16) -> list[tuple[bytes, int]]:
    return encode(_text(2 * FRAME + 500, 99), window_bits, types=[2, 1, 3], block_size=20_000, e8_size=77_777)


def test_truncated_frame_raises() -> None:
    data, n = _frames()[0]
    for cut in (0, 1, 2, 10, len(data) // 2, len(data) - 2):
        with pytest.raises(CabDecompressError):
            LzxDecoder(16).decompress(data[:cut], n)


def test_invalid_block_type_and_zero_block_size_raise() -> None:
    for btype, size in ((0, 100), (4, 100), (7, 100), (1, 0)):
        bits = (0 << 27) | (btype << 24) | size  # E8 bit, block type, 24-bit size: 28 bits
        word = bits << 4
        data = struct.pack("<HH", word >> 16, word & 0xFFFF) + b"\0" * 200
        with pytest.raises(CabDecompressError):
            LzxDecoder(16).decompress(data, 100)


def test_empty_main_tree_is_rejected() -> None:
    bw = BitWriter()
    bw.write(0, 1)  # no E8
    bw.write(1, 3)  # verbatim
    bw.write(0, 16)
    bw.write(16, 8)
    write_pretree_coded(bw, [0] * 256, [0] * 256)
    write_pretree_coded(bw, [0] * 8 * 32, [0] * 8 * 32)
    bw.cut()
    with pytest.raises(CabDecompressError, match="main tree"):
        LzxDecoder(16).decompress(bw.frames[0] + b"\0" * 64, 16)


def test_repeated_offset_zero_from_an_uncompressed_block_is_rejected() -> None:
    enc = Encoder(16)
    enc.r = [0, 1, 1]  # written into the uncompressed block header, then used by slot 0
    frames = enc.encode(b"q" * 100 + b"z" * 1000, [(3, 100), (1, 1000)])
    with pytest.raises(CabDecompressError, match="repeated offset"):
        LzxDecoder(16).decompress(*frames[0])


def test_match_running_past_frame_end_raises() -> None:
    raw = b"ab" * 60_000
    data, n = encode(raw, 16)[0]
    with pytest.raises(CabDecompressError):
        LzxDecoder(16).decompress(data, n - 1)  # the last match now crosses the frame end


def test_huffman_builder_rejects_oversubscribed_and_empty_main() -> None:
    with pytest.raises(CabDecompressError):
        build_table([1, 1, 1])
    with pytest.raises(CabDecompressError):
        build_table([0, 0, 0], allow_empty=False)
    with pytest.raises(CabDecompressError):
        build_table([17, 1])
    table, bits = build_table([2, 2, 2])  # incomplete: the unused pattern decodes as invalid
    assert bits == 2 and table[3] >> 5 > 1000
    table, bits = build_table([1, 2, 3, 3])
    assert bits == 3 and [e >> 5 for e in table] == [0, 0, 0, 0, 1, 1, 2, 3]


def _only_decompress_errors(frames: list[tuple[bytes, int]], window_bits: int) -> None:
    dec = LzxDecoder(window_bits)
    started = time.monotonic()
    try:
        for data, n in frames:
            assert len(dec.decompress(data, n)) == n
    except CabDecompressError:
        pass
    assert time.monotonic() - started < 5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(min_size=0, max_size=4000), st.integers(0, FRAME), st.sampled_from([15, 17, 21]))
def test_random_bytes_only_raise_decompress_errors(data: bytes, n: int, window_bits: int) -> None:
    _only_decompress_errors([(data, n), (data[::-1], n)], window_bits)


@cache
def _real_frames() -> list[tuple[list[tuple[bytes, int]], int]]:
    sets: list[tuple[list[tuple[bytes, int]], int]] = [(_frames(16)[:2], 16)]
    for rel in ("libmspack/mszip_lzx_qtm.cab", "cabextract/large-files-cab.cab"):
        path = CAB_DIR / rel
        if path.exists():
            for folder in walk(path.read_bytes())[0]:
                if folder.type_compress & 0xF == 3:
                    sets.append((folder.blocks[:3], (folder.type_compress >> 8) & 0x1F))
    return sets


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_real_blocks_only_raise_decompress_errors(data: st.DataObject) -> None:
    frames, window_bits = data.draw(st.sampled_from(_real_frames()))
    k = data.draw(st.integers(0, len(frames) - 1))
    blob = bytearray(frames[k][0])
    for _ in range(data.draw(st.integers(1, 8))):
        if not blob:
            break
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    mutated = list(frames)
    mutated[k] = (bytes(blob), frames[k][1])
    _only_decompress_errors(mutated, window_bits)
