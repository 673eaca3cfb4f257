"""Pure-Python LZX decoder for MS-CAB folders (Cabinet SDK LZXFMT; [MS-PATCH] LZX DELTA subset).

One ``LzxDecoder`` decodes one folder; ``decompress`` takes the CFDATA blocks in order, each one
LZX frame (32768 output bytes except the last). Window, repeated offsets, tree lengths (delta
coded) and the current block carry over between frames; the bitstream restarts on a 16-bit
boundary at every frame, which here means at byte 0 of each CFDATA block.

Speed comes from a stateless bit reader: each frame's bytes become a list of overlapping 32-bit
windows (``w[i] = word[i] << 16 | word[i+1]``), so any read of up to 17 bits at bit position ``p``
is ``(w[p >> 4] >> (32 - n - (p & 15))) & mask`` with only ``p`` as state. Huffman symbols are
decoded with one flat table per tree (see ``huffman.build_table``). The history is a bytearray
that grows by the decoded bytes and is trimmed to the window size between frames, so a match is
one slice copy (a repeated pattern when it overlaps its own output).

Hostile input: every loop is bounded by the frame's output length, match distances are checked
against the bytes actually produced, matches may not run past the block or frame end, and reads
past the block's data raise. Only ``CabDecompressError`` (and ``CabLimitError`` for an oversized
input block) escapes.
"""

from __future__ import annotations

import struct

from cabhunt.cab.errors import CabDecompressError, CabLimitError
from cabhunt.cab.huffman import build_table

FRAME_SIZE = 32768
# A CFDATA block holds at most 65535 bytes; a block split across cabinets is two joined. Anything
# far larger is not a frame and would only cost memory.
MAX_INPUT = 4 * 65536
_MIN_WINDOW_BITS = 15
_MAX_WINDOW_BITS = 21
# Position slots per window size (LZXFMT; window 21 has 50 slots, not the 2*bits pattern).
_POSITION_SLOTS = {15: 30, 16: 32, 17: 34, 18: 36, 19: 38, 20: 42, 21: 50}
_NUM_CHARS = 256
_PRETREE_SIZE = 20
_LENGTH_TREE_SIZE = 249
_ALIGNED_TREE_SIZE = 8
_VERBATIM, _ALIGNED, _UNCOMPRESSED = 1, 2, 3
_E8_LIMIT = 0x40000000  # E8 translation only within the first 1 GiB of output ([MS-PATCH] 2.2.2)

