"""Quantum decoder: real cabinets, model/coder units, differential and hostile-input tests."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cabhunt.cab.errors import CabDecompressError, CabError
from cabhunt.cab.quantum import (
    _RENORM_MASK,
    _RENORM_SHIFTS,
    FRAME_SIZE,
    LENGTH_BASE,
    LENGTH_EXTRA,
    LITERAL_MODELS,
    POSITION_BASE,
    POSITION_EXTRA,
    SELECTOR,
    QuantumDecoder,
    lookup_table,
    model_sizes,
    rescale,
    rescale_cumulative,
    rescale_table,
)
from tests.cab.blocks import RawFolder, walk
from tests.cab.qtm_reference import RefDecoder, RefModel, build_cab, encode_folder
from tests.conftest import FIXTURES, shared_or_skip

QUANTUM = 2


def _quantum_fixtures() -> list[str]:
    """Every shared cabinet with a Quantum folder that the test walker can read."""
    root = FIXTURES / "cab"
    found = []
    for path in sorted(root.rglob("*.cab")) if root.exists() else []:
        try:
            folders, _ = walk(path.read_bytes())
        except Exception:
            continue
        if any(f.type_compress & 0xF == QUANTUM for f in folders):
            found.append(path.relative_to(root).as_posix())
    return found


def _decoder_for(folder: RawFolder) -> QuantumDecoder:
    return QuantumDecoder((folder.type_compress >> 8) & 0x1F, (folder.type_compress >> 4) & 0xF)


def _decode(folder: RawFolder) -> bytes:
    dec = _decoder_for(folder)
    return b"".join(dec.decompress(data, size) for data, size in folder.blocks)


def _expected() -> dict[str, dict]:
    return json.loads(shared_or_skip("fixtures/cab/expected.json").read_text())


# ---------------------------------------------------------------- real cabinets


def test_fixture_scan_finds_the_known_quantum_cabinets() -> None:
    shared_or_skip("fixtures/cab")
    found = set(_quantum_fixtures())
    for key in (
        "libmspack/mszip_lzx_qtm.cab",
        "cabextract/mixed.cab",
        "cabextract-bugs/cve-2010-2801-qtm-flush.cab",
        "libmspack/cve-2014-9556-qtm-infinite-loop.cab",
        "libmspack/cve-2018-18584-qtm-max-size-block.cab",
        "cabextract-bugs/qtm-max-size-block.cab",
    ):
        assert key in found


@pytest.mark.parametrize("key", _quantum_fixtures() or ["(none)"])
def test_quantum_fixture_matches_expected(key: str) -> None:
    """Members cabextract extracts must match byte for byte; the ones it rejects must fail fast."""
    expected = _expected()
    path = shared_or_skip(f"fixtures/cab/{key}")
    entry = expected[key]
    folders, files = walk(path.read_bytes())
    failed_names = {
        msg.split()[0]
        for msg in entry.get("cabextract_messages", [])
        if "failed" in msg and msg.startswith("  ")
    }
    members = {m["name"]: m for m in entry["members"]}
    for index, folder in enumerate(folders):
        if folder.type_compress & 0xF != QUANTUM:
            continue
        in_folder = [f for f in files if f.folder == index]
        start = time.monotonic()
        try:
            out = _decode(folder)
        except CabDecompressError:
            out = None
        assert time.monotonic() - start < 10
        for f in in_folder:
            if f.name in failed_names:
                # cabextract could not extract it; we must not report a "success" of our own.
                assert out is None, f"{key}: {f.name} decoded although cabextract rejects it"
                continue
            assert out is not None, f"{key}: {f.name} should decode"
            digest = hashlib.sha256(out[f.offset : f.offset + f.size]).hexdigest()
            assert digest == members[f.name]["sha256"], f.name


def test_qtm_txt_md5() -> None:
    folders, files = walk(shared_or_skip("fixtures/cab/libmspack/mszip_lzx_qtm.cab").read_bytes())
    (qtm,) = [f for f in files if f.name == "qtm.txt"]
    out = _decode(folders[qtm.folder])
    assert (
        hashlib.md5(out[qtm.offset : qtm.offset + qtm.size]).hexdigest() == "98fcfa4962a0f169a3c7fdbcb445cf17"
    )


def test_window_wrap_flush_sample_decodes_all_zeroes() -> None:
    """CVE-2010-2801 sample: 16 blocks, window 18, ~512 KiB of zeroes through many window wraps."""
    folders, files = walk(
        shared_or_skip("fixtures/cab/cabextract-bugs/cve-2010-2801-qtm-flush.cab").read_bytes()
    )
    out = _decode(folders[0])
    assert len(out) == files[0].size == 524159
    assert hashlib.md5(out).hexdigest() == "42e8928e055cded6e5f32491a281ce92"


@pytest.mark.parametrize(
    "rel",
    [
        "libmspack/cve-2014-9556-qtm-infinite-loop.cab",
        "libmspack/cve-2018-18584-qtm-max-size-block.cab",
        "cabextract-bugs/qtm-max-size-block.cab",
    ],
)
def test_hostile_samples_fail_fast(rel: str) -> None:
    folders, _ = walk(shared_or_skip(f"fixtures/cab/{rel}").read_bytes())
    start = time.monotonic()
    with pytest.raises(CabDecompressError):
        _decode(folders[0])
    assert time.monotonic() - start < 2


def test_reference_decoder_agrees_on_real_samples() -> None:
    """The slow reference reads the real streams identically (it backs the differential tests)."""
    for rel in ("libmspack/mszip_lzx_qtm.cab", "cabextract-bugs/cve-2010-2801-qtm-flush.cab"):
        folders, _ = walk(shared_or_skip(f"fixtures/cab/{rel}").read_bytes())
        for folder in folders:
            if folder.type_compress & 0xF == QUANTUM:
                ref = RefDecoder((folder.type_compress >> 8) & 0x1F)
                assert b"".join(ref.decompress(d, n) for d, n in folder.blocks) == _decode(folder)


# ---------------------------------------------------------------- tables and models


def test_slot_tables() -> None:
    assert POSITION_BASE[:10] == (0, 1, 2, 3, 4, 6, 8, 12, 16, 24)
    assert POSITION_EXTRA[:10] == (0, 0, 0, 0, 1, 1, 2, 2, 3, 3)
    for bits in range(10, 22):
        last = 2 * bits - 1  # the largest offset a window's slots can reach is the window size
        assert POSITION_BASE[last] + (1 << POSITION_EXTRA[last]) == 1 << bits
    assert len(LENGTH_BASE) == 27
    assert LENGTH_BASE[-1] + 5 == 259 and LENGTH_EXTRA[-1] == 0
    assert LENGTH_BASE[-2] + (1 << LENGTH_EXTRA[-2]) - 1 + 5 == 258
    assert model_sizes(10) == (64, 64, 64, 64, 20, 20, 20, 27, 7)
    assert model_sizes(21) == (64, 64, 64, 64, 24, 36, 42, 27, 7)


@pytest.mark.parametrize("bits", [9, 22, 0, -1])
def test_window_bits_validated(bits: int) -> None:
    with pytest.raises(CabDecompressError):
        QuantumDecoder(bits)


def _fast_model(n: int) -> tuple[list[int], list[int], list[int]]:
    return [1] * n, list(range(n)), [4]


def test_rescale_halves_cumulative_frequencies_keeping_them_distinct() -> None:
    freqs, syms, shifts = _fast_model(4)
    freqs[:] = [3000, 1, 1, 1000]  # cumulative 4002, 1002, 1001, 1000
    total = rescale(freqs, syms, shifts, 0)
    # halved cumulative: 500, 500->501, 501->502, 2001 -> frequencies 2001-502, 1, 1, 500
    assert freqs == [1499, 1, 1, 500] and total == 2001
    assert syms == [0, 1, 2, 3] and shifts == [3]


def test_fourth_rescale_resorts_with_exchange_sort_instability() -> None:
    freqs, syms, shifts = _fast_model(5)
    shifts[0] = 1
    freqs[:] = [4, 9, 4, 9, 1]  # halved rounding up: 2, 5, 2, 5, 1
    total = rescale(freqs, syms, shifts, 0)
    assert shifts == [50]
    assert freqs == [5, 5, 2, 2, 1] and total == 15
    # Exchange sort: pass 0 swaps 0<->1 (2<5) ; then 5 vs 5 no swap; pass 1: entry1 (sym0, 2)
    # vs entry2 (sym2, 2) no swap, vs entry3 (sym3, 5) swap -> syms 1,3,2,0,4.
    assert syms == [1, 3, 2, 0, 4]


def test_lookup_table_lays_out_cumulative_ranges() -> None:
    """Byte p names the entry whose range [cum[j+1], cum[j]) holds p: the last entry first."""
    freq_of = [0] * 10 + [3, 1, 2]
    table = lookup_table(freq_of, [11, 10, 12])  # coding order: 11 (f1), 10 (f3), 12 (f2)
    assert table == bytes([12, 12, 10, 10, 10, 11])
    assert table.find(10) == 2 and len(table) == 6


def _symbol_stream(n: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    return [
        min(int(rng.expovariate(0.3)), n - 1) if rng.random() < 0.8 else rng.randrange(n)
        for _ in range(20000)
    ]


@pytest.mark.parametrize("n", [20, 27, 42, 64])
def test_table_model_matches_reference_model_over_many_updates(n: int) -> None:
    """Drive the decoder's table model and the reference model with the same symbols through many
    rescales and re-sorts, updating the table exactly as the hot loop does."""
    ref = RefModel(0, n)
    freq_of = [1] * n
    syms = list(range(n))
    shifts = [4]
    table = lookup_table(freq_of, syms)
    for sym in _symbol_stream(n, n):
        i = ref.index_of(sym)
        start = table.find(sym)
        assert start == ref.cum[i + 1] and freq_of[sym] == ref.cum[i] - ref.cum[i + 1]
        ref.update(i)
        total = len(table)
        freq_of[sym] += 8
        if total <= 3800 - 8:
            table[start:start] = bytes([sym]) * 8
        else:
            rescale_table(table, freq_of, syms, shifts, 0)
        assert syms == ref.syms
        assert len(table) == ref.cum[0]
    assert table == bytes(
        ref.syms[j] for j in range(n - 1, -1, -1) for _ in range(ref.cum[j] - ref.cum[j + 1])
    )


def test_cumulative_model_matches_reference_model_over_many_updates() -> None:
    """The selector's form: cumulative frequencies updated in place, rescaled by rescale_cumulative."""
    n = 7
    ref = RefModel(0, n)
    cum = [n - j for j in range(n)]
    syms = list(range(n))
    shifts = [4]
    for sym in _symbol_stream(n, 5):
        i = ref.index_of(sym)
        ref.update(i)
        for j in range(i + 1):
            cum[j] += 8
        if cum[0] > 3800:
            cum = rescale_cumulative(cum, syms, shifts, 0)
        assert syms == ref.syms
        assert cum == ref.cum[:n]


