"""Test-only Quantum reference pieces: a literal model/decoder and a small Quantum encoder.

Written straight from the format description, one bit at a time and with cumulative-frequency
tables, so the optimised decoder in ``cabhunt.cab.quantum`` (frequency lists, batched
renormalisation) can be checked against an independent implementation. The encoder exists because
no open-source Quantum compressor is packaged: it produces larger and more varied streams than the
few real fixtures (literals in every group, all match kinds, extra bits, rescales, re-sorts).
"""

from __future__ import annotations

from cabhunt.cab.errors import CabDecompressError
from cabhunt.cab.quantum import (
    FRAME_SIZE,
    LENGTH_BASE,
    LENGTH_EXTRA,
    POSITION_BASE,
    POSITION_EXTRA,
    model_sizes,
)

_STARTS = (0, 64, 128, 192, 0, 0, 0, 0, 0)
SELECTOR, MATCH_POS, MATCH_LEN = 8, 6, 7


class RefModel:
    """A model as the description states it: entries (symbol, cumulative frequency) + a 0 sentinel."""

    def __init__(self, start: int, n: int) -> None:
        self.syms = [start + i for i in range(n)]
        self.cum = [n - i for i in range(n + 1)]  # cum[n] == 0
        self.time_to_reorder = 4

    def find(self, symf: int) -> int:
        """Index of the entry whose range [cum[i+1], cum[i]) holds ``symf``."""
        i = 1
        while i < len(self.syms) and self.cum[i] > symf:
            i += 1
        return i - 1

    def index_of(self, sym: int) -> int:
        return self.syms.index(sym)

    def update(self, i: int) -> None:
        for j in range(i + 1):
            self.cum[j] += 8
        if self.cum[0] > 3800:
            self._rescale()

    def _rescale(self) -> None:
        n = len(self.syms)
        self.time_to_reorder -= 1
        if self.time_to_reorder:
            for j in range(n - 1, -1, -1):
                self.cum[j] //= 2
                if self.cum[j] <= self.cum[j + 1]:
                    self.cum[j] = self.cum[j + 1] + 1
            return
        self.time_to_reorder = 50
        freq = [(self.cum[j] - self.cum[j + 1] + 1) // 2 for j in range(n)]
        for a in range(n - 1):
            for b in range(a + 1, n):
                if freq[a] < freq[b]:
                    freq[a], freq[b] = freq[b], freq[a]
                    self.syms[a], self.syms[b] = self.syms[b], self.syms[a]
        for j in range(n - 1, -1, -1):
            self.cum[j] = self.cum[j + 1] + freq[j]


def new_models(window_bits: int) -> list[RefModel]:
    return [RefModel(s, n) for s, n in zip(_STARTS, model_sizes(window_bits), strict=True)]


class _Bits:
    """MSB-first bit reader over a block plus the virtual trailer the decoder assumes."""

    def __init__(self, data: bytes) -> None:
        self.buf = data + b"\xff\x00\x00\x00\x00\x00" + b"\x00" * (len(data) & 1)
        self.pos = 0

    def bit(self) -> int:
        if self.pos >= len(self.buf) * 8:
            raise CabDecompressError("out of input")
        b = (self.buf[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return b

    def bits(self, n: int) -> int:
        v = 0
        for _ in range(n):
            v = (v << 1) | self.bit()
        return v


class RefDecoder:
    """Slow Quantum decoder, same interface and strictness as ``QuantumDecoder``."""

    def __init__(self, window_bits: int, level: int = 0) -> None:
        if not 10 <= window_bits <= 21:
            raise CabDecompressError("window")
        self.window = 1 << window_bits
        self.models = new_models(window_bits)
        self.out = bytearray()
        self.failed = False

    def decompress(self, data: bytes, out_len: int) -> bytes:
        if self.failed:
            raise CabDecompressError("failed before")
        if not 0 <= out_len <= FRAME_SIZE:
            self.failed = True
            raise CabDecompressError("size")
        try:
            return self._frame(data, out_len)
        except CabDecompressError:
            self.failed = True
            raise

    def _frame(self, data: bytes, out_len: int) -> bytes:
        if out_len == 0:
            return b""
        bits = _Bits(data)
        lo, hi, code = 0, 0xFFFF, bits.bits(16)
        m = self.models
        out = self.out
        start = len(out)

        def symbol(model: RefModel) -> int:
            nonlocal lo, hi, code
            rng = hi - lo + 1
            total = model.cum[0]
            symf = ((code - lo + 1) * total - 1) // rng
            i = model.find(symf)
            sym = model.syms[i]
            hi = lo + model.cum[i] * rng // total - 1
            lo = lo + model.cum[i + 1] * rng // total
            model.update(i)
            while True:
                if (lo & 0x8000) != (hi & 0x8000):
                    if lo & 0x4000 and not hi & 0x4000:
                        code ^= 0x4000
                        lo &= 0x3FFF
                        hi |= 0x4000
                    else:
                        break
                lo = (lo << 1) & 0xFFFF
                hi = ((hi << 1) | 1) & 0xFFFF
                code = ((code << 1) | bits.bit()) & 0xFFFF
            return sym

        self.bits = bits
        while len(out) - start < out_len:
            sel = symbol(m[SELECTOR])
            if sel < 4:
                out.append(symbol(m[sel]))
                continue
            if sel == 6:
                slot = symbol(m[MATCH_LEN])
                length = LENGTH_BASE[slot] + bits.bits(LENGTH_EXTRA[slot]) + 5
                slot = symbol(m[MATCH_POS])
            else:
                length = sel - 1
                slot = symbol(m[sel])
            offset = POSITION_BASE[slot] + bits.bits(POSITION_EXTRA[slot]) + 1
            if offset > len(out) or offset > self.window:
                raise CabDecompressError("match before start")
            if len(out) - start + length > FRAME_SIZE:
                raise CabDecompressError("frame overrun")
            for _ in range(length):
                out.append(out[-offset])
        del out[start + out_len :]
        return bytes(out[start:])


class QuantumEncoder:
    """Greedy LZ77 + the Quantum models and coder; one ``compress_block`` call per CFDATA block."""

    def __init__(self, window_bits: int, chain: int = 24) -> None:
        self.window_bits = window_bits
        self.window = 1 << window_bits
        self.models = new_models(window_bits)
        self.hist = bytearray()
        self.heads: dict[bytes, list[int]] = {}
        self.chain = chain
        sizes = model_sizes(window_bits)
        self.max_off = {
            n: POSITION_BASE[sizes[n] - 1] + (1 << POSITION_EXTRA[sizes[n] - 1]) for n in (4, 5, 6)
        }

    # -- LZ matching
    def _longest(self, pos: int, limit: int) -> tuple[int, int]:
        h = self.hist
        best_len, best_off = 0, 0
        for cand in reversed(self.heads.get(bytes(h[pos : pos + 3]), [])[-self.chain :]):
            off = pos - cand
            if off > self.window:
                break
            n = 0
            while n < limit and h[cand + n] == h[pos + n]:
                n += 1
            if n > best_len:
                best_len, best_off = n, off
        return best_len, best_off

    def _index(self, pos: int) -> None:
        key = bytes(self.hist[pos : pos + 3])
        if len(key) == 3:
            self.heads.setdefault(key, []).append(pos)

    def compress_block(self, chunk: bytes) -> bytes:
        assert chunk  # longer than a frame only to build overrun tests
        start = len(self.hist)
        self.hist += chunk
        end = len(self.hist)
        coder = _Coder()
        m = self.models
        pos = start
        while pos < end:
            length, off = self._longest(pos, min(259, end - pos)) if end - pos >= 3 else (0, 0)
            if length >= 5 and off <= self.max_off[6]:
                coder.encode(m[SELECTOR], 6)
                slot = _slot(length - 5, LENGTH_BASE)
                coder.encode(m[MATCH_LEN], slot)
                coder.raw(length - 5 - LENGTH_BASE[slot], LENGTH_EXTRA[slot])
                pslot = _slot(off - 1, POSITION_BASE)
                coder.encode(m[MATCH_POS], pslot)
                coder.raw(off - 1 - POSITION_BASE[pslot], POSITION_EXTRA[pslot])
            elif length >= 4 and off <= self.max_off[5]:
                length = 4
                self._fixed(coder, 5, off)
            elif length >= 3 and off <= self.max_off[4]:
                length = 3
                self._fixed(coder, 4, off)
            else:
                length = 1
                byte = self.hist[pos]
                coder.encode(m[SELECTOR], byte >> 6)
                coder.encode(m[byte >> 6], byte)
            for p in range(pos, pos + length):
                self._index(p)
            pos += length
        return coder.finish()

    def _fixed(self, coder: _Coder, sel: int, off: int) -> None:
        coder.encode(self.models[SELECTOR], sel)
        pslot = _slot(off - 1, POSITION_BASE)
        coder.encode(self.models[sel], pslot)
        coder.raw(off - 1 - POSITION_BASE[pslot], POSITION_EXTRA[pslot])


def _slot(value: int, bases: tuple[int, ...]) -> int:
    slot = 0
    while slot + 1 < len(bases) and bases[slot + 1] <= value:
        slot += 1
    return slot


class _Coder:
    """Bit-plus-follow arithmetic encoder; raw bits are placed where the decoder will read them."""

    def __init__(self) -> None:
        self.lo, self.hi = 0, 0xFFFF
        self.pending = 0
        self.code_bits: list[int] = []
        self.shifts = 0
        self.raws: list[tuple[int, int, int]] = []  # (code-bit index, value, width)

    def _emit(self, bit: int) -> None:
        self.code_bits.append(bit)
        self.code_bits.extend([bit ^ 1] * self.pending)
        self.pending = 0

    def encode(self, model: RefModel, sym: int) -> None:
        i = model.index_of(sym)
        rng = self.hi - self.lo + 1
        total = model.cum[0]
        self.hi = self.lo + model.cum[i] * rng // total - 1
        self.lo = self.lo + model.cum[i + 1] * rng // total
        model.update(i)
        while True:
            if (self.lo & 0x8000) == (self.hi & 0x8000):
                self._emit(self.hi >> 15)
            elif self.lo & 0x4000 and not self.hi & 0x4000:
                self.pending += 1
                self.lo &= 0x3FFF
                self.hi |= 0x4000
            else:
                break
            self.lo = (self.lo << 1) & 0xFFFF
            self.hi = ((self.hi << 1) | 1) & 0xFFFF
            self.shifts += 1

    def raw(self, value: int, width: int) -> None:
        if width:
            # The decoder holds 16 code bits ahead, so it reads these after code bit 16 + shifts.
            self.raws.append((16 + self.shifts, value, width))

    def finish(self) -> bytes:
        self.pending += 1
        self._emit(0 if self.lo < 0x4000 else 1)
        code = self.code_bits
        # The decoder reads 16 code bits ahead: the block must hold them (zero padding), so that
        # after the frame the reader is byte-aligned just before the trailer, as in real cabinets.
        code.extend([0] * (16 + self.shifts - len(code)))
        bits: list[int] = []
        ci = 0
        for at, value, width in self.raws:
            while ci < at:
                bits.append(code[ci] if ci < len(code) else 0)
                ci += 1
            bits.extend((value >> (width - 1 - b)) & 1 for b in range(width))
        bits.extend(code[ci:])
        bits.extend([0] * (-len(bits) % 8))
        return bytes(
            sum(bit << (7 - k) for k, bit in enumerate(bits[i : i + 8])) for i in range(0, len(bits), 8)
        )


def encode_folder(data: bytes, window_bits: int, block: int = FRAME_SIZE) -> list[tuple[bytes, int]]:
    """Compress ``data`` into (block bytes, cbUncomp) pairs, as a cabinet folder would hold them."""
    enc = QuantumEncoder(window_bits)
    return [
        (enc.compress_block(data[i : i + block]), len(data[i : i + block]))
        for i in range(0, len(data), block)
    ]


def build_cab(
    blocks: list[tuple[bytes, int]], window_bits: int, name: bytes = b"data.bin", level: int = 4
) -> bytes:
    """A one-folder, one-file cabinet around Quantum ``blocks`` (checksums 0 = not computed)."""
    import struct

    size = sum(u for _, u in blocks)
    cffile = struct.pack("<IIHHHH", size, 0, 0, 0x5A21, 0x6000, 0x20) + name + b"\0"
    data_off = 36 + 8 + len(cffile)
    cfdata = b"".join(struct.pack("<IHH", 0, len(b), u) + b for b, u in blocks)
    total = data_off + len(cfdata)
    type_compress = 2 | (level << 4) | (window_bits << 8)
    header = struct.pack("<4sIIIIIBBHHHHH", b"MSCF", 0, total, 0, 44, 0, 3, 1, 1, 1, 0, 0, 0)
    folder = struct.pack("<IHH", data_off, len(blocks), type_compress)
    return header + folder + cffile + cfdata