_EXTRA_BITS: list[int] = [0, 0, 0, 0] + [min((slot - 2) // 2, 17) for slot in range(4, 50)]
_POSITION_BASE: list[int] = [0]
for _bits in _EXTRA_BITS[:-1]:
    _POSITION_BASE.append(_POSITION_BASE[-1] + (1 << _bits))
# Formatted offset minus 2 is the match distance; pre-subtract it once.
_OFFSET_BASE: list[int] = [b - 2 for b in _POSITION_BASE]


def _windows(data: bytes) -> list[int]:
    """Overlapping 32-bit big-endian views of the 16-bit little-endian word stream."""
    buf = bytearray(data)
    if len(buf) & 1:
        buf.append(0)
    buf += b"\0\0\0\0"
    swapped = bytearray(len(buf))
    swapped[0::2] = buf[1::2]
    swapped[1::2] = buf[0::2]
    n_even = len(swapped) // 4
    n_odd = (len(swapped) - 2) // 4
    out = [0] * (n_even + n_odd)
    out[0::2] = struct.unpack(f">{n_even}I", swapped[: 4 * n_even])
    out[1::2] = struct.unpack(f">{n_odd}I", swapped[2 : 2 + 4 * n_odd])
    return out


class _Bits:
    """Bit position over one frame's data, MSB-first within 16-bit little-endian words."""

    __slots__ = ("base", "data", "limit", "p", "w")

    def __init__(self, data: bytes, base: int = 0) -> None:
        self.data = data
        self.rebase(base)

    def rebase(self, base: int) -> None:
        """Restart the word stream at byte ``base`` (after an odd-length uncompressed run)."""
        self.base = base
        self.w = _windows(self.data[base:])
        self.p = 0
        self.limit = 8 * (len(self.data) - base)

    def read(self, n: int) -> int:
        """Next ``n`` (<= 17) bits as an unsigned integer."""
        p = self.p
        if p + n > self.limit:
            raise CabDecompressError("LZX: compressed data ran out")
        self.p = p + n
        return (self.w[p >> 4] >> (32 - n - (p & 15))) & ((1 << n) - 1)

    def decode(self, table: list[int], bits: int) -> int:
        """One Huffman symbol from ``table``."""
        p = self.p
        entry = table[(self.w[p >> 4] >> (32 - bits - (p & 15))) & ((1 << bits) - 1)]
        self.p = p + (entry & 31)
        if self.p > self.limit:
            raise CabDecompressError("LZX: compressed data ran out")
        return entry >> 5

    def byte_pos(self) -> int:
        return self.base + (self.p >> 3)


class LzxDecoder:
    """Decoder state for one LZX-compressed CAB folder."""

    def __init__(self, window_bits: int) -> None:
        if not isinstance(window_bits, int) or not _MIN_WINDOW_BITS <= window_bits <= _MAX_WINDOW_BITS:
            raise CabDecompressError(f"LZX: window size 2^{window_bits} not in 2^15..2^21")
        self._window_size = 1 << window_bits
        self._num_slots = _POSITION_SLOTS[window_bits]
        self._main_size = _NUM_CHARS + 8 * self._num_slots
        self._history = bytearray()
        self._total = 0  # bytes output so far in this folder
        self._started = False
        self._e8_size = 0
        self._r = [1, 1, 1]
        self._main_lengths = [0] * self._main_size
        self._length_lengths = [0] * _LENGTH_TREE_SIZE
        self._block_type = 0
        self._block_size = 0
        self._block_remaining = 0
        self._main: tuple[list[int], int] = ([], 1)
        self._length: tuple[list[int], int] = ([], 1)
        self._aligned: tuple[list[int], int] = ([], 1)
        self._cache: dict[str, tuple[bytes, tuple[list[int], int]]] = {}
        self._failed: str | None = None

    # -- public -------------------------------------------------------------------------------
    def decompress(self, data: bytes, out_len: int) -> bytes:
        """Decode one CFDATA block (one LZX frame) into exactly ``out_len`` bytes."""
        if self._failed is not None:
            raise CabDecompressError(f"LZX: folder already failed ({self._failed})")
        if not 0 <= out_len <= FRAME_SIZE:
            raise CabDecompressError(f"LZX: frame size {out_len} not in 0..{FRAME_SIZE}")
        if len(data) > MAX_INPUT:
            raise CabLimitError(f"LZX: compressed block of {len(data)} bytes exceeds {MAX_INPUT}")
        if out_len == 0:
            return b""
        try:
            return self._frame(bytes(data), out_len)
        except CabDecompressError as exc:
            self._failed = str(exc)
            raise
        except (IndexError, ValueError, OverflowError, ZeroDivisionError, struct.error) as exc:
            # The hot loop relies on list bounds for codes an incomplete tree leaves unassigned.
            self._failed = f"corrupt stream ({type(exc).__name__})"
            raise CabDecompressError(f"LZX: {self._failed}") from exc

    # -- frame --------------------------------------------------------------------------------
    def _frame(self, data: bytes, out_len: int) -> bytes:
        bits = _Bits(data)
        if not self._started:
            self._started = True
            if bits.read(1):
                self._e8_size = (bits.read(16) << 16) | bits.read(16)
        hist = self._history
        start = len(hist)
        todo = out_len
        while todo > 0:
            if self._block_remaining == 0:
                self._block_header(bits)
            run = min(self._block_remaining, todo)
            if self._block_type == _UNCOMPRESSED:
                self._copy_raw(bits, run)
            else:
                self._decode_run(bits, run)
            self._block_remaining -= run
            todo -= run
        if bits.p > bits.limit:
            raise CabDecompressError("LZX: compressed data ran out")
        frame = hist[start:]
        if self._e8_size and self._total < _E8_LIMIT and out_len > 10:
            _undo_e8(frame, self._total, self._e8_size)
        self._total += out_len
        if len(hist) > 2 * self._window_size:
            del hist[: len(hist) - self._window_size]
        return bytes(frame)

    def _block_header(self, bits: _Bits) -> None:
        btype = bits.read(3)
        size = (bits.read(16) << 8) | bits.read(8)
        if btype not in (_VERBATIM, _ALIGNED, _UNCOMPRESSED):
            raise CabDecompressError(f"LZX: invalid block type {btype}")
        if size == 0:
            raise CabDecompressError("LZX: block of size 0")
        self._block_type = btype
        self._block_size = self._block_remaining = size
        if btype == _UNCOMPRESSED:
            # 1..16 zero bits to the next 16-bit boundary, then R0..R2 in the byte stream.
            bits.p = (bits.p + 16) & ~15
            pos = bits.byte_pos()
            if pos + 12 > len(bits.data) or bits.p > bits.limit:
                raise CabDecompressError("LZX: uncompressed block header truncated")
            self._r = list(struct.unpack_from("<3I", bits.data, pos))
            bits.p += 96
            return
        if btype == _ALIGNED:
            lengths = [bits.read(3) for _ in range(_ALIGNED_TREE_SIZE)]
            self._aligned = self._table("aligned", lengths, allow_empty=True)
        main = self._main_lengths
        self._read_lengths(bits, main, 0, _NUM_CHARS)
        self._read_lengths(bits, main, _NUM_CHARS, self._main_size)
        self._main = self._table("main", main, allow_empty=False)
        self._read_lengths(bits, self._length_lengths, 0, _LENGTH_TREE_SIZE)
        self._length = self._table("length", self._length_lengths, allow_empty=True)

    def _table(self, name: str, lengths: list[int], *, allow_empty: bool) -> tuple[list[int], int]:
        """Build a tree's lookup table, reusing the previous one when the lengths did not change."""
        key = bytes(lengths)
        cached = self._cache.get(name)
        if cached is not None and cached[0] == key:
            return cached[1]
        table = build_table(lengths, allow_empty=allow_empty, name=f"LZX {name} tree")
        self._cache[name] = (key, table)
        return table

    @staticmethod
    def _read_lengths(bits: _Bits, lengths: list[int], first: int, end: int) -> None:
        """Update ``lengths[first:end]`` from a pretree-coded delta against their old values."""
        pre = [bits.read(4) for _ in range(_PRETREE_SIZE)]
        table, tbits = build_table(pre, allow_empty=False, name="LZX pretree")
        i = first
        while i < end:
            code = bits.decode(table, tbits)
            if code <= 16:
                lengths[i] = (lengths[i] - code + 17) % 17
                i += 1
            elif code == 17:
                run = min(4 + bits.read(4), end - i)
                lengths[i : i + run] = [0] * run
                i += run
            elif code == 18:
                run = min(20 + bits.read(5), end - i)
                lengths[i : i + run] = [0] * run
                i += run
            elif code == 19:
                run = min(4 + bits.read(1), end - i)
                code = bits.decode(table, tbits)
                if code > 16:
                    raise CabDecompressError("LZX: bad pretree code after a same-length run")
                value = (lengths[i] - code + 17) % 17
                lengths[i : i + run] = [value] * run
                i += run
            else:
                raise CabDecompressError("LZX: invalid pretree code")

    def _copy_raw(self, bits: _Bits, run: int) -> None:
        """Copy ``run`` bytes of an uncompressed block; realign the bitstream at its end."""
        pos = bits.byte_pos()
        chunk = bits.data[pos : pos + run]
        if len(chunk) < run:
            raise CabDecompressError("LZX: uncompressed block data truncated")
        self._history += chunk
        pos += run
        if self._block_remaining == run and self._block_size & 1:
            pos += 1  # pad byte after an odd-length uncompressed block
        if (pos - bits.base) & 1:
            bits.rebase(pos)
        else:
            bits.p = 8 * (pos - bits.base)

    # -- the hot loop -------------------------------------------------------------------------
    def _decode_run(self, bits: _Bits, run: int) -> None:
        """Decode exactly ``run`` output bytes of a verbatim or aligned-offset block."""
        w = bits.w
        p = bits.p
        hist = self._history
        append = hist.append
        extend = hist.extend
        mtab, mbits = self._main
        msh = 32 - mbits
        mmask = (1 << mbits) - 1
        ltab, lbits = self._length
        lsh = 32 - lbits
        lmask = (1 << lbits) - 1
        aligned = self._block_type == _ALIGNED
        atab, abits = self._aligned
        ash = 32 - abits
        amask = (1 << abits) - 1
        extra_bits = _EXTRA_BITS
        offset_base = _OFFSET_BASE
        wsize = self._window_size
        r0, r1, r2 = self._r
        n = len(hist)
        end = n + run
        while n < end:
            e = mtab[(w[p >> 4] >> (msh - (p & 15))) & mmask]
            p += e & 31
            sym = e >> 5
            if sym < 256:
                append(sym)
                n += 1
                continue
            sym -= 256
            mlen = sym & 7
            if mlen == 7:
                e = ltab[(w[p >> 4] >> (lsh - (p & 15))) & lmask]
                p += e & 31
                mlen = (e >> 5) + 9
            else:
                mlen += 2
            slot = sym >> 3
            if slot < 3:
                if slot == 0:
                    off = r0
                elif slot == 1:
                    off = r1
                    r1 = r0
                    r0 = off
                else:
                    off = r2
                    r2 = r0
                    r0 = off
                if off <= 0 or off > wsize:
                    raise CabDecompressError(f"LZX: repeated offset {off} out of range")
            else:
                nb = extra_bits[slot]
                off = offset_base[slot]
                if aligned and nb >= 3:
                    if nb > 3:
                        nb -= 3
                        off += ((w[p >> 4] >> (32 - nb - (p & 15))) & ((1 << nb) - 1)) << 3
                        p += nb
                    e = atab[(w[p >> 4] >> (ash - (p & 15))) & amask]
                    p += e & 31
                    off += e >> 5
                elif nb:
                    off += (w[p >> 4] >> (32 - nb - (p & 15))) & ((1 << nb) - 1)
                    p += nb
                r2 = r1
                r1 = r0
                r0 = off
            if n + mlen > end:
                raise CabDecompressError("LZX: match runs past the end of its block or frame")
            src = n - off
            if src < 0:
                raise CabDecompressError(f"LZX: match distance {off} reaches before the data")
            if off >= mlen:
                extend(hist[src : src + mlen])
            else:
                pattern = hist[src:n]
                extend((pattern * (mlen // off + 1))[:mlen])
            n += mlen
        bits.p = p
        self._r = [r0, r1, r2]
        if p > bits.limit:
            raise CabDecompressError("LZX: compressed data ran out")


def _undo_e8(frame: bytearray, offset: int, e8_size: int) -> None:
    """Reverse E8 call translation in place for one frame starting at folder ``offset``."""
    limit = len(frame) - 10
    i = frame.find(0xE8, 0, limit)
    while i >= 0:
        cur = offset + i
        value = int.from_bytes(frame[i + 1 : i + 5], "little", signed=True)
        if -cur <= value < e8_size:
            value = value - cur if value >= 0 else value + e8_size
            frame[i + 1 : i + 5] = (value & 0xFFFFFFFF).to_bytes(4, "little")
        i = frame.find(0xE8, i + 5, limit)
