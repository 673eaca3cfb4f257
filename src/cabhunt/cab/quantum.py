"""Pure-Python decoder for Quantum-compressed cabinet folders.

Quantum (David Stafford / Cinematronics, licensed by Microsoft) is an LZ77 coder whose tokens are
coded with a 16-bit integer arithmetic coder driven by nine adaptive frequency models. There is no
official specification; this follows the published reverse-engineered descriptions of the format.

Stream layout, as decoded here:

* A selector model (7 symbols) picks the next token: 0-3 = a literal from the literal model of
  that 64-byte group, 4 = a 3-byte match, 5 = a 4-byte match, 6 = a longer match.
* A 3-byte match reads a position slot from a model of ``min(2*window_bits, 24)`` slots, a 4-byte
  match from one of ``min(2*window_bits, 36)`` slots; a longer match first reads a length slot
  (27 symbols, lengths 5..259) and then a position slot (``2*window_bits`` symbols). Each slot is
  followed by raw extra bits, read from the same bit stream at the reader's current position
  (i.e. after the 16 bits held by the coder's code register).
* Every model starts in symbol order with frequency 1. A decoded symbol gains 8. When the total
  exceeds 3800 the model is rescaled: usually the cumulative frequencies are halved (kept strictly
  decreasing); every 50th time (the 4th time for a fresh model) frequencies are halved rounding up
  and the table is re-sorted by frequency with an exchange sort whose instability is part of the
  format.
* Models and history persist for the whole folder; the arithmetic coder restarts (L=0, H=0xFFFF,
  16 fresh code bits) at every frame of 32768 output bytes. Microsoft's compressor closes a frame
  at every CFDATA block (cbUncomp 32768) and pads it with null bytes so that the decoder's 16-bit
  look-ahead stays inside the block; so one block is one frame and every
  :meth:`QuantumDecoder.decompress` call restarts the coder. (libmspack instead reads the folder
  as one stream with a 0xFF byte appended to each block and resynchronises on it at frame ends;
  both agree on every cabinet whose non-final blocks are full, which is all the compressor
  writes. A crafted short non-final block is decoded here as a frame of its own.)
* A match may run past ``out_len`` of a short final block (the excess is dropped, as other
  decoders do) but never past the 32768-byte frame.

Hardening by construction: output per call is exactly ``out_len`` (≤ 32768) bytes and every token
emits at least one byte, so the loop is bounded; a match must lie inside the data produced so far
in this folder and inside the window, and must not cross the frame end (the frame-overrun behind
CVE-2014-9556); the history is a flat buffer indexed relative to its end, so there is no
circular-window wrap or flush arithmetic to get wrong (CVE-2010-2801); reading past the block's
bytes plus a small virtual trailer is an error, not an endless supply of zeros. After any error
the decoder refuses further blocks of the folder, whose state is no longer trustworthy.
"""

from __future__ import annotations

import sys
from array import array

from cabhunt.cab.errors import CabDecompressError

FRAME_SIZE = 32768
"""Output bytes per coder frame, and the largest cbUncomp a CFDATA block may declare."""

MIN_WINDOW_BITS = 10
MAX_WINDOW_BITS = 21

RESCALE_LIMIT = 3800
"""A model whose total frequency exceeds this is rescaled."""
RESCALE_STEP = 8
"""Frequency added to a symbol each time it is coded."""
REORDERS_FIRST = 4
"""Rescales before a fresh model's first re-sort."""
REORDERS_EVERY = 50
"""Rescales between later re-sorts."""