def _renormalise_bitwise(lo: int, hi: int) -> tuple[int, int, int]:
    """The textbook loop, one shift at a time: (shifts, L, H) afterwards."""
    shifts = 0
    while True:
        if (lo & 0x8000) != (hi & 0x8000):
            if lo & 0x4000 and not hi & 0x4000:
                lo &= 0x3FFF
                hi |= 0x4000
            else:
                return shifts, lo, hi
        lo = (lo << 1) & 0xFFFF
        hi = ((hi << 1) | 1) & 0xFFFF
        shifts += 1


def test_table_driven_renormalisation_matches_bitwise_loop() -> None:
    """shifts = _RENORM_SHIFTS[(L & _RENORM_MASK[R]) + R], then L = (L << shifts) & 0x7FFF and
    R <<= shifts, must equal the textbook loop for every reachable coder state."""
    rng = random.Random(3)
    pairs = [
        (0, 0xFFFF),
        (0x7FFF, 0x8000),
        (0x4000, 0xBFFF),
        (0x3FFF, 0xC000),
        (0x3FFF, 0x4002),
        (0x1234, 0x1234),
    ]
    pairs += [(lo, lo + d) for d in (0, 1, 3) for lo in range(0, 0x10000 - d, 7)]  # the narrowest ranges
    for _ in range(40000):
        lo = rng.randrange(0x10000)
        pairs.append((lo, rng.randrange(lo, 0x10000)))
    for lo, hi in pairs:
        want = _renormalise_bitwise(lo, hi)
        r = hi - lo + 1
        n = _RENORM_SHIFTS[(lo & _RENORM_MASK[r]) + r]
        lo2 = (lo << n) & 0x7FFF
        assert (n, lo2, lo2 + (r << n) - 1) == want, (hex(lo), hex(hi))


