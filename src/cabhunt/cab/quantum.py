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

GROUP = 8
"""Entries per group in the two-level symbol search (a flat model would otherwise walk ~n/2)."""

_MASK: tuple[int, ...] = tuple((1 << i) - 1 for i in range(64))
_SAME_LEADING: tuple[int, ...] = tuple(16 - x.bit_length() for x in range(0x10000))
"""For L ^ H: how many leading bits L and H share (16 for L == H)."""
_UNDERFLOW_RUN: tuple[int, ...] = tuple(15 - (t ^ 0x7FFF).bit_length() for t in range(0x8000))
"""For L & ~H & 0x7FFF (top bits already differing): underflow shifts, i.e. leading 1 bits from bit 14."""
_TRAILER = b"\xff\x00\x00\x00\x00\x00"
"""Virtual bytes after a block: the 0xFF frame trailer other decoders append, then a few zeros
for the coder's 16-bit look-ahead. Needing more than this means the block is truncated."""


def model_sizes(window_bits: int) -> tuple[int, ...]:
    """Symbol counts of the nine models for a window size (why: slot counts depend on it)."""
    slots = 2 * window_bits
    return (64, 64, 64, 64, min(slots, 24), min(slots, 36), slots, 27, 7)


def group_sums(freqs: list[int]) -> list[int]:
    """Sums of consecutive runs of GROUP entries: symbol search skips whole runs with them."""
    return [sum(freqs[i : i + GROUP]) for i in range(0, len(freqs), GROUP)]


def rescale(freqs: list[int], syms: list[int], groups: list[int], shifts_left: list[int], model: int) -> int:
    """Rescale one model in place (with its group sums) and return its new total frequency.

    ``freqs``/``syms`` are the model's table in coding order; ``shifts_left[model]`` counts down
    to the next re-sort.
    """
    total = _rescale(freqs, syms, shifts_left, model)
    groups[:] = group_sums(freqs)
    return total