# Position slots: extra bits 0,0,0,0,1,1,2,2,...,19,19; offsets are base + extra + 1.
POSITION_EXTRA: tuple[int, ...] = tuple(max(0, slot // 2 - 1) for slot in range(42))
POSITION_BASE: tuple[int, ...] = tuple(sum(1 << POSITION_EXTRA[i] for i in range(slot)) for slot in range(42))
# Length slots of selector 6: lengths are base + extra + 5 (5..259).
LENGTH_EXTRA: tuple[int, ...] = (0,) * 6 + tuple(n for n in range(1, 6) for _ in range(4)) + (0,)
LENGTH_BASE: tuple[int, ...] = tuple(sum(1 << LENGTH_EXTRA[i] for i in range(slot)) for slot in range(27))

# Model indices in the decoder's tables.
LITERAL_MODELS = 4  # models 0..3: literals 0x00-0x3F, 0x40-0x7F, 0x80-0xBF, 0xC0-0xFF
MATCH3, MATCH4, MATCH_POS, MATCH_LEN, SELECTOR = 4, 5, 6, 7, 8

_MASK: tuple[int, ...] = tuple((1 << i) - 1 for i in range(64))
_POW2: tuple[int, ...] = tuple(1 << i for i in range(64))


def _renorm_tables() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Tables that give a whole renormalisation's shift count from L and the range R = H - L + 1.

    Ordinary and underflow (E3) shifts both double R and move L modulo 0x8000 the same way
    (L -> 2L mod 0x8000), and they stop once L < 0x8000 <= H and not (L >= 0x4000 and
    H < 0xC000). With b = bitlen(R - 1) the count is one of 15 - b and 16 - b, and working
    through the stop condition gives it in closed form:
    ``shifts = 16 - bitlen((L & mask(b - 1)) + R - 1)``; after them L is ``(L << shifts) & 0x7FFF``
    and R is ``R << shifts``. Index ``_RENORM_MASK`` by R, then ``_RENORM_SHIFTS`` by
    ``(L & mask) + R``. (The test suite checks this against the bit-at-a-time loop.)
    """
    low_mask = tuple(_MASK[max(0, (r - 1).bit_length() - 1)] for r in range(0x10001))
    shifts = (0, *(16 - (x - 1).bit_length() for x in range(1, 0x10001)))
    return low_mask, shifts


_RENORM_MASK, _RENORM_SHIFTS = _renorm_tables()
_ONE: tuple[bytes, ...] = tuple(bytes((i,)) for i in range(256))
"""One-byte strings, repeated to lay out a model's lookup table."""
_STEP_RUN: tuple[bytearray, ...] = tuple(bytearray((i,)) * RESCALE_STEP for i in range(256))
"""RESCALE_STEP copies of each symbol: what one update inserts into a lookup table. Bytearrays, not
bytes, because bytearray slice assignment first copies any other source into a temporary bytearray;
that copy cost more than the insertion itself. Never mutated."""
_PLUS_STEP: tuple[int, ...] = tuple(range(RESCALE_STEP, RESCALE_LIMIT + 2 * RESCALE_STEP))
"""``_PLUS_STEP[f] == f + RESCALE_STEP`` for every frequency a model can hold: the hot loop looks the
sum up instead of computing it, which saves allocating a new int object per update."""
_MINUS_ONE: tuple[int, ...] = (-1, *range(RESCALE_LIMIT + RESCALE_STEP))
"""``_MINUS_ONE[t] == t - 1``, looked up for the same reason."""
_TRAILER = b"\xff\x00\x00\x00\x00\x00"
"""Virtual bytes after a block: the 0xFF frame trailer other decoders append, then a few zeros
for the coder's 16-bit look-ahead. Needing more than this means the block is truncated."""


def model_sizes(window_bits: int) -> tuple[int, ...]:
    """Symbol counts of the nine models for a window size (why: slot counts depend on it)."""
    slots = 2 * window_bits
    return (64, 64, 64, 64, min(slots, 24), min(slots, 36), slots, 27, 7)


def rescale(freqs: list[int], syms: list[int], shifts_left: list[int], model: int) -> int:
    """Rescale one model in place and return its new total frequency.

    ``freqs``/``syms`` are the model's table in coding order; ``shifts_left[model]`` counts down
    to the next re-sort.
    """
    n = len(freqs)
    shifts_left[model] -= 1
    if shifts_left[model]:
        # Halve the cumulative frequencies from the last entry up; each must stay above the next.
        old_below = 0  # old cumulative frequency of the entries after j
        new_below = 0
        for j in range(n - 1, -1, -1):
            old_below += freqs[j]
            half = old_below >> 1
            if half <= new_below:
                half = new_below + 1
            freqs[j] = half - new_below
            new_below = half
        return new_below
    shifts_left[model] = REORDERS_EVERY
    for j in range(n):
        freqs[j] = (freqs[j] + 1) >> 1
    # Exchange sort, decreasing frequency: swap whenever a later entry is strictly larger.
    for a in range(n - 1):
        fa = freqs[a]
        for b in range(a + 1, n):
            fb = freqs[b]
            if fa < fb:
                freqs[a], freqs[b] = fb, fa
                syms[a], syms[b] = syms[b], syms[a]
                fa = fb
    return sum(freqs)


def lookup_table(freq_of: list[int], syms: list[int]) -> bytearray:
    """A model's decoding table: byte ``p`` is the symbol whose cumulative-frequency range holds ``p``.

    ``syms`` is the coding order and ``freq_of`` the frequency by symbol value. Entry ``j`` covers
    ``[cum[j+1], cum[j])`` where ``cum[j]`` sums the frequencies of entries ``j..``, so the last
    entry's run comes first; ``len(table)`` is the model's total frequency. Decoding a symbol is
    then one index, its range start one ``find`` and its update one insertion, all done in C.
    """
    one = _ONE
    return bytearray(b"".join([one[s] * freq_of[s] for s in reversed(syms)]))


def rescale_symbols(freq_of: list[int], syms: list[int], shifts_left: list[int], model: int) -> int:
    """:func:`rescale` for a model whose frequencies are kept by symbol value; returns the total."""
    freqs = [freq_of[s] for s in syms]
    total = rescale(freqs, syms, shifts_left, model)
    for s, f in zip(syms, freqs, strict=True):
        freq_of[s] = f
    return total


def rescale_cumulative(cum: list[int], syms: list[int], shifts_left: list[int], model: int) -> list[int]:
    """:func:`rescale` for a model kept as cumulative frequencies ``cum[j]`` (sum of entries j..)."""
    freqs = [a - b for a, b in zip(cum, [*cum[1:], 0], strict=True)]
    rescale(freqs, syms, shifts_left, model)
    below = 0
    for j in range(len(freqs) - 1, -1, -1):
        below += freqs[j]
        cum[j] = below
    return cum


def rescale_table(
    table: bytearray, freq_of: list[int], syms: list[int], shifts_left: list[int], model: int
) -> None:
    """Rescale a model kept as a lookup table plus frequencies by symbol value; rebuild the table.

    The common case (halving, no re-sort) is :func:`rescale`'s loop fused with the table layout,
    one pass instead of three: it runs every ~240 updates of every model.
    """
    if shifts_left[model] == 1:
        rescale_symbols(freq_of, syms, shifts_left, model)
        table[:] = lookup_table(freq_of, syms)
        return
    shifts_left[model] -= 1
    one = _ONE
    parts = []
    old_below = 0
    new_below = 0
    for s in reversed(syms):
        old_below += freq_of[s]
        half = old_below >> 1
        if half <= new_below:
            half = new_below + 1
        freq_of[s] = f = half - new_below
        parts.append(one[s] * f)
        new_below = half
    table[:] = b"".join(parts)


class QuantumDecoder:
    """Decode the CFDATA blocks of one Quantum folder, in order, keeping state between them."""

    def __init__(self, window_bits: int, level: int = 0) -> None:
        if not isinstance(window_bits, int) or not MIN_WINDOW_BITS <= window_bits <= MAX_WINDOW_BITS:
            raise CabDecompressError(f"Quantum window bits {window_bits!r} outside 10..21")
        self.window_bits = window_bits
        self.window_size = 1 << window_bits
        self.level = level  # compression effort only; decoding does not depend on it
        sizes = model_sizes(window_bits)
        starts = (0, 64, 128, 192, 0, 0, 0, 0, 0)
        self._syms: list[list[int]] = [list(range(s, s + n)) for s, n in zip(starts, sizes, strict=True)]
        # Frequencies by symbol value. The literal models cover disjoint byte ranges, so they
        # share one 256-entry list.
        literal_freqs = [1] * 256
        self._freqs: list[list[int]] = [literal_freqs] * LITERAL_MODELS + [
            [1] * n for n in sizes[LITERAL_MODELS:]
        ]
        self._tables: list[bytearray] = [
            lookup_table(f, s) for f, s in zip(self._freqs, self._syms, strict=True)
        ]
        self._selector_cum = [7, 6, 5, 4, 3, 2, 1]
        """Cumulative frequencies of the selector's entries 0..6 (its search is unrolled: no table)."""
        self._shifts: list[int] = [REORDERS_FIRST] * len(sizes)
        self._history = bytearray()
        self._failed = False
        self.total_out = 0
        self._read_bits = 0
        self.unread_tail = b""
        """Bytes at the end of the last block that decoding never read. Microsoft's compressor
        leaves at most a few null padding bytes there, so a longer or non-zero tail is data
        appended to a CFDATA block: worth reporting as an anomaly."""

    def decompress(self, data: bytes, out_len: int) -> bytes:
        """Decode one CFDATA block (one coder frame) to exactly ``out_len`` bytes."""
        if self._failed:
            raise CabDecompressError("Quantum folder already failed; later blocks cannot be decoded")
        if not 0 <= out_len <= FRAME_SIZE:
            self._failed = True
            raise CabDecompressError(f"Quantum block declares {out_len} output bytes (max {FRAME_SIZE})")
        if out_len == 0:
            return b""
        hist = self._history
        keep = self.window_size
        if len(hist) > 2 * keep + 2 * FRAME_SIZE:
            del hist[: len(hist) - keep]
        start = len(hist)
        data = bytes(data)
        try:
            self._run(data, out_len)
        except CabDecompressError:
            self._failed = True
            raise
        except StopIteration:
            self._failed = True
            raise CabDecompressError("Quantum block ends before its data") from None
        except (IndexError, ValueError, OverflowError, MemoryError) as exc:
            # Safety net only: the coder invariants keep every index in range. Tests assert this
            # message never appears, so a slip shows up there instead of being hidden.
            self._failed = True
            raise CabDecompressError(f"Quantum decoder internal fault ({type(exc).__name__})") from exc
        self.total_out += out_len
        used = min(len(data), (self._read_bits + 7) >> 3)
        self.unread_tail = data[used:]
        return bytes(hist[start:])

    # The hot loop keeps every piece of state in locals and inlines symbol decoding and
    # renormalisation (four copies: selector, literal, length, position): a call or an attribute
    # lookup per symbol would dominate the run time in CPython. What is left is mostly the cost
    # of int operations, each of which allocates its result, so the loop also avoids them where a
    # lookup does: f + RESCALE_STEP and 2**s come from tuples (_PLUS_STEP, _POW2), and output is
    # counted down in chunks of at most 256 so the counter stays within the cached small ints.
    #
    # Coder state: L, the range R = H - L + 1 (symbol decoding needs only R and the code value
    # relative to L), and one integer V holding that relative code value D in its high bits and
    # the next bc unread input bits below it (V = D << bc | buffered bits). A renormalising shift
    # doubles D and appends one input bit whether it is an ordinary or an underflow shift, so
    # shifting D by s is just bc -= s; the shift count comes from two table lookups (see
    # _renorm_tables). 0 <= D < R holds throughout, so every table index below is in range.
    # After a renormalisation bc < 16 and D < 2**16, so V is a one-digit CPython int (< 2**30)
    # when a symbol is decoded, except when D << bc happens to reach 2**30 (under 1% of symbols
    # on random input, a few % of refills); keeping D and the bit buffer apart or refilling a
    # byte at a time would cost more operations per symbol than those rare two-digit ones.
    #
    # Literal, length and position models are lookup tables (see lookup_table): the symbol is one
    # index, its range start one find(), its update one 8-byte insertion from a bytearray (see
    # _STEP_RUN). On incompressible input, where nearly every token is a literal, find() is the
    # largest single cost (CPython parses its arguments generically); the selector stays an
    # if-chain because a table would add a second find() and insertion per token.
    def _run(self, data: bytes, out_len: int) -> None:
        buf = data + _TRAILER + (b"\x00" if (len(data) + len(_TRAILER)) & 1 else b"")
        # The block as big-endian 16-bit words, read through an iterator: a refill is one next()
        # with no position counter to bounds-check or allocate. Running out of words raises
        # StopIteration, which decompress reports as a truncated block.
        words = array("H", buf)
        if sys.byteorder == "little":
            words.byteswap()
        lim = len(words)
        freqs = self._freqs
        syms = self._syms
        tables = self._tables
        shifts = self._shifts
        mask = _MASK
        pw = _POW2
        rmask = _RENORM_MASK
        rshift = _RENORM_SHIFTS
        pos_extra = POSITION_EXTRA
        pos_base = POSITION_BASE
        len_extra = LENGTH_EXTRA
        len_base = LENGTH_BASE
        runs = _STEP_RUN
        plus = _PLUS_STEP
        minus1 = _MINUS_ONE
        limit = RESCALE_LIMIT
        full = RESCALE_LIMIT - RESCALE_STEP  # a model bigger than this rescales after its update
        wsize = self.window_size
        ss = syms[SELECTOR]
        o0, o1, o2, o3, o4, o5, o6 = ss
        # m0..m6: the literal table of each selector entry in coding order, None for the matches,
        # so the chain hands the literal branch its table without a second index.
        lit = [*tables[:LITERAL_MODELS], None, None, None]
        m0, m1, m2, m3, m4, m5, m6 = [lit[o] for o in ss]
        st, c1, c2, c3, c4, c5, c6 = self._selector_cum
        lb = tables[MATCH_LEN]
        lfr = freqs[MATCH_LEN]
        cf = freqs[0]  # shared by the literal models
        lit_totals = [len(t) for t in tables[:LITERAL_MODELS]]  # (no closure over tables: a cell is slower)
        hist = self._history
        wp = len(hist)
        end = wp + out_len
        frame_end = wp + FRAME_SIZE  # a match may overshoot a short final block, never the frame
        emit = hist.append

        # Coder restart: the frame's first 16 bits fill the code register.
        it = iter(words)
        nx = next
        bc = 0
        L = 0
        R = 0x10000
        V = nx(it)

        left = out_len
        while left > 0:
            k = left if left < 256 else 256  # counted down in cached small ints: no allocation per byte
            left -= k
            while k > 0:
                # ---- selector: 7 symbols, the cumulative frequencies in locals c1..c6 (st = total,
                # 0 below c6) and the coding order in o0..o6, searched and updated by an unrolled
                # if-chain (measured faster than a loop or a table). symf >= c exactly when
                # D >= c * R // st, so the chain compares D with those scaled bounds, each computed
                # only when reached, and the bounds found are the new range's ends.
                D = V >> bc
                if (t1 := c1 * R // st) <= D:
                    sel = o0
                    mb = m0
                    R -= t1
                    lo = t1
                elif (t2 := c2 * R // st) <= D:
                    sel = o1
                    mb = m1
                    R = t1 - t2
                    lo = t2
                    c1 = plus[c1]
                elif (t3 := c3 * R // st) <= D:
                    sel = o2
                    mb = m2
                    R = t2 - t3
                    lo = t3
                    c1 = plus[c1]
                    c2 = plus[c2]
                elif (t4 := c4 * R // st) <= D:
                    sel = o3
                    mb = m3
                    R = t3 - t4
                    lo = t4
                    c1 = plus[c1]
                    c2 = plus[c2]
                    c3 = plus[c3]
                elif (t5 := c5 * R // st) <= D:
                    sel = o4
                    mb = m4
                    R = t4 - t5
                    lo = t5
                    c1 = plus[c1]
                    c2 = plus[c2]
                    c3 = plus[c3]
                    c4 = plus[c4]
                elif (t6 := c6 * R // st) <= D:
                    sel = o5
                    mb = m5
                    R = t5 - t6
                    lo = t6
                    c1 = plus[c1]
                    c2 = plus[c2]
                    c3 = plus[c3]
                    c4 = plus[c4]
                    c5 = plus[c5]
                else:
                    sel = o6
                    mb = m6
                    R = t6
                    lo = 0
                    c1 = plus[c1]
                    c2 = plus[c2]
                    c3 = plus[c3]
                    c4 = plus[c4]
                    c5 = plus[c5]
                    c6 = plus[c6]
                st = plus[st]
                L += lo
                V -= lo * pw[bc]
                if st > limit:
                    st, c1, c2, c3, c4, c5, c6 = rescale_cumulative(
                        [st, c1, c2, c3, c4, c5, c6], ss, shifts, SELECTOR
                    )
                    o0, o1, o2, o3, o4, o5, o6 = ss
                    m0, m1, m2, m3, m4, m5, m6 = [lit[o] for o in ss]
                s = rshift[(L & rmask[R]) + R]
                p = pw[s]
                L *= p  # not masked: the next symbol's renormalisation only uses its low 15 bits
                R *= p
                if bc < s:
                    V = V * 65536 + nx(it)  # = V << 16 | word; multiply and add are the faster ops
                    bc += 16
                bc -= s

                if mb is not None:  # a literal
                    # ---- literal
                    mt = lit_totals[sel]
                    sym = mb[((V >> bc) * mt + minus1[mt]) // R]  # symf = ((D + 1) * mt - 1) // R
                    c = mb.find(sym)
                    f = cf[sym]
                    lo = c * R // mt
                    R = (c + f) * R // mt - lo
                    L += lo
                    V -= lo * pw[bc]
                    emit(sym)
                    k -= 1
                    cf[sym] = plus[f]
                    if mt <= full:
                        mb[c:c] = runs[sym]
                        lit_totals[sel] = plus[mt]
                    else:
                        rescale_table(mb, cf, syms[sel], shifts, sel)
                        lit_totals[sel] = len(mb)
                    s = rshift[(L & rmask[R]) + R]
                    p = pw[s]
                    L = (L * p) & 0x7FFF
                    R *= p
                    if bc < s:
                        V = V * 65536 + nx(it)
                        bc += 16
                    bc -= s
                    continue

                if sel == 6:
                    # ---- length slot of a long match, then its extra bits
                    mt = len(lb)
                    slot = lb[((V >> bc) * mt + minus1[mt]) // R]
                    c = lb.find(slot)
                    f = lfr[slot]
                    lo = c * R // mt
                    R = (c + f) * R // mt - lo
                    L += lo
                    V -= lo * pw[bc]
                    lfr[slot] = plus[f]
                    if mt <= full:
                        lb[c:c] = runs[slot]
                    else:
                        rescale_table(lb, lfr, syms[MATCH_LEN], shifts, MATCH_LEN)
                    s = rshift[(L & rmask[R]) + R]
                    p = pw[s]
                    L = (L * p) & 0x7FFF
                    R *= p
                    if bc < s:
                        V = V * 65536 + nx(it)
                        bc += 16
                    bc -= s
                    e = len_extra[slot]
                    if e:
                        if bc < e:
                            V = V * 65536 + nx(it)
                            bc += 16
                        bc -= e
                        length = len_base[slot] + ((V >> bc) & mask[e]) + 5
                        V = ((V >> (bc + e)) << bc) | (V & mask[bc])  # drop the e raw bits
                    else:
                        length = len_base[slot] + 5
                    m = MATCH_POS
                else:
                    length = sel - 1  # selector 4 -> 3 bytes, 5 -> 4 bytes
                    m = sel

                # ---- position slot, then its extra bits
                mb = tables[m]
                mfr = freqs[m]
                mt = len(mb)
                slot = mb[((V >> bc) * mt + minus1[mt]) // R]
                c = mb.find(slot)
                f = mfr[slot]
                lo = c * R // mt
                R = (c + f) * R // mt - lo
                L += lo
                V -= lo * pw[bc]
                mfr[slot] = plus[f]
                if mt <= full:
                    mb[c:c] = runs[slot]
                else:
                    rescale_table(mb, mfr, syms[m], shifts, m)
                s = rshift[(L & rmask[R]) + R]
                L = (L * pw[s]) & 0x7FFF
                R *= pw[s]
                if bc < s:
                    V = V * 65536 + nx(it)
                    bc += 16
                bc -= s
                e = pos_extra[slot]
                if e:
                    while bc < e:
                        V = V * 65536 + nx(it)
                        bc += 16
                    bc -= e
                    offset = pos_base[slot] + ((V >> bc) & mask[e]) + 1
                    V = ((V >> (bc + e)) << bc) | (V & mask[bc])  # drop the e raw bits
                else:
                    offset = pos_base[slot] + 1

                # ---- copy the match
                wp = len(hist)
                src = wp - offset
                if src < 0 or offset > wsize:
                    raise CabDecompressError(
                        f"Quantum match {offset} bytes back, before the start of the folder data or the window"
                    )
                if wp + length > frame_end:
                    raise CabDecompressError("Quantum match runs past the end of the frame (frame overrun)")
                if offset >= length:
                    hist += hist[src : src + length]
                else:
                    hist += (hist[src:wp] * (length // offset + 1))[:length]
                k -= length
            left += k  # a final match may overshoot: k < 0

        del hist[end:]  # bytes a final match produced beyond the block
        self._selector_cum = [st, c1, c2, c3, c4, c5, c6]
        self._read_bits = (lim - sum(1 for _ in it)) * 16 - bc  # counts the unread words (usually a few)