def test_coder_extremes_pick_first_and_last_entries() -> None:
    # Code register 0xFFFF: the top of the range, i.e. the first table entry of each model:
    # selector 0 (literal group 0), then literal 0x00.
    assert QuantumDecoder(12).decompress(b"\xff" * 8, 1) == b"\x00"
    # Code register 0: the last entries: selector 6, length slot 26 (259 bytes), last position slot.
    with pytest.raises(CabDecompressError, match=str(POSITION_BASE[23] + 1)):
        QuantumDecoder(12).decompress(b"\x00" * 8, 300)


# ---------------------------------------------------------------- round trips


def _corpus(seed: int) -> bytes:
    rng = random.Random(seed)
    text = Path(__file__).read_bytes()
    parts = [
        text,
        bytes(rng.randrange(256) for _ in range(3000)),
        bytes(rng.choice(b"ab") for _ in range(3000)),
        b"\x00" * 5000,
        text[::-1],
        bytes(range(256)) * 8,
    ]
    rng.shuffle(parts)
    return b"".join(parts)


@pytest.mark.parametrize("bits", [10, 15, 21])
def test_round_trip_own_encoder(bits: int) -> None:
    src = _corpus(bits)
    blocks = encode_folder(src, bits)
    assert len(blocks) > 1
    dec = QuantumDecoder(bits)
    out = [dec.decompress(data, size) for data, size in blocks]
    assert [len(o) for o in out] == [size for _, size in blocks]
    assert b"".join(out) == src


