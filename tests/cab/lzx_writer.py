"""Test-only LZX encoder and single-folder CAB writer.

Builds LZX streams the decoder has to read (verbatim, aligned-offset and uncompressed blocks,
blocks spanning frames, repeated offsets, pretree run codes, E8 preprocessing, any window size),
so round-trip and differential tests (``cabextract -t`` on the written cabinet) can cover paths
the third-party fixtures do not. Written from the format description; greedy and slow, not a
compressor anyone should use.
"""

from __future__ import annotations

import heapq
import struct
from collections.abc import Sequence
from dataclasses import dataclass

FRAME = 32768
SLOTS = {15: 30, 16: 32, 17: 34, 18: 36, 19: 38, 20: 42, 21: 50}
EXTRA = [0, 0, 0, 0] + [min((s - 2) // 2, 17) for s in range(4, 50)]
BASE = [0]
for _e in EXTRA[:-1]:
    BASE.append(BASE[-1] + (1 << _e))


class BitWriter:
    """MSB-first bits packed into 16-bit little-endian words, cut into frames."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nacc = 0
        self.frames: list[bytes] = []

    def write(self, value: int, n: int) -> None:
        assert 0 <= value < (1 << n) or n == 0
        self.acc = (self.acc << n) | value
        self.nacc += n
        while self.nacc >= 16:
            self.nacc -= 16
            self.out += ((self.acc >> self.nacc) & 0xFFFF).to_bytes(2, "little")
        self.acc &= (1 << self.nacc) - 1

    def align(self) -> None:
        if self.nacc:
            self.write(0, 16 - self.nacc)

    def cut(self) -> None:
        self.align()
        self.frames.append(bytes(self.out))
        self.out = bytearray()


def huffman_lengths(freqs: Sequence[int], limit: int) -> list[int]:
    """Code lengths (<= limit) for ``freqs``; at least two codes whenever any symbol is used."""
    freqs = list(freqs)
    used = [i for i, f in enumerate(freqs) if f]
    if not used:
        return [0] * len(freqs)
    if len(used) == 1:
        freqs[0 if used[0] else 1] = 1
    while True:
        heap = [(f, i, (i,)) for i, f in enumerate(freqs) if f]
        heapq.heapify(heap)
        depth = [0] * len(freqs)
        tie = len(freqs)
        while len(heap) > 1:
            f1, _, s1 = heapq.heappop(heap)
            f2, _, s2 = heapq.heappop(heap)
            for s in s1 + s2:
                depth[s] += 1
            heapq.heappush(heap, (f1 + f2, tie, s1 + s2))
            tie += 1
        if max(depth) <= limit:
            return depth
        freqs = [(f + 1) // 2 if f else 0 for f in freqs]


def canonical_codes(lengths: Sequence[int]) -> list[int]:
    codes = [0] * len(lengths)
    code = 0
    prev = 0
    for length, sym in sorted((n, s) for s, n in enumerate(lengths) if n):
        code <<= length - prev
        prev = length
        codes[sym] = code
        code += 1
    return codes


def write_pretree_coded(bw: BitWriter, prev: list[int], new: list[int]) -> None:
    """Delta-code ``new`` against ``prev`` with a pretree, using run codes 17, 18 and 19."""
    ops: list[tuple[int, int, int]] = []  # (pretree symbol, extra value, extra bits); 19 adds a second symbol
    i = 0
    n = len(new)
    while i < n:
        run = 1
        while i + run < n and new[i + run] == new[i]:
            run += 1
        if new[i] == 0 and run >= 20:
            take = min(run, 51)
            ops.append((18, take - 20, 5))
            i += take
        elif new[i] == 0 and run >= 4:
            take = min(run, 19)
            ops.append((17, take - 4, 4))
            i += take
        elif run >= 4:
            take = min(run, 5)
            ops.append((19, take - 4, 1))
            ops.append(((prev[i] - new[i] + 17) % 17, 0, 0))
            i += take
        else:
            ops.append(((prev[i] - new[i] + 17) % 17, 0, 0))
            i += 1
    freqs = [0] * 20
    for sym, _, _ in ops:
        freqs[sym] += 1
    lengths = huffman_lengths(freqs, 15)
    codes = canonical_codes(lengths)
    for length in lengths:
        bw.write(length, 4)
    for sym, val, nbits in ops:
        bw.write(codes[sym], lengths[sym])
        if nbits:
            bw.write(val, nbits)
    prev[:] = new


@dataclass
class Token:
    literal: int = -1
    length: int = 0
    slot: int = 0
    footer: int = 0  # formatted offset minus the slot's base


def e8_translate_frame(frame: bytearray, offset: int, e8_size: int) -> None:
    """Encoder-side E8 translation of one frame that starts ``offset`` bytes into the stream."""
    size = len(frame)
    if offset >= 0x40000000 or size <= 10:
        return
    i = 0
    while i < size - 10:
        if frame[i] == 0xE8:
            cur = offset + i
            disp = int.from_bytes(frame[i + 1 : i + 5], "little", signed=True)
            target = cur + disp
            if 0 <= target < e8_size + cur:
                if target >= e8_size:
                    target = disp - e8_size
                frame[i + 1 : i + 5] = (target & 0xFFFFFFFF).to_bytes(4, "little")
            i += 5
        else:
            i += 1


def e8_preprocess(data: bytes, e8_size: int) -> bytes:
    """The encoder-side E8 translation, chunk by chunk ([MS-PATCH] 2.2.2)."""
    out = bytearray()
    for off in range(0, len(data), FRAME):
        frame = bytearray(data[off : off + FRAME])
        e8_translate_frame(frame, off, e8_size)
        out += frame
    return bytes(out)


class Encoder:
    """Greedy LZX encoder producing one frame per 32768 output bytes."""

    def __init__(self, window_bits: int, e8_size: int | None = None) -> None:
        self.wbits = window_bits
        self.wsize = 1 << window_bits
        self.slots = SLOTS[window_bits]
        self.e8_size = e8_size
        self.r = [1, 1, 1]
        self.main_prev = [0] * (256 + 8 * self.slots)
        self.len_prev = [0] * 249
        self.chains: dict[bytes, list[int]] = {}

    def _slot_for(self, off: int) -> tuple[int, int]:
        r = self.r
        if off == r[0]:
            return 0, 0
        if off == r[1]:
            r[0], r[1] = r[1], r[0]
            return 1, 0
        if off == r[2]:
            r[0], r[2] = r[2], r[0]
            return 2, 0
        formatted = off + 2
        slot = max(s for s in range(self.slots) if BASE[s] <= formatted)
        r[2], r[1], r[0] = r[1], r[0], off
        return slot, formatted - BASE[slot]

    def tokenize(self, data: bytes, start: int, end: int, max_chain: int = 24) -> list[Token]:
        toks: list[Token] = []
        i = start
        chains = self.chains
        while i < end:
            limit = min(257, end - i, FRAME - (i % FRAME))
            best_len, best_off = 0, 0
            if limit >= 2:
                # repeated offset R0 first: it costs almost nothing
                off = self.r[0]
                if off <= i:
                    n = 0
                    while n < limit and data[i + n] == data[i + n - off]:
                        n += 1
                    if n >= 2:
                        best_len, best_off = n, off
                if limit >= 3:
                    for cand in reversed(chains.get(data[i : i + 3], [])[-max_chain:]):
                        off = i - cand
                        if off > self.wsize - 3:
                            break
                        n = 0
                        while n < limit and data[i + n] == data[cand + n]:
                            n += 1
                        if n > best_len + 1:
                            best_len, best_off = n, off
            step = best_len if best_len >= 2 else 1
            for j in range(i, i + step):
                if j + 3 <= len(data):
                    chains.setdefault(data[j : j + 3], []).append(j)
            if best_len >= 2:
                slot, footer = self._slot_for(best_off)
                toks.append(Token(length=best_len, slot=slot, footer=footer))
            else:
                toks.append(Token(literal=data[i]))
            i += step
        return toks

    def encode(self, raw: bytes, blocks: Sequence[tuple[int, int]]) -> list[tuple[bytes, int]]:
        """Encode ``raw`` as ``blocks`` of (type, size); returns CFDATA (data, cbUncomp) pairs."""
        data = e8_preprocess(raw, self.e8_size) if self.e8_size else raw
        assert sum(size for _, size in blocks) == len(data)
        bw = BitWriter()
        if self.e8_size is None:
            bw.write(0, 1)
        else:
            bw.write(1, 1)
            bw.write(self.e8_size >> 16, 16)
            bw.write(self.e8_size & 0xFFFF, 16)
        pos = 0
        for btype, size in blocks:
            bw.write(btype, 3)
            bw.write(size >> 8, 16)
            bw.write(size & 0xFF, 8)
            if btype == 3:
                pos = self._raw_block(bw, data, pos, size)
                continue
            toks = self.tokenize(data, pos, pos + size)
            pos = self._coded_block(bw, btype, toks, pos)
        if bw.out or bw.nacc or pos % FRAME:
            bw.cut()
        sizes = [min(FRAME, len(data) - i) for i in range(0, len(data), FRAME)]
        assert len(sizes) == len(bw.frames), (len(sizes), len(bw.frames))
        return list(zip(bw.frames, sizes, strict=True))

    def _raw_block(self, bw: BitWriter, data: bytes, pos: int, size: int) -> int:
        bw.write(0, 16 - bw.nacc if bw.nacc else 16)
        bw.out += struct.pack("<3I", *self.r)
        end = pos + size
        while pos < end:
            take = min(end - pos, FRAME - pos % FRAME)
            bw.out += data[pos : pos + take]
            for j in range(pos, pos + take):
                if j + 3 <= len(data):
                    self.chains.setdefault(data[j : j + 3], []).append(j)
            pos += take
            if pos % FRAME == 0:
                if pos == end and size & 1:
                    bw.out.append(0)
                bw.frames.append(bytes(bw.out))
                bw.out = bytearray()
        if pos % FRAME and size & 1:
            bw.out.append(0)
        return pos

    def _coded_block(self, bw: BitWriter, btype: int, toks: list[Token], pos: int) -> int:
        aligned = btype == 2
        mfreq = [0] * len(self.main_prev)
        lfreq = [0] * 249
        afreq = [0] * 8
        for t in toks:
            if t.literal >= 0:
                mfreq[t.literal] += 1
                continue
            hdr = min(t.length - 2, 7)
            mfreq[256 + t.slot * 8 + hdr] += 1
            if hdr == 7:
                lfreq[t.length - 9] += 1
            if aligned and t.slot >= 3 and EXTRA[t.slot] >= 3:
                afreq[t.footer & 7] += 1
        if aligned:
            alen = huffman_lengths(afreq, 7)
            if not any(alen):
                alen = [3] * 8
            acode = canonical_codes(alen)
            for n in alen:
                bw.write(n, 3)
        mlen = huffman_lengths(mfreq, 16)
        llen = huffman_lengths(lfreq, 16)
        write_pretree_coded(bw, self.main_prev[:256], mlen[:256])
        self.main_prev[:256] = mlen[:256]
        rest_prev = self.main_prev[256:]
        write_pretree_coded(bw, rest_prev, mlen[256:])
        self.main_prev[256:] = mlen[256:]
        write_pretree_coded(bw, self.len_prev, llen)
        mcode = canonical_codes(mlen)
        lcode = canonical_codes(llen)
        for t in toks:
            if t.literal >= 0:
                bw.write(mcode[t.literal], mlen[t.literal])
                pos += 1
            else:
                hdr = min(t.length - 2, 7)
                sym = 256 + t.slot * 8 + hdr
                bw.write(mcode[sym], mlen[sym])
                if hdr == 7:
                    bw.write(lcode[t.length - 9], llen[t.length - 9])
                if t.slot >= 3:
                    nb = EXTRA[t.slot]
                    if aligned and nb >= 3:
                        bw.write(t.footer >> 3, nb - 3)
                        bw.write(acode[t.footer & 7], alen[t.footer & 7])
                    elif nb:
                        bw.write(t.footer, nb)
                pos += t.length
            if pos % FRAME == 0:
                bw.cut()
        return pos


def encode(
    raw: bytes,
    window_bits: int = 16,
    *,
    block_type: int = 1,
    block_size: int = 0,
    e8_size: int | None = None,
    types: Sequence[int] = (),
) -> list[tuple[bytes, int]]:
    """LZX-encode ``raw``; blocks of ``block_size`` (default: one block), types cycling ``types``."""
    size = block_size or len(raw)
    cycle = list(types) or [block_type]
    blocks = []
    for k, off in enumerate(range(0, len(raw), size)):
        blocks.append((cycle[k % len(cycle)], min(size, len(raw) - off)))
    return Encoder(window_bits, e8_size).encode(raw, blocks)


def write_cab(name: str, raw_len: int, frames: Sequence[tuple[bytes, int]], window_bits: int) -> bytes:
    """One-folder, one-file LZX cabinet around encoded ``frames`` (checksums left 0)."""
    fname = name.encode() + b"\0"
    coff_files = 36 + 8
    coff_data = coff_files + 16 + len(fname)
    body = b"".join(struct.pack("<IHH", 0, len(d), n) + d for d, n in frames)
    total = coff_data + len(body)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, coff_files, 0, 3, 1, 1, 1, 0, 0, 0)
    folder = struct.pack("<IHH", coff_data, len(frames), 3 | (window_bits << 8))
    cffile = struct.pack("<IIHHHH", raw_len, 0, 0, 0x5B21, 0x6000, 0x20) + fname
    return header + folder + cffile + body