def _rescale(freqs: list[int], syms: list[int], shifts_left: list[int], model: int) -> int:
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
        self._freqs: list[list[int]] = [[1] * n for n in sizes]
        self._syms: list[list[int]] = [list(range(s, s + n)) for s, n in zip(starts, sizes, strict=True)]
        self._totals: list[int] = list(sizes)
        self._groups: list[list[int]] = [group_sums(f) for f in self._freqs]
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
    # lookup per symbol would dominate the run time in CPython.
    #
    # Coder state is kept as L, H and D = C - L (the code value relative to L). A renormalising
    # shift doubles D and appends one input bit whether it is an ordinary shift or an underflow
    # (E3) shift, so a whole renormalisation is: n equal leading bits of L and H shifted out, then
    # k underflow shifts, then D = D << (n + k) | next n + k bits. n and k come from tables.
    def _run(self, data: bytes, out_len: int) -> None:
        buf = data + _TRAILER + (b"\x00" if (len(data) + len(_TRAILER)) & 1 else b"")
        # The block as big-endian 16-bit words: one refill is one index.
        words = array("H", buf)
        if sys.byteorder == "little":
            words.byteswap()
        lim = len(words)
        freqs = self._freqs
        syms = self._syms
        totals = self._totals
        groups = self._groups
        shifts = self._shifts
        mask = _MASK
        same = _SAME_LEADING
        under = _UNDERFLOW_RUN
        pos_extra = POSITION_EXTRA
        pos_base = POSITION_BASE
        len_extra = LENGTH_EXTRA
        len_base = LENGTH_BASE
        limit = RESCALE_LIMIT
        step = RESCALE_STEP
        wsize = self.window_size
        sf = freqs[SELECTOR]
        ss = syms[SELECTOR]
        st = totals[SELECTOR]
        lf = freqs[MATCH_LEN]
        ls = syms[MATCH_LEN]
        lt = totals[MATCH_LEN]
        lg = groups[MATCH_LEN]
        hist = self._history
        emit = hist.append
        wp = len(hist)
        end = wp + out_len
        frame_end = wp + FRAME_SIZE  # a match may overshoot a short final block, never the frame

        # Coder restart: the frame's first 16 bits fill the code register.
        pos = 1
        bb = 0
        bc = 0
        L = 0
        H = 0xFFFF
        D = words[0]

        while wp < end:
            # ---- selector
            r = H - L + 1
            symf = ((D + 1) * st - 1) // r
            acc = st
            j = 0
            while True:
                fj = sf[j]
                acc -= fj
                j += 1
                if acc <= symf:
                    break
            lo = acc * r // st
            H = L + (acc + fj) * r // st - 1
            L += lo
            D -= lo
            j -= 1
            sel = ss[j]
            sf[j] = fj + step
            st += step
            if st > limit:
                st = rescale(sf, ss, groups[SELECTOR], shifts, SELECTOR)
            n = same[L ^ H]
            if n:
                L = (L << n) & 0xFFFF
                H = ((H << n) & 0xFFFF) | mask[n]
            k = under[L & ~H & 0x7FFF]
            if k:
                L = ((L - 0x8000) << k) + 0x8000
                H = ((H - 0x8000) << k) + 0x8000 + mask[k]
                n += k
            if n:
                if bc < n:
                    if pos >= lim:
                        raise CabDecompressError("Quantum block ends before its data")
                    bb = (bb << 16) | words[pos]
                    pos += 1
                    bc += 16
                bc -= n
                D = (D << n) | (bb >> bc)
                bb &= mask[bc]

            if sel < 4:  # selectors 0-3 are literals (LITERAL_MODELS; a constant here, the hottest test)
                # ---- literal
                mf = freqs[sel]
                mt = totals[sel]
                mg = groups[sel]
                r = H - L + 1
                symf = ((D + 1) * mt - 1) // r
                acc = mt
                g = 0
                while True:
                    gs = mg[g]
                    if acc - gs <= symf:
                        break
                    acc -= gs
                    g += 1
                j = g << 3
                while True:
                    fj = mf[j]
                    acc -= fj
                    j += 1
                    if acc <= symf:
                        break
                lo = acc * r // mt
                H = L + (acc + fj) * r // mt - 1
                L += lo
                D -= lo
                j -= 1
                ms = syms[sel]
                emit(ms[j])
                wp += 1
                mf[j] = fj + step
                mg[g] += step
                mt += step
                totals[sel] = rescale(mf, ms, mg, shifts, sel) if mt > limit else mt
                n = same[L ^ H]
                if n:
                    L = (L << n) & 0xFFFF
                    H = ((H << n) & 0xFFFF) | mask[n]
                k = under[L & ~H & 0x7FFF]
                if k:
                    L = ((L - 0x8000) << k) + 0x8000
                    H = ((H - 0x8000) << k) + 0x8000 + mask[k]
                    n += k
                if n:
                    if bc < n:
                        if pos >= lim:
                            raise CabDecompressError("Quantum block ends before its data")
                        bb = (bb << 16) | words[pos]
                        pos += 1
                        bc += 16
                    bc -= n
                    D = (D << n) | (bb >> bc)
                    bb &= mask[bc]
                continue

            if sel == 6:
                # ---- length slot of a long match, then its extra bits
                r = H - L + 1
                symf = ((D + 1) * lt - 1) // r
                acc = lt
                g = 0
                while True:
                    gs = lg[g]
                    if acc - gs <= symf:
                        break
                    acc -= gs
                    g += 1
                j = g << 3
                while True:
                    fj = lf[j]
                    acc -= fj
                    j += 1
                    if acc <= symf:
                        break
                lo = acc * r // lt
                H = L + (acc + fj) * r // lt - 1
                L += lo
                D -= lo
                j -= 1
                slot = ls[j]
                lf[j] = fj + step
                lg[g] += step
                lt += step
                if lt > limit:
                    lt = rescale(lf, ls, lg, shifts, MATCH_LEN)
                n = same[L ^ H]
                if n:
                    L = (L << n) & 0xFFFF
                    H = ((H << n) & 0xFFFF) | mask[n]
                k = under[L & ~H & 0x7FFF]
                if k:
                    L = ((L - 0x8000) << k) + 0x8000
                    H = ((H - 0x8000) << k) + 0x8000 + mask[k]
                    n += k
                if n:
                    if bc < n:
                        if pos >= lim:
                            raise CabDecompressError("Quantum block ends before its data")
                        bb = (bb << 16) | words[pos]
                        pos += 1
                        bc += 16
                    bc -= n
                    D = (D << n) | (bb >> bc)
                    bb &= mask[bc]
                e = len_extra[slot]
                if e:
                    if bc < e:
                        if pos >= lim:
                            raise CabDecompressError("Quantum block ends before its data")
                        bb = (bb << 16) | words[pos]
                        pos += 1
                        bc += 16
                    bc -= e
                    length = len_base[slot] + (bb >> bc) + 5
                    bb &= mask[bc]
                else:
                    length = len_base[slot] + 5
                m = MATCH_POS
            else:
                length = sel - 1  # selector 4 -> 3 bytes, 5 -> 4 bytes
                m = sel

            # ---- position slot, then its extra bits
            mf = freqs[m]
            mt = totals[m]
            mg = groups[m]
            r = H - L + 1
            symf = ((D + 1) * mt - 1) // r
            acc = mt
            g = 0
            while True:
                gs = mg[g]
                if acc - gs <= symf:
                    break
                acc -= gs
                g += 1
            j = g << 3
            while True:
                fj = mf[j]
                acc -= fj
                j += 1
                if acc <= symf:
                    break
            lo = acc * r // mt
            H = L + (acc + fj) * r // mt - 1
            L += lo
            D -= lo
            j -= 1
            ms = syms[m]
            slot = ms[j]
            mf[j] = fj + step
            mg[g] += step
            mt += step
            totals[m] = rescale(mf, ms, mg, shifts, m) if mt > limit else mt
            n = same[L ^ H]
            if n:
                L = (L << n) & 0xFFFF
                H = ((H << n) & 0xFFFF) | mask[n]
            k = under[L & ~H & 0x7FFF]
            if k:
                L = ((L - 0x8000) << k) + 0x8000
                H = ((H - 0x8000) << k) + 0x8000 + mask[k]
                n += k
            if n:
                if bc < n:
                    if pos >= lim:
                        raise CabDecompressError("Quantum block ends before its data")
                    bb = (bb << 16) | words[pos]
                    pos += 1
                    bc += 16
                bc -= n
                D = (D << n) | (bb >> bc)
                bb &= mask[bc]
            e = pos_extra[slot]
            if e:
                while bc < e:
                    if pos >= lim:
                        raise CabDecompressError("Quantum block ends before its data")
                    bb = (bb << 16) | words[pos]
                    pos += 1
                    bc += 16
                bc -= e
                offset = pos_base[slot] + (bb >> bc) + 1
                bb &= mask[bc]
            else:
                offset = pos_base[slot] + 1

            # ---- copy the match
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
            wp += length

        if wp > end:
            del hist[end:]  # bytes a final match produced beyond the block are not output
        totals[SELECTOR] = st
        totals[MATCH_LEN] = lt
        self._read_bits = pos * 16 - bc