def test_smallest_window_matches_at_full_distance_and_history_trimming() -> None:
    """Window 10: matches exactly 1024 back, and a folder long enough that old history is dropped."""
    rng = random.Random(9)
    unit = bytes(rng.randrange(256) for _ in range(1024))
    src = unit * 80 + bytes(rng.randrange(256) for _ in range(5000)) + unit * 80
    blocks = encode_folder(src, 10)
    dec = QuantumDecoder(10)
    assert b"".join(dec.decompress(d, n) for d, n in blocks) == src
    assert dec.total_out == len(src)
    assert len(dec._history) < len(src)  # trimmed, and later matches still resolved


def test_round_trip_incompressible_data_through_literal_resorts() -> None:
    """Random bytes are nearly all literals: every literal model and the selector go through many
    rescales and re-sorts (their coding order is no longer the initial one), across blocks."""
    rng = random.Random(21)
    src = bytes(rng.randrange(256) for _ in range(3 * FRAME_SIZE))
    blocks = encode_folder(src, 21)
    dec = QuantumDecoder(21)
    assert b"".join(dec.decompress(d, n) for d, n in blocks) == src
    for m in [*range(4), 8]:
        assert dec._syms[m] != sorted(dec._syms[m])


def test_selector_resorts_move_match_entries_ahead_of_literals_and_back() -> None:
    """The hot loop keeps each selector entry's literal table in a local (None for a match entry)
    and must refresh them when a re-sort reorders the selector: a match-heavy start puts a match
    entry first, the random bytes after it bring the literals back in front."""
    rng = random.Random(3)
    words = [bytes(rng.randrange(256) for _ in range(3)) for _ in range(8)]
    src = b"".join(rng.choice(words) + bytes([rng.randrange(256)]) for _ in range(3000))
    src += bytes(rng.randrange(256) for _ in range(40000))
    dec = QuantumDecoder(16)
    out = []
    leaders = []
    for data, size in encode_folder(src, 16, block=2000):
        out.append(dec.decompress(data, size))
        leaders.append(dec._syms[SELECTOR][0])
    assert b"".join(out) == src
    first_match = next(i for i, s in enumerate(leaders) if s >= LITERAL_MODELS)
    assert any(s < LITERAL_MODELS for s in leaders[first_match:])


def test_round_trip_small_blocks_and_one_byte_block() -> None:
    src = _corpus(3)[:8000] + b"z"
    blocks = encode_folder(src, 12, block=4000)
    assert blocks[-1][1] == 1
    dec = QuantumDecoder(12)
    assert b"".join(dec.decompress(d, n) for d, n in blocks) == src


def test_cabextract_accepts_encoder_output(tmp_path: Path) -> None:
    """libmspack is an independent oracle for the encoder (and so for what the decoder is checked on)."""
    exe = shutil.which("cabextract")
    if exe is None:
        pytest.skip("cabextract not installed")
    src = _corpus(11)
    cab = tmp_path / "t.cab"
    cab.write_bytes(build_cab(encode_folder(src, 16), 16))
    res = subprocess.run([exe, "-p", str(cab)], capture_output=True, check=False, timeout=30)
    assert res.returncode == 0 and res.stdout == src


# ---------------------------------------------------------------- strictness


def test_match_before_start_of_folder_rejected() -> None:
    # An all-zero block decodes as selector 6 with the last length and position slots.
    with pytest.raises(CabDecompressError, match="before the start"):
        QuantumDecoder(16).decompress(b"\0" * 64, 100)


def test_oversized_block_and_poisoned_state() -> None:
    dec = QuantumDecoder(16)
    with pytest.raises(CabDecompressError):
        dec.decompress(b"\0" * 8, FRAME_SIZE + 1)
    with pytest.raises(CabDecompressError, match="already failed"):
        dec.decompress(*encode_folder(b"hello", 16)[0])


def test_empty_block_is_empty() -> None:
    assert QuantumDecoder(10).decompress(b"", 0) == b""


def test_truncated_block_reports_missing_input() -> None:
    src = bytes(random.Random(5).randrange(256) for _ in range(4000))
    ((data, size),) = encode_folder(src, 16)
    dec = QuantumDecoder(16)
    with pytest.raises(CabDecompressError, match="ends before its data"):
        dec.decompress(data[: len(data) // 2], size)
    with pytest.raises(CabDecompressError, match="already failed"):
        dec.decompress(data, size)


def test_unread_tail_reports_bytes_appended_to_a_block() -> None:
    folders, _ = walk(shared_or_skip("fixtures/cab/cabextract-bugs/cve-2010-2801-qtm-flush.cab").read_bytes())
    dec = _decoder_for(folders[0])
    for data, size in folders[0].blocks:
        dec.decompress(data, size)
        # The real compressor's padding is mostly read as look-ahead; what is left is a null byte.
        assert dec.unread_tail in (b"", b"\0")
    src = _corpus(2)[:20000]
    ((data, size),) = encode_folder(src, 16)
    dec = QuantumDecoder(16)
    assert dec.decompress(data + b"HIDDEN PAYLOAD", size) == src
    assert dec.unread_tail == b"HIDDEN PAYLOAD"


def test_short_final_block_drops_match_overshoot() -> None:
    src = b"a" * 5 + b"b" * 300
    ((data, size),) = encode_folder(src, 16)
    assert size == len(src)
    assert QuantumDecoder(16).decompress(data, 10) == src[:10]


def test_frame_overrun_rejected() -> None:
    """A match may overshoot a short final block, but never the 32768-byte frame (CVE-2014-9556)."""
    # One "block" of 33027 zeroes: a literal then 259-byte matches, the 127th crossing 32768.
    ((data, _),) = encode_folder(b"\0" * (FRAME_SIZE + 259), 18, block=FRAME_SIZE + 259)
    with pytest.raises(CabDecompressError, match="frame overrun"):
        QuantumDecoder(18).decompress(data, FRAME_SIZE)


# ---------------------------------------------------------------- hostile input


def _real_blocks() -> list[tuple[int, list[tuple[bytes, int]]]]:
    out = []
    for rel in ("libmspack/mszip_lzx_qtm.cab", "cabextract-bugs/cve-2010-2801-qtm-flush.cab"):
        path = FIXTURES / "cab" / rel
        if path.exists():
            for folder in walk(path.read_bytes())[0]:
                if folder.type_compress & 0xF == QUANTUM:
                    out.append(((folder.type_compress >> 8) & 0x1F, folder.blocks))
    out.append((15, encode_folder(_corpus(1)[:20000], 15, block=8000)))
    return out


REAL = _real_blocks()


def _run_bounded(bits: int, blocks: list[tuple[bytes, int]]) -> None:
    dec = QuantumDecoder(bits)
    start = time.monotonic()
    for data, size in blocks:
        try:
            out = dec.decompress(data, size)
        except CabError as exc:
            assert "internal fault" not in str(exc)
            return
        assert len(out) == size
    assert time.monotonic() - start < 5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bits=st.integers(10, 21),
    data=st.binary(max_size=600),
    size=st.integers(0, FRAME_SIZE),
)
def test_random_bytes_never_escape(bits: int, data: bytes, size: int) -> None:
    _run_bounded(bits, [(data, size)])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(0, len(REAL) - 1),
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    size_delta=st.integers(-300, 300),
)
def test_mutated_real_blocks_never_escape(
    which: int, flips: list[tuple[int, int]], cut: int | None, size_delta: int
) -> None:
    bits, blocks = REAL[which]
    mutated = []
    for n, (data, size) in enumerate(blocks):
        buf = bytearray(data)
        for at, x in flips:
            if buf and at % len(blocks) == n:
                buf[at % len(buf)] ^= x
        if cut is not None and cut % len(blocks) == n:
            del buf[cut % (len(buf) + 1) :]
        new_size = size + size_delta if n == len(blocks) - 1 else size
        mutated.append((bytes(buf), max(0, new_size)))
    _run_bounded(bits, mutated)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(min_size=2, max_size=300), size=st.integers(1, 3000), bits=st.integers(10, 21))
def test_fast_decoder_agrees_with_reference(data: bytes, size: int, bits: int) -> None:
    """Same output or both reject, for arbitrary input (garbage exercises odd coder states)."""
    results = []
    for cls in (QuantumDecoder, RefDecoder):
        try:
            results.append(cls(bits).decompress(data, size))
        except CabDecompressError as exc:
            assert "internal fault" not in str(exc)
            results.append(None)
    assert results[0] == results[1]


_DIFF_SRC = _corpus(4)[:12000]
_DIFF_BLOCKS = encode_folder(_DIFF_SRC, 15, block=4000)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 7)), max_size=3),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_fast_decoder_agrees_with_reference_on_damaged_streams(
    flips: list[tuple[int, int]], cut: int | None
) -> None:
    """Bit flips deep inside a real-looking folder: same bytes out, or both reject at the same block."""
    blocks = [bytearray(d) for d, _ in _DIFF_BLOCKS]
    for at, bit in flips:
        blk = blocks[at % len(blocks)]
        blk[(at // len(blocks)) % len(blk)] ^= 1 << bit
    if cut is not None:
        blk = blocks[cut % len(blocks)]
        del blk[(cut // len(blocks)) % (len(blk) + 1) :]
    results = []
    for cls in (QuantumDecoder, RefDecoder):
        dec = cls(15)
        out: list[bytes | None] = []
        try:
            for blk, (_, size) in zip(blocks, _DIFF_BLOCKS, strict=True):
                out.append(dec.decompress(bytes(blk), size))
        except CabDecompressError as exc:
            assert "internal fault" not in str(exc)
            out.append(None)
        results.append(out)
    assert results[0] == results[1]
    if not flips and cut is None:
        assert b"".join(results[0]) == _DIFF_SRC  # type: ignore[arg-type]
